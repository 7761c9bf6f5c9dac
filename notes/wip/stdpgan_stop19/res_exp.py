# issue 12: residual GRU forecaster (predicts the change from the last input) vs plain GRU, TRTR/TSTR over 3 forecaster seeds,
# on the last and on the train-slice-selected generator of the stable recipe (paper networks).  usage: res_exp.py SEED GAN_STEPS
import sys, copy, json
import numpy as np
from torch import nn
from trajstudy import forecast as fc
from common import setup, tstr, train_stable, released, N_SYN
k, steps = int(sys.argv[1]), int(sys.argv[2])
class ResGRU(fc.GRUForecaster):
    def __init__(self, horizon, hidden=32):
        super().__init__(horizon, hidden); nn.init.zeros_(self.head.weight); nn.init.zeros_(self.head.bias)
    def forward(self, x, *g): return x[:, -1:, :] + super().forward(x)
fc.FORECASTERS["gru-res"] = ResGRU
d = setup(); ckpts = []
def monitor(step, G):
    s_ = released(G).generate(N_SYN, rng=np.random.default_rng(step))
    w1 = float(np.nanmean(fc.wasserstein_per_sensor(d.rtw, s_))); cg = fc.congested_share(s_, 40.0)
    ckpts.append(dict(step=step, score=w1 / d.w1_ref + abs(cg - d.cong_real) / d.cong_real, state=copy.deepcopy(G.state_dict())))
rng = np.random.default_rng([0, k])
gan = train_stable(d, rng, steps, monitor)
best = min(ckpts, key=lambda c: c["score"]); gb = copy.deepcopy(gan.generator); gb.load_state_dict(best["state"])
data = {"real": (d.rt, d.rtm), "last": (gan.generate(N_SYN, rng=rng), None), "selected": (released(gb).generate(N_SYN, rng=rng), None)}
out = dict(seed=k, steps=steps, persistence=d.persistence, selected_step=best["step"], res={})
for kind in ["gru", "gru-res"]:
    for fsteps in [200, 1000]:
        for name, (w, m) in data.items():
            out["res"][f"{kind}/{fsteps}/{name}"] = maes = tstr(d, w, m, n=3, kind=kind, steps=fsteps)
            print(kind, fsteps, name, np.round(maes, 3), round(float(np.mean(maes)), 3), flush=True)
json.dump(out, open(f"res_s{k}_{steps}.json", "w"), indent=1)
