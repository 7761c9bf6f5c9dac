import sys, math, time, json, warnings
import numpy as np, torch
from trajstudy.data import load
from trajstudy import stdpgan as sg, forecast as fc
torch.set_num_threads(1); warnings.filterwarnings("ignore")
T, t_in, hidden, n_syn = 12, 9, 32, 1024
s = load("los-loop"); keep = np.arange(20)
s = type(s)(s.values[:, keep], s.mask[:, keep], s.timestamps, s.node_ids[keep], s.coords[keep], s.adjacency[np.ix_(keep, keep)], s.name, s.unit, s.coord_kind)
n_train = int(0.7 * len(s.timestamps))
train_s, test_s = s.slice_time(0, n_train), s.slice_time(n_train, len(s.timestamps))
te, tem = fc.sliding_windows(test_s.values, T, test_s.mask); n_records = len(train_s.timestamps) // T
RECIPE_DP = dict(stride=None, lr_d=1e-3, lr_g=2e-3, n_critic=2, ema_decay=None, instance_noise=0.0)
steps = int(sys.argv[1])
for eps in [10.0, 1.0]:
    for arch in [dict(), dict(latent_hidden=128, diff_features=True), dict(latent_hidden=128, diff_features=True, ema_decay=0.99)]:
        out = []
        for k in range(2):
            rng = np.random.default_rng([0, k]); t0 = time.perf_counter()
            rc = {**RECIPE_DP, **arch}
            gan = sg.train(train_s, eps=eps, delta=1 / (10 * n_records), steps=steps, nominal_records=n_records, window=T, variant="stdpgan",
                           value_range=(0.0, 70.0), batch_size=32, d_model=hidden, rng=rng, progress=False, **rc)
            w = gan.generate(n_syn, rng=rng)
            f = fc.fit_forecaster(w, t_in=t_in, kind="gru", rng=np.random.default_rng([7, k]), steps=200, hidden=hidden)
            out.append((round(float(fc.forecast_errors(f, te, tem).query("horizon == 0").mae.iloc[0]), 3), round(fc.congested_share(w, 40.), 3), round(time.perf_counter() - t0, 1)))
        print(eps, arch, out, flush=True)
