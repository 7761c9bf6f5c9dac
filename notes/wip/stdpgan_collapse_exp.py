# Experiment for issue 12: non-private ST-DPGAN stable recipe on LOS-loop quick profile; DiffAugment + train-slice model selection.
# usage: .venv/bin/python notes/wip/stdpgan_collapse_exp.py SEED AUG STEPS   (AUG 0: plain stable recipe, 1: DiffAugment before D)
import sys, math, time, json, copy, warnings
import numpy as np, torch
from pathlib import Path
OUT = Path(__file__).parent / "out"; OUT.mkdir(exist_ok=True)   # run from the checkout with the package installed
from trajstudy.data import load
from trajstudy import stdpgan as sg, forecast as fc
torch.set_num_threads(1)
warnings.filterwarnings("ignore")
k, aug, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cfg = dict(value_range=(0.0, 70.0), window=12, t_in=9, batch_size=32, mape_min_abs=1.0, congested_below=40.0)
RECIPE_STABLE = dict(stride=1, lr_d=5e-4, lr_g=5e-4, n_critic=1, ema_decay=0.995, instance_noise=0.1)
T, t_in, hidden, fsteps, n_syn = 12, 9, 32, 200, 1024

s = load("los-loop"); keep = np.arange(20)
s = s.select_nodes(keep)
n_train = int(0.7 * len(s.timestamps))
train_s, test_s = s.slice_time(0, n_train), s.slice_time(n_train, len(s.timestamps))
real_train, real_train_m = fc.sliding_windows(train_s.values, T, train_s.mask)
real_test, real_test_m = fc.sliding_windows(test_s.values, T, test_s.mask)
n_records = len(train_s.timestamps) // T
step_min = int(round((train_s.timestamps[1] - train_s.timestamps[0]).total_seconds() / 60))
slots = fc.time_of_day_slots(np.concatenate([np.asarray(train_s.timestamps), np.asarray(test_s.timestamps)]), step_min)
ha = fc.historical_average_table(train_s.values, slots[:len(train_s.timestamps)], 24 * 60 // step_min, train_s.mask)
test_slots = fc.sliding_windows(slots[len(train_s.timestamps):, None].astype(float), T)[0][:, :, 0].astype(int)
base = fc.baseline_errors(real_test, t_in, real_test_m, test_slots, ha, cfg["mape_min_abs"])
pers = float(base[(base.forecaster == "persistence") & (base.horizon == 0)].mae.iloc[0])
rtw = np.where(real_train_m, real_train, np.nan)
w1_ref = float(np.nanmean(fc.wasserstein_per_sensor(rtw, np.where(real_test_m, real_test, np.nan))))
cong_real = fc.congested_share(rtw, 40.0)

rng = np.random.default_rng([0, k])
trtr = float(fc.tstr_trtr(real_train, None, real_test, t_in=t_in, rng=rng, kinds=["gru"], real_train_mask=real_train_m,
                          real_test_mask=real_test_m, steps=fsteps, hidden=hidden).query("horizon == 0").mae.iloc[0])

orig_noise = sg._with_instance_noise
def diffaug(x, sigma, z_gen):
    "DiffAugment for (B, T, N) windows in [-1, 1]: per-row amplitude scale, offset, and a time shift (replicate pad), then instance noise."
    B, Tt, N = x.shape
    u = lambda *sh: torch.rand(sh, generator=z_gen).to(x.device)
    scale = 1 + 0.2 * (u(B, 1, 1) - 0.5)              # U(0.9, 1.1)
    off = 0.2 * (u(B, 1, 1) - 0.5)                     # U(-0.1, 0.1)  (= +-3.5 mph)
    x = x * scale + off
    shift = torch.randint(-2, 3, (B,), generator=z_gen).to(x.device)
    idx = (torch.arange(Tt, device=x.device)[None, :] - shift[:, None]).clamp(0, Tt - 1)   # (B, T) cropped shift
    x = torch.gather(x, 1, idx[:, :, None].expand(B, Tt, N))
    return orig_noise(x, sigma, z_gen)
if aug: sg._with_instance_noise = diffaug

ckpts = []   # train-slice fidelity at each monitor step: W1/yardstick + relative congested-share error
def monitor(step, G):
    tg = sg.TrainedGAN(G, "stdpgan", T, train_s.n_nodes, cfg["value_range"], math.inf, 0.0, {}, None, None)
    s_ = tg.generate(n_syn, rng=np.random.default_rng(step))
    w1 = float(np.nanmean(fc.wasserstein_per_sensor(rtw, s_))); cg = fc.congested_share(s_, 40.0)
    ckpts.append(dict(step=step, w1=w1, cong=cg, score=w1 / w1_ref + abs(cg - cong_real) / cong_real, state=copy.deepcopy(G.state_dict())))

t0 = time.perf_counter()
gan, diag = sg.train(train_s, eps=math.inf, delta=1 / (10 * n_records), steps=steps, nominal_records=n_records, window=T,
                     variant="stdpgan", value_range=cfg["value_range"], batch_size=32, d_model=hidden, rng=rng, progress=False,
                     diagnostics=True, monitor=monitor, monitor_every=400, **RECIPE_STABLE)
train_s_wall = time.perf_counter() - t0
sg._with_instance_noise = orig_noise

def evaluate(g):
    synth = g.generate(n_syn, rng=rng)
    m = fc.tstr_trtr(real_train, synth, real_test, t_in=t_in, rng=rng, kinds=["gru"], real_train_mask=real_train_m,
                     real_test_mask=real_test_m, steps=fsteps, hidden=hidden)
    m = float(m.query("setting == 'TSTR' and horizon == 0").mae.iloc[0])
    return dict(tstr=m, congested=fc.congested_share(synth, 40.0), w1=float(np.nanmean(fc.wasserstein_per_sensor(rtw, synth))))
out = dict(seed=k, aug=aug, steps=steps, trtr=trtr, persistence=pers, w1_ref=w1_ref, congested_real=cong_real, train_wall_s=train_s_wall)
out["last"] = evaluate(gan)
best = min(ckpts, key=lambda c: c["score"])
gb = copy.deepcopy(gan.generator); gb.load_state_dict(best["state"])
out["selected"] = dict(step=best["step"], **evaluate(sg.TrainedGAN(gb, "stdpgan", T, train_s.n_nodes, cfg["value_range"], math.inf, 0.0, {}, None, None)))
out["curve"] = [{kk: v for kk, v in c.items() if kk != "state"} for c in ckpts]
out["total_wall_s"] = time.perf_counter() - t0
print(json.dumps(out))
json.dump(out, open(OUT / f"res_s{k}_a{aug}_{steps}.json", "w"), indent=1)
