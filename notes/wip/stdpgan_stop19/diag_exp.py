# issue 12: roughness and within-window persistence error of real vs synthetic windows (stable recipe, paper networks),
# and TSTR of the synthetic windows smoothed by a 3- and 5-tap moving average (post-processing).  usage: diag_exp.py SEED GAN_STEPS
import sys
import numpy as np
from scipy.ndimage import uniform_filter1d
from trajstudy import forecast as fc
from common import setup, tstr, train_stable, N_SYN, T_IN
k, steps = int(sys.argv[1]), int(sys.argv[2])
d = setup()
rng = np.random.default_rng([0, k])
synth = train_stable(d, rng, steps).generate(N_SYN, rng=rng)
pers_within = lambda w: float(np.nanmean(np.abs(w[:, T_IN:] - w[:, T_IN - 1:T_IN])))
smooth = lambda w, n: uniform_filter1d(w, n, axis=1, mode="nearest")
print("roughness real", fc.roughness(d.rtw), "synth", fc.roughness(synth), "test", fc.roughness(d.te))
print("persistence-within real", pers_within(d.rtw), "synth", pers_within(synth))
for name, w in {"synth": synth, "smooth3": smooth(synth, 3), "smooth5": smooth(synth, 5), "realsmooth3": smooth(d.rt, 3)}.items():
    print(name, "rough", fc.roughness(w), "pw", pers_within(w), "tstr", np.round(tstr(d, w), 3), flush=True)
