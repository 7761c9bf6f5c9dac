# issue 12: residual GRU forecaster (predicts the change from the last input) vs plain GRU, TRTR/TSTR averaged over forecaster seeds.
# usage: python res_exp.py SEED GAN_STEPS
import sys, math, time, json, copy, warnings
import numpy as np, torch
from torch import nn
from trajstudy.data import load
from trajstudy import stdpgan as sg, forecast as fc
torch.set_num_threads(1); warnings.filterwarnings("ignore")
k, steps = int(sys.argv[1]), int(sys.argv[2])
class ResGRU(fc.GRUForecaster):
    def __init__(self, horizon, hidden=32):
        super().__init__(horizon, hidden); nn.init.zeros_(self.head.weight); nn.init.zeros_(self.head.bias)
    def forward(self, x, *g): return x[:, -1:, :] + super().forward(x)
fc.FORECASTERS["gru-res"] = ResGRU
RECIPE = dict(stride=1, lr_d=5e-4, lr_g=5e-4, n_critic=1, ema_decay=0.995, instance_noise=0.1)
T, t_in, hidden, n_syn = 12, 9, 32, 1024
s = load("los-loop"); keep = np.arange(20)
s = type(s)(s.values[:, keep], s.mask[:, keep], s.timestamps, s.node_ids[keep], s.coords[keep], s.adjacency[np.ix_(keep, keep)], s.name, s.unit, s.coord_kind)
n_train = int(0.7 * len(s.timestamps))
train_s, test_s = s.slice_time(0, n_train), s.slice_time(n_train, len(s.timestamps))
rt, rtm = fc.sliding_windows(train_s.values, T, train_s.mask); te, tem = fc.sliding_windows(test_s.values, T, test_s.mask)
n_records = len(train_s.timestamps) // T
base = fc.baseline_errors(te, t_in, tem)
pers = float(base[(base.forecaster == "persistence") & (base.horizon == 0)].mae.iloc[0])
rtw = np.where(rtm, rt, np.nan); w1_ref = float(np.nanmean(fc.wasserstein_per_sensor(rtw, te))); cong_real = fc.congested_share(rtw, 40.0)
ckpts = []
def monitor(step, G):
    tg = sg.TrainedGAN(G, "stdpgan", T, train_s.n_nodes, (0.0, 70.0), math.inf, 0.0, {}, None, None)
    s_ = tg.generate(n_syn, rng=np.random.default_rng(step))
    w1 = float(np.nanmean(fc.wasserstein_per_sensor(rtw, s_))); cg = fc.congested_share(s_, 40.0)
    ckpts.append(dict(step=step, w1=w1, cong=cg, score=w1 / w1_ref + abs(cg - cong_real) / cong_real, state=copy.deepcopy(G.state_dict())))
rng = np.random.default_rng([0, k])
monitor = None; t0 = time.perf_counter()
gan, _ = sg.train(train_s, eps=math.inf, delta=1 / (10 * n_records), steps=steps, nominal_records=n_records, window=T, variant="stdpgan",
                  value_range=(0.0, 70.0), batch_size=32, d_model=hidden, rng=rng, progress=False, diagnostics=True, monitor=monitor, monitor_every=400, **RECIPE)
wall = time.perf_counter() - t0
synth = gan.generate(n_syn, rng=rng)
def rough(w): return float(np.nanmean(np.abs(np.diff(w, axis=1))))
def pers_within(w):
    return float(np.nanmean(np.abs(w[:, t_in:] - w[:, t_in-1:t_in])))
def smooth(w, k):
    from scipy.ndimage import uniform_filter1d
    return uniform_filter1d(w, k, axis=1, mode="nearest")
print("roughness real", rough(rt), "synth", rough(synth), "test", rough(te))
print("persistence-within real", pers_within(rt), "synth", pers_within(synth))
for name, w in {"synth": synth, "smooth3": smooth(synth, 3), "smooth5": smooth(synth, 5), "realsmooth3": smooth(rt, 3)}.items():
    maes = []
    for fs in range(2):
        f = fc.fit_forecaster(w, t_in=t_in, kind="gru", rng=np.random.default_rng([7, fs]), steps=200, hidden=hidden)
        maes.append(float(fc.forecast_errors(f, te, tem).query("horizon == 0").mae.iloc[0]))
    print(name, "rough", rough(w), "pw", pers_within(w), "tstr", np.round(maes, 3), flush=True)
