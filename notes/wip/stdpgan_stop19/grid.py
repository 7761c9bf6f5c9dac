# issue 12: the stable recipe with instance noise NOISE, difference tokens in D (DIFFD 1), lr LR and a LATENT-wide latent MLP in G
# (0: the paper's); curve every 400 steps, TSTR every 1200.  usage: grid.py SEED STEPS NOISE DIFFD [LR] [LATENT]
import sys, time, json
import numpy as np, torch
from torch import nn
import torch.nn.functional as F
from trajstudy import stdpgan as sg, forecast as fc
from common import setup, tstr, train_stable, released, N_SYN
k, steps, noise, diffd = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
lr = float(sys.argv[5]) if len(sys.argv) > 5 else 5e-4
gh = int(sys.argv[6]) if len(sys.argv) > 6 else 0
class DeepTC(nn.Module):
    def __init__(self, n_nodes, window, z_dim=32, refine=True, **package_options):   # latent_hidden=0 from build_models: ignored
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
    def __init__(self, n_nodes, window, adjacency=None, d=32, attention=True, graph=True, **package_options):   # diff_features=False: ignored
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
d = setup(); curve = []
def monitor(step, G):
    s_ = released(G).generate(N_SYN, rng=np.random.default_rng(step))
    r = dict(step=step, w1=float(np.nanmean(fc.wasserstein_per_sensor(d.rtw, s_))), cong=fc.congested_share(s_, 40.0), rough=fc.roughness(s_))
    if step % 1200 == 0: r["tstr"] = tstr(d, s_)
    curve.append(r); print(json.dumps(r), flush=True)
t0 = time.perf_counter()
train_stable(d, np.random.default_rng([0, k]), steps, monitor, lr_d=lr, lr_g=lr, instance_noise=noise)
print("real rough", fc.roughness(d.rt), "cong", d.cong_real, "wall", time.perf_counter() - t0, flush=True)
json.dump(dict(argv=sys.argv[1:], curve=curve), open(f"grid_{'_'.join(sys.argv[1:])}.json", "w"))
