"""ST-DPGAN utility vs number of training records on the SYNTHETIC simulated sensor network: how many records DP-SGD
needs before its TSTR approaches TRTR.

    .venv/bin/python benchmarks/bench_stdpgan_records.py [--days 2 4 8 16 32] [--test-days 2] [--eps 1 10 inf]
        [--gan-seeds 0 1] [--nodes 20] [--vehicles 20000] [--seed 0] [--steps 240] [--forecast-steps 200]
        [--hidden 32] [--n-synthetic 1024] [--forecast-seeds 2] [--quick] [--out FILE.csv]

    --quick: --days 2 4 --eps 10 inf --gan-seeds 0: under 1 minute once its 6 simulated days are cached (about 1.5
    minutes to simulate them). The default (records 48 to 768, eps 1 / 10 / inf, 2 GAN seeds: 30 GAN runs of 6-9 s)
    takes about 4.5 minutes once its 34 days are cached (12.3 minutes the first time, measured alone on 2 cores).

Data (SYNTHETIC, nothing real): the 5-minute link speeds (km/h) of the simulated commuter city,
`load_synthetic_city_speeds(vehicles, test_days + max(--days), seed, hours=(5, 6), fix_interval_s=(3000, 3600))`: one
run, generated once and cached by `trajstudy.data` (GPS fixes for one hour a day only: the speeds do not depend on
them, and they would otherwise be most of the memory). At 1000 vehicles (5 s a simulated day) the links stay at free
flow (50 km/h; the slowest 5-minute reading of the day is 48.8 km/h), so persistence is all but exact and there is
nothing to learn; 20000 vehicles (12-15 s a simulated day) give morning and evening jams down to 5 km/h on the
busiest links (2.3% of the 20 links' test readings below 40 km/h). The default's 34 days at 20000 cars took 481 s to
simulate and 6.5 GB of memory at most (`trajstudy.synthetic.simulate_peak` hands each peak's freed memory back with
`release_heap`; before that the same run passed 16 GB halfway).

Split: the FIRST `--test-days` days are the fixed held-out test period; the training period of size d is days
`test_days .. test_days + d`, a growing prefix of the days after it. A fixed test period keeps TSTR, TRTR and persistence of
every size on the same windows (so the rows are comparable, which a 70/30 split of runs of different lengths is not).
Putting it first is sound here because the simulated days are exchangeable (the same commuters, fresh departure-time
draws each day, no state carried from one day to the next), and it makes every run share its test period and days
exactly, whatever its sizes.

Sensors: the `--nodes` links (default 20) with the largest total speed deficit below free flow over the TEST period,
in link order, with the line graph restricted to them. The choice reads only the held-out test days, never a training
record (the DP-protected data), and is the same for every size.

Per size d (records = non-overlapping 12-step windows, one hour each: nominal_records = 288 d // 12 = 24 d,
delta = 1/(10 records), as in the records rows of nbs/eval/30_stdpgan.ipynb; d >= 2 since the batch of 32 must not
exceed the records) and every eps: `trajstudy.stdpgan.train` with the notebook's DP recipe (variant "stdpgan",
non-overlapping windows, `--steps` = quick.gan_steps = 240 discriminator steps, lr 1e-3 / 2e-3, two D steps per G step,
no EMA, no instance noise, batch 32, d_model = hidden = 32, public value range (0, 50) km/h = the free-flow speed),
`--n-synthetic` = 1024 synthetic windows, and the GRU TSTR MAE (horizon 0 = over the 3 forecast steps, 9 input steps,
`--forecast-steps` = 200 gradient steps, hidden 32: the notebook's quick forecaster budget) on the sliding windows of
the test period. References per size: TRTR (the same forecaster budget, on every sliding window of that training period)
and persistence (the same for every size). Rows: records, eps, the noise multiplier sigma, the sampling rate q, steps,
TSTR, TRTR, persistence, ratio = TSTR / TRTR, seconds (train + generate + TSTR). Then per eps the trend of the ratio with
records: b_ratio = least-squares slope of log(ratio) on log(records) and, where every ratio exceeds 1, b_excess = slope
of log(ratio - 1) (the excess over TRTR ~ records^b); and the smallest records count at which TSTR <= 1.15 TRTR and at
which TSTR < persistence ("not reached" if none). Each TSTR is the mean over `--gan-seeds` GAN runs (each
scored by the mean of `--forecast-seeds` GRUs; the notebook scores one GRU, `--forecast-seeds 1`; the per-forecaster
budget is the same either way), each TRTR the mean of `--forecast-seeds` GRUs; tstr_sd is the spread over GAN seeds.
`--out` writes one row per GAN seed. The data are synthetic: these curves are about how utility scales
with the number of records on this simulator, not about any real road network.
"""
import argparse
import math
import time
import warnings

import numpy as np
import pandas as pd

T, T_IN, BATCH, FREE_FLOW = 12, 9, 32, 50.0
RECIPE_DP = dict(stride=None, lr_d=1e-3, lr_g=2e-3, n_critic=2, ema_decay=None, instance_noise=0.0)   # nbs/eval/30_stdpgan RECIPE_DP


def growth_exponent(n, y):
    "Slope of log y against log n (NaN with fewer than two points or a non-positive y)."
    n, y = np.asarray(n, float), np.asarray(y, float)
    if len(n) < 2 or not (y > 0).all(): return math.nan
    return float(np.polyfit(np.log(n), np.log(y), 1)[0])


def city(vehicles, days, seed, nodes, test_days):
    """The SYNTHETIC link speeds of days 0 .. days-1 of one run (`load_synthetic_city_speeds`, cached by trajstudy.data),
    restricted to the `nodes` links busiest in the test period (the first `test_days` days): (series, seconds)."""
    from trajstudy.data import load_synthetic_city_speeds
    print(f"loading the SYNTHETIC city ({vehicles} cars, {days} days; simulated at 12-15 s a day unless cached) ...", flush=True)
    t0 = time.perf_counter()
    lib = load_synthetic_city_speeds(vehicles, days, seed, hours=(5, 6), fix_interval_s=(3000, 3600))
    sec = time.perf_counter() - t0
    assert "SYNTHETIC" in lib.name and lib.values.shape[0] == 288 * days
    deficit = (FREE_FLOW - lib.values[:288 * test_days]).clip(0).sum(0)
    keep = np.sort(np.argsort(-deficit, kind="stable")[:nodes])
    s = lib.select_nodes(keep)
    return s, sec


def first_records(df, col):
    "Per eps: the smallest records count whose row satisfies `col`."
    out = {}
    for eps, d in df.groupby("eps"):
        hit = d[d[col]].records
        out[eps] = int(hit.min()) if len(hit) else f"not reached (largest {int(d.records.max())})"
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, nargs="+", default=[2, 4, 8, 16, 32], help="simulated training days (records = 24 per day)")
    ap.add_argument("--test-days", type=int, default=2, help="first days of the run: the fixed held-out test period")
    ap.add_argument("--eps", type=float, nargs="+", default=[1.0, 10.0, math.inf], help="privacy budgets (inf: no DP)")
    ap.add_argument("--nodes", type=int, default=20, help="links kept (the busiest in the test period)")
    ap.add_argument("--vehicles", type=int, default=20000, help="simulated cars")
    ap.add_argument("--seed", type=int, default=0, help="seed of the city (simulation)")
    ap.add_argument("--gan-seeds", type=int, nargs="+", default=[0, 1], help="seeds of GAN training and sampling (TSTR: their mean)")
    ap.add_argument("--steps", type=int, default=240, help="discriminator steps (the notebook's quick gan_steps)")
    ap.add_argument("--forecast-steps", type=int, default=200, help="gradient steps of every forecaster (TRTR and TSTR)")
    ap.add_argument("--hidden", type=int, default=32, help="width of discriminator and forecasters")
    ap.add_argument("--n-synthetic", type=int, default=1024, help="synthetic windows for TSTR")
    ap.add_argument("--forecast-seeds", type=int, default=2, help="GRUs averaged per MAE (the notebook: 1)")
    ap.add_argument("--quick", action="store_true", help="--days 2 4 --eps 10 inf --gan-seeds 0")
    ap.add_argument("--out", help="write the table to this CSV file")
    a = ap.parse_args(argv)
    if a.quick: a.days, a.eps, a.gan_seeds = [2, 4], [10.0, math.inf], [0]
    a.days = sorted(set(a.days))
    if a.days[0] * 288 // T < BATCH: ap.error(f"every size needs >= {BATCH} records (the batch): --days >= 2")
    import torch
    from trajstudy import stdpgan as sg, forecast as fc
    torch.set_num_threads(1)
    for m in (".*Full backward hook.*", ".*Secure RNG.*", ".*full_backward_hook.*"): warnings.filterwarnings("ignore", message=m)
    t_all = time.perf_counter()

    total = a.test_days + a.days[-1]
    s, gen_s = city(a.vehicles, total, a.seed, a.nodes, a.test_days)
    test_s = s.slice_time(0, 288 * a.test_days)
    te, tem = fc.sliding_windows(test_s.values, T, test_s.mask)
    base = fc.baseline_errors(te, T_IN, tem)
    persistence = float(base[(base.forecaster == "persistence") & (base.horizon == 0)].mae.iloc[0])
    print(f"SYNTHETIC city: {a.vehicles} vehicles, {total} days, seed {a.seed}, loaded in {gen_s:.1f} s; {s.n_nodes} links "
          f"(busiest in the test period): {', '.join(map(str, s.node_ids))}", flush=True)
    print(f"test period: days 0-{a.test_days - 1}, {len(te)} sliding windows; mean speed {np.nanmean(test_s.values):.2f} km/h, "
          f"min {np.nanmin(test_s.values):.1f}; share < 40 km/h {fc.congested_share(test_s.values[None], 40.0):.4f}; "
          f"persistence MAE {persistence:.4f}", flush=True)

    def gru_mae(w, m, key):
        out = []
        for k in range(a.forecast_seeds):
            f = fc.fit_forecaster(w, t_in=T_IN, kind="gru", mask=m, rng=np.random.default_rng([*key, k]),
                                  steps=a.forecast_steps, hidden=a.hidden)
            out.append(float(fc.forecast_errors(f, te, tem).query("horizon == 0").mae.iloc[0]))
        return float(np.mean(out))

    rows = []
    for d in a.days:
        sub = s.slice_time(288 * a.test_days, 288 * (a.test_days + d))
        n_rec = len(sub.timestamps) // T
        rw, rm = fc.sliding_windows(sub.values, T, sub.mask)
        t0 = time.perf_counter()
        trtr = gru_mae(rw, rm, (n_rec, 1))
        print(f"records {n_rec} ({d} days, {len(rw)} sliding windows): TRTR {trtr:.4f} in {time.perf_counter() - t0:.1f} s", flush=True)
        for eps in a.eps:
            code = 10**9 if math.isinf(eps) else int(round(eps * 1000))
            for g in a.gan_seeds:
                rng = np.random.default_rng([g, n_rec, code])
                t0 = time.perf_counter()
                gan = sg.train(sub, eps=eps, delta=1 / (10 * n_rec), steps=a.steps, nominal_records=n_rec, window=T, variant="stdpgan",
                               value_range=(0.0, FREE_FLOW), batch_size=BATCH, d_model=a.hidden, rng=rng, progress=False, **RECIPE_DP)
                synth = gan.generate(a.n_synthetic, rng=rng)
                tstr = gru_mae(synth, None, (n_rec, 2, code, g))
                p = gan.privacy
                r = dict(records=n_rec, days=d, eps=eps, gan_seed=g, sigma=p["noise_multiplier"], q=p["sample_rate"], steps=p["steps"],
                         eps_pld=p["eps_pld"], tstr=tstr, trtr=trtr, persistence=persistence, ratio=tstr / trtr,
                         seconds=time.perf_counter() - t0)
                rows.append(r)
                print(f"records {n_rec} eps {eps:g} seed {g}: sigma {r['sigma']:.3f}, q {r['q']:.4f}, TSTR {tstr:.4f}, "
                      f"ratio {r['ratio']:.3f}, {r['seconds']:.1f} s", flush=True)

    runs = pd.DataFrame(rows)
    df = runs.groupby(["records", "eps"], as_index=False).agg(
        sigma=("sigma", "first"), q=("q", "first"), steps=("steps", "first"), eps_pld=("eps_pld", "first"), tstr=("tstr", "mean"),
        tstr_sd=("tstr", "std"), trtr=("trtr", "first"), persistence=("persistence", "first"), seconds=("seconds", "mean"))
    df.insert(df.columns.get_loc("seconds"), "ratio", df.tstr / df.trtr)
    df["within_15pct"] = df.tstr <= 1.15 * df.trtr
    df["beats_persistence"] = df.tstr < df.persistence
    print(f"\nSYNTHETIC simulated sensor network ({a.vehicles} vehicles, {s.n_nodes} links): ST-DPGAN (DP recipe, {a.steps} steps) "
          f"TSTR vs TRTR vs persistence, GRU MAE km/h, horizon 0, test = first {a.test_days} days; tstr: mean of "
          f"{len(a.gan_seeds)} GAN seed(s), seconds: per GAN run (train + generate + TSTR)")
    print(df.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    trend = []
    for eps, d in df.groupby("eps"):
        trend.append(dict(eps=eps, sizes=len(d), b_ratio=growth_exponent(d.records, d.ratio),
                          b_excess=growth_exponent(d.records, d.ratio - 1) if (d.ratio > 1).all() else math.nan,
                          ratio_first=float(d.ratio.iloc[0]), ratio_last=float(d.ratio.iloc[-1])))
    w15, bp = first_records(df, "within_15pct"), first_records(df, "beats_persistence")
    tr = pd.DataFrame(trend)
    tr["first_records_tstr_le_1.15trtr"] = tr.eps.map(w15)
    tr["first_records_tstr_lt_persistence"] = tr.eps.map(bp)
    print("\nSYNTHETIC: trend of ratio = TSTR/TRTR with records per eps (b_ratio: slope of log ratio on log records; "
          "b_excess: slope of log(ratio - 1), NaN unless every ratio > 1)")
    print(tr.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    trtr_b = growth_exponent(df.drop_duplicates("records").records, df.drop_duplicates("records").trtr)
    print(f"\nSYNTHETIC: TRTR ~ records^{trtr_b:.3f}; city loaded in {gen_s:.1f} s; total {time.perf_counter() - t_all:.0f} s", flush=True)
    if a.out:
        runs.assign(dataset=s.name, vehicles=a.vehicles, nodes=s.n_nodes).to_csv(a.out, index=False)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
