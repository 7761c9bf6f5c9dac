"Shared set-up of the stop-19 experiment scripts: LOS-loop, first 20 sensors, 70/30 split in time, 12-step windows."
import math, warnings
from types import SimpleNamespace
import numpy as np, torch
from trajstudy.data import load
from trajstudy import stdpgan as sg, forecast as fc
torch.set_num_threads(1); warnings.filterwarnings("ignore")
T, T_IN, HIDDEN, N_SYN = 12, 9, 32, 1024
VALUE_RANGE = (0.0, 70.0)
STABLE = dict(stride=1, lr_d=5e-4, lr_g=5e-4, n_critic=1, ema_decay=0.995, instance_noise=0.1)   # the paper-network stable recipe


def setup(nodes:int=20):
    "Train/test series and windows, and the references every script compares against."
    s = load("los-loop"); keep = np.arange(nodes)
    s = s.select_nodes(keep)
    n_train = int(0.7 * len(s.timestamps))
    train_s, test_s = s.slice_time(0, n_train), s.slice_time(n_train, len(s.timestamps))
    rt, rtm = fc.sliding_windows(train_s.values, T, train_s.mask); te, tem = fc.sliding_windows(test_s.values, T, test_s.mask)
    rtw = np.where(rtm, rt, np.nan)
    base = fc.baseline_errors(te, T_IN, tem)
    return SimpleNamespace(train_s=train_s, test_s=test_s, rt=rt, rtm=rtm, te=te, tem=tem, rtw=rtw,
                           n_records=len(train_s.timestamps) // T,
                           persistence=float(base[(base.forecaster == "persistence") & (base.horizon == 0)].mae.iloc[0]),
                           w1_ref=float(np.nanmean(fc.wasserstein_per_sensor(rtw, te))), cong_real=fc.congested_share(rtw, 40.0))


def tstr(d, w, mask=None, n:int=2, kind:str="gru", steps:int=200) -> list:
    "Held-out MAE of `n` forecasters (seeds [7, i]) trained on windows `w`."
    out = []
    for i in range(n):
        f = fc.fit_forecaster(w, t_in=T_IN, kind=kind, mask=mask, rng=np.random.default_rng([7, i]), steps=steps, hidden=HIDDEN)
        out.append(float(fc.forecast_errors(f, d.te, d.tem).query("horizon == 0").mae.iloc[0]))
    return out


def train_stable(d, rng, steps:int, monitor=None, monitor_every:int=400, **recipe):
    "The stable non-private recipe (overridable by `recipe`) on the training period; `rng` (the scripts: [0, seed]) goes on to draw windows."
    return sg.train(d.train_s, eps=math.inf, steps=steps, nominal_records=d.n_records, window=T, variant="stdpgan",
                    value_range=VALUE_RANGE, batch_size=32, d_model=HIDDEN, rng=rng, progress=False,
                    monitor=monitor, monitor_every=monitor_every, **{**STABLE, **recipe})


def released(G):
    "The generator a monitor receives, wrapped so it can generate windows in mph."
    return sg.TrainedGAN(G, "stdpgan", T, G.n_nodes, VALUE_RANGE, math.inf, 0.0, {}, None, None)
