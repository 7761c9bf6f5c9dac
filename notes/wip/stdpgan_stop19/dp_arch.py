# issue 12: the DP recipe (240 steps, 117 non-overlapping windows) at eps 10 and 1 with the paper's networks against the two
# changes (latent MLP, difference tokens; also with an EMA).  usage: dp_arch.py STEPS
import sys, time
import numpy as np
from trajstudy import stdpgan as sg, forecast as fc
from common import setup, T, T_IN, HIDDEN, N_SYN, VALUE_RANGE
steps = int(sys.argv[1])
d = setup()
RECIPE_DP = dict(stride=None, lr_d=1e-3, lr_g=2e-3, n_critic=2, ema_decay=None, instance_noise=0.0)
for eps in [10.0, 1.0]:
    for arch in [dict(), dict(latent_hidden=128, diff_features=True), dict(latent_hidden=128, diff_features=True, ema_decay=0.99)]:
        out = []
        for k in range(2):
            rng = np.random.default_rng([0, k]); t0 = time.perf_counter()
            gan = sg.train(d.train_s, eps=eps, delta=1 / (10 * d.n_records), steps=steps, nominal_records=d.n_records, window=T,
                           variant="stdpgan", value_range=VALUE_RANGE, batch_size=32, d_model=HIDDEN, rng=rng, progress=False,
                           **{**RECIPE_DP, **arch})
            w = gan.generate(N_SYN, rng=rng)
            f = fc.fit_forecaster(w, t_in=T_IN, kind="gru", rng=np.random.default_rng([7, k]), steps=200, hidden=HIDDEN)
            out.append((round(float(fc.forecast_errors(f, d.te, d.tem).query("horizon == 0").mae.iloc[0]), 3),
                        round(fc.congested_share(w, 40.), 3), round(time.perf_counter() - t0, 1)))
        print(eps, arch, out, flush=True)
