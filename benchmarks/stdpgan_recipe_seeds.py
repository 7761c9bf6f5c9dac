"""Seed spread of the stable non-private ST-DPGAN recipe: the paper's generator and discriminator against the two fixes
(a latent MLP before the transposed convolution, first differences in the discriminator's tokens), on LOS-loop, 20 sensors.

Usage: .venv/bin/python benchmarks/stdpgan_recipe_seeds.py [--arch paper|fixed|both] [--seeds 0 1 2] [--steps 4800]
       [--every 1200] [--nodes 20] [--d-model 32] [--ema 0.995] [--lr 5e-4] [--latent-hidden 128] [--z-dim 32] [--token-heads] [--lr-end F] [--out FILE.json]

For each architecture and GAN seed it trains `trajstudy.stdpgan.train` (eps = inf, every overlapping window, lr 5e-4 (`--lr`),
one D step per G step, EMA 0.995 (`--ema`), instance noise 0.1: the stable recipe of nbs/eval/30_stdpgan) and, every `--every`
discriminator steps, draws 1024 windows from the released (EMA) generator and measures: GRU TSTR MAE (200 gradient
steps, batch 64, mean of two forecaster seeds) on the held-out 30% of the week, the congested share (< 40 mph), the mean
per-sensor Wasserstein-1 distance to the real training windows, the roughness (mean |x[t+1] - x[t]|) and, to see
where congestion is lost, the correlation over sensors of the per-sensor congested shares, synthetic vs real training
windows (`congested_corr`). It prints the
references (TRTR with the same forecaster budget, persistence, the real congested share, W1 of the held-out real period,
the real roughness) and one row per (architecture, seed, step), then the mean and standard deviation over seeds at each
step. A study of what the recipe does, not a timing: run it alone; on one core about 2-3 minutes a 20-sensor run,
55 min (width 32) to 87-98 min (width 64) a 4800-step run on all 207 sensors (`benchmarks/gpu_stdpgan.sh seeds` on a GPU).
"""
import argparse, json, math, time, warnings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="both", choices=["paper", "fixed", "both"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=4800)
    ap.add_argument("--every", type=int, default=1200)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--d-model", type=int, default=32, help="token width of the discriminator (the quick profile's 32; the full profile's hidden is 64)")
    ap.add_argument("--ema", type=float, default=0.995, help="EMA decay of the released generator (the stable recipe: 0.995)")
    ap.add_argument("--lr", type=float, default=5e-4, help="learning rate of both G and D (the stable recipe: 5e-4)")
    ap.add_argument("--latent-hidden", type=int, default=128, help="width of the generator's latent MLP in the fixed architecture (the recipe: 128)")
    ap.add_argument("--z-dim", type=int, default=32, help="latent noise dimension of the generator (the recipe: 32)")
    ap.add_argument("--lr-end", type=float, default=None, help="decay both learning rates linearly to this fraction at the last step (the recipe: constant)")
    ap.add_argument("--token-heads", action="store_true", help="discriminator adds per-sensor and per-step scores to its pooled logit (the recipe: off)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    import numpy as np, pandas as pd, torch
    from trajstudy.data import load
    from trajstudy import stdpgan as sg, forecast as fc
    torch.set_num_threads(1); warnings.filterwarnings("ignore")
    T, t_in, hidden, n_syn = 12, 9, 32, 1024
    s = load("los-loop"); keep = np.arange(a.nodes)
    s = s.select_nodes(keep)
    n_train = int(0.7 * len(s.timestamps))
    train_s, test_s = s.slice_time(0, n_train), s.slice_time(n_train, len(s.timestamps))
    rt, rtm = fc.sliding_windows(train_s.values, T, train_s.mask); te, tem = fc.sliding_windows(test_s.values, T, test_s.mask)
    rtw = np.where(rtm, rt, np.nan)
    def per_sensor_congested(w): return np.array([fc.congested_share(w[:, :, j], 40.0) for j in range(w.shape[2])])
    cong_real = per_sensor_congested(rtw)
    def tstr(w, m=None):
        out = []
        for fs in range(2):
            f = fc.fit_forecaster(w, t_in=t_in, kind="gru", mask=m, rng=np.random.default_rng([7, fs]), steps=200, hidden=hidden)
            out.append(float(fc.forecast_errors(f, te, tem).query("horizon == 0").mae.iloc[0]))
        return float(np.mean(out))
    base = fc.baseline_errors(te, t_in, tem)
    ref = dict(trtr=tstr(rt, rtm), persistence=float(base[(base.forecaster == "persistence") & (base.horizon == 0)].mae.iloc[0]),
               congested_real=fc.congested_share(rtw, 40.0), w1_real_test=float(np.nanmean(fc.wasserstein_per_sensor(rtw, te))),
               roughness_real=fc.roughness(rtw))
    print("references:", {k: round(v, 4) for k, v in ref.items()}, flush=True)
    recipe = dict(stride=1, lr_d=a.lr, lr_g=a.lr, lr_end=a.lr_end, n_critic=1, ema_decay=a.ema, instance_noise=0.1)
    archs = {"paper": {}, "fixed": dict(latent_hidden=a.latent_hidden, diff_features=True, token_heads=a.token_heads)}
    rows = []
    for arch in (["paper", "fixed"] if a.arch == "both" else [a.arch]):
        for k in a.seeds:
            def monitor(step, G, _arch=arch, _k=k):
                g = sg.TrainedGAN(G, "stdpgan", T, train_s.n_nodes, (0.0, 70.0), math.inf, 0.0, {}, None, None)
                w = g.generate(n_syn, rng=np.random.default_rng(step))
                r = dict(arch=_arch, seed=_k, step=step, tstr=tstr(w), congested=fc.congested_share(w, 40.0),
                         w1=float(np.nanmean(fc.wasserstein_per_sensor(rtw, w))), roughness=fc.roughness(w),
                         congested_corr=float(np.corrcoef(per_sensor_congested(w), cong_real)[0, 1]) if train_s.n_nodes > 1 else float("nan"))
                rows.append(r); print({kk: (round(v, 4) if isinstance(v, float) else v) for kk, v in r.items()}, flush=True)
            t0 = time.perf_counter()
            sg.train(train_s, eps=math.inf, steps=a.steps, nominal_records=len(train_s.timestamps) // T, window=T, variant="stdpgan",
                     value_range=(0.0, 70.0), batch_size=32, d_model=a.d_model, z_dim=a.z_dim, rng=np.random.default_rng([0, k]), progress=False,
                     monitor=monitor, monitor_every=a.every, **recipe, **archs[arch])
            print(f"{arch} seed {k}: {time.perf_counter() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    df["ratio"] = df.tstr / ref["trtr"]; df["beats_persistence"] = df.tstr < ref["persistence"]
    df["congested_ratio"] = df.congested / ref["congested_real"]; df["w1_ratio"] = df.w1 / ref["w1_real_test"]
    df["roughness_ratio"] = df.roughness / ref["roughness_real"]
    summ = df.groupby(["arch", "step"]).agg(tstr=("tstr", "mean"), tstr_sd=("tstr", "std"), ratio=("ratio", "mean"),
                                            beats_persistence=("beats_persistence", "sum"), seeds=("seed", "nunique"),
                                            congested_ratio=("congested_ratio", "mean"), w1_ratio=("w1_ratio", "mean"),
                                            roughness_ratio=("roughness_ratio", "mean")).reset_index()
    print(df.round(3).to_string(index=False)); print(summ.round(3).to_string(index=False))
    if a.out: json.dump(dict(references=ref, rows=rows), open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
