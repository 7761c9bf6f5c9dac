# usage: grid.py SEED STEPS NOISE DIFFD(0/1) [LR]
import sys, math, time, json, copy, warnings
import numpy as np, torch
from torch import nn
import torch.nn.functional as F
from trajstudy.data import load
from trajstudy import stdpgan as sg, forecast as fc
torch.set_num_threads(1); warnings.filterwarnings("ignore")
k, steps, noise, diffd = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
lr = float(sys.argv[5]) if len(sys.argv) > 5 else 5e-4
gh = int(sys.argv[6]) if len(sys.argv) > 6 else 0
class DeepTC(nn.Module):
    def __init__(self, n_nodes, window, z_dim=32, refine=True):
        super().__init__()
        self.n_nodes, self.window, self.z_dim = n_nodes, window, z_dim
        self.latent = nn.Sequential(nn.Linear(z_dim, gh), nn.LeakyReLU(0.2), nn.Linear(gh, gh), nn.LeakyReLU(0.2))
        self.deconv = nn.ConvTranspose1d(gh, n_nodes, kernel_size=window)
        self.refine = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv1d(n_nodes, n_nodes, 3, padding=1))
    def forward(self, z):
        h = self.deconv(self.latent(z).unsqueeze(-1)); h = h + self.refine(h)
        return torch.tanh(h).transpose(1, 2)
if gh: sg.TransConvGenerator = DeepTC
class DiffD(sg.STDiscriminator):
    def __init__(self, n_nodes, window, adjacency=None, d=32, attention=True, graph=True):
        super().__init__(n_nodes, window, adjacency, d, attention, graph)
        self.node_in, self.time_in = nn.Linear(2 * window, d), nn.Linear(2 * n_nodes, d)
    def forward(self, x):
        dx = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], 1)
        B = x.shape[0]
        hn = self.node_in(torch.cat([x, dx], 1).transpose(1, 2))
        if self.graph:
            idx = torch.arange(self.n_nodes, device=x.device).expand(B, -1)
            hn = hn + self.node_emb(idx)
            hn = hn + self.graph_lin(torch.einsum("nm,bmd->bnd", self.a_hat, hn))
        tpos = torch.arange(self.window, device=x.device).expand(B, -1)
        ht = self.time_in(torch.cat([x, dx], 2)) + self.time_pos(tpos)
        hn = self.spatial(F.leaky_relu(hn, 0.2)); ht = self.temporal(F.leaky_relu(ht, 0.2))
        return self.head(torch.cat([hn.mean(1), ht.mean(1)], dim=-1)).squeeze(-1)
if diffd: sg.STDiscriminator = DiffD
RECIPE = dict(stride=1, lr_d=lr, lr_g=lr, n_critic=1, ema_decay=0.995, instance_noise=noise)
T, t_in, hidden, n_syn = 12, 9, 32, 1024
s = load("los-loop"); keep = np.arange(20)
s = type(s)(s.values[:, keep], s.mask[:, keep], s.timestamps, s.node_ids[keep], s.coords[keep], s.adjacency[np.ix_(keep, keep)], s.name, s.unit, s.coord_kind)
n_train = int(0.7 * len(s.timestamps))
train_s, test_s = s.slice_time(0, n_train), s.slice_time(n_train, len(s.timestamps))
rt, rtm = fc.sliding_windows(train_s.values, T, train_s.mask); te, tem = fc.sliding_windows(test_s.values, T, test_s.mask)
n_records = len(train_s.timestamps) // T
rtw = np.where(rtm, rt, np.nan); cong_real = fc.congested_share(rtw, 40.0)
def rough(w): return float(np.nanmean(np.abs(np.diff(w, axis=1))))
def tstr(w, n=2):
    out = []
    for fs in range(n):
        f = fc.fit_forecaster(w, t_in=t_in, kind="gru", rng=np.random.default_rng([7, fs]), steps=200, hidden=hidden)
        out.append(float(fc.forecast_errors(f, te, tem).query("horizon == 0").mae.iloc[0]))
    return out
curve = []
def monitor(step, G):
    tg = sg.TrainedGAN(G, "stdpgan", T, train_s.n_nodes, (0.0, 70.0), math.inf, 0.0, {}, None, None)
    s_ = tg.generate(n_syn, rng=np.random.default_rng(step))
    r = dict(step=step, w1=float(np.nanmean(fc.wasserstein_per_sensor(rtw, s_))), cong=fc.congested_share(s_, 40.0), rough=rough(s_))
    if step % 1200 == 0: r["tstr"] = tstr(s_)
    curve.append(r); print(json.dumps(r), flush=True)
rng = np.random.default_rng([0, k]); t0 = time.perf_counter()
gan, _ = sg.train(train_s, eps=math.inf, delta=1 / (10 * n_records), steps=steps, nominal_records=n_records, window=T, variant="stdpgan",
                  value_range=(0.0, 70.0), batch_size=32, d_model=hidden, rng=rng, progress=False, diagnostics=True, monitor=monitor, monitor_every=400, **RECIPE)
print("real rough", rough(rt), "cong", cong_real, "wall", time.perf_counter() - t0, flush=True)
json.dump(dict(argv=sys.argv[1:], curve=curve), open(f"grid_{'_'.join(sys.argv[1:])}.json", "w"))
