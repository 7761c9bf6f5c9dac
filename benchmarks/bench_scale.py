"""Scaling curves on the SYNTHETIC city: generation, resampling, Hilbert and DPR release time, and the N at which
sound releases first beat publishing nothing.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 1000 2000 5000 10000 20000] [--eps 1 10 50]
        [--areas 2 4 8 32] [--time-k 200] [--reps 2] [--queries 300] [--out FILE.csv] [--kte-max 10000]
        [--pool 20000]

Data: `load("synthetic-city", vehicles=n, seed=seed)` for each size n (generated here with the cache off, so that its
time is measured; then checked by `validate_points` and the `SensorSeries` checks once more), every car on the DP paper's time grid (one position every 10 minutes, 06:00-12:00,
36 steps: `trajstudy.data.resample_grid`) inside the city's public box. A size above `--pool` cars (10^5, say) is
pooled from independent simulations of at most `--pool` cars each on the same road network (seeds seed, seed + 1,
...), since one uxsim run keeps about 2.5 GB per 10^4 cars in memory (10^5 in one run: ~25 GB, over the 24 GiB
here); the table's `simulations` column says how many, and such cars meet only the traffic of their own part. Releases use the study sampler
(`secure=False`, numpy from a seeded rng; the ledger says "not for release"), sound mode, on the public box.

Stage times: generation, resampling, and one release of each method at a fixed k (`--time-k`, eps = the last of
`--eps`; best of `--reps`), with the ratio DPR/Hilbert and the growth exponent b of each stage (time ~ N^b, a
least-squares fit on log-log over the sizes).

Utility: for every size, method, eps and number of areas per time step A (k = N // A: the partition's k grows with
N, so the areas keep their size in trajectories), `--reps` seeded releases, their published copies and the mean PSI
range-query distortion (r = 1000 m, 2 h windows, sanity bound 1% of N, as in nbs/eval/10_hilbert_dp.ipynb) beside
an empty release's, and the paired per-query gain over it. Then, per method and eps, the smallest N at which some A
beats the empty release (gain > 2 standard errors) and the smallest at which some A halves its distortion. All times are
from this one run; `--out` also writes the utility table as CSV. With `--kte-max M`, kte-hide's stages are timed on
the GPS points of every city of up to M cars (a day of fixes every 3-10 min, 05:00-23:00), with their growth exponents. The data are synthetic: these curves are about
scale, not about any real city.
"""
import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

from trajstudy import dpr, hilbert_dp
from trajstudy.core import validate_points
from trajstudy.data import resample_grid, synthetic_city_cached
from trajstudy.ktehide import kte_hide
from trajstudy.metrics import random_range_queries, range_query_counts, range_query_distortion
from trajstudy.synthetic import synthetic_city

METHODS = {"hilbert": hilbert_dp.publish, "dpr": dpr.publish}


def growth_exponent(n, t):
    "Slope of log t against log n."
    return float(np.polyfit(np.log(np.asarray(n, float)), np.log(np.asarray(t, float)), 1)[0])


def one_city(n, seed):
    "Generate one simulated city of n cars as `load('synthetic-city')` does (cache off) and check it: (city, generate_s)."
    t0 = time.perf_counter()
    city = synthetic_city_cached(n, days=1, seed=seed, cache=False)
    t_gen = time.perf_counter() - t0
    again = validate_points(city.points)                         # the registry's checks, once more
    assert len(again) == len(city.points) and again.attrs["n_duplicates_dropped"] == 0 and city.points.attrs["synthetic"]
    dataclasses.replace(city.speeds)                             # SensorSeries.__post_init__: shapes, mask, graph, coordinates
    assert city.speeds.missing_rate == 0 and "SYNTHETIC" in city.speeds.name
    return city, t_gen


def city_grid(n, seed, pool=20000):
    """Cars of n on the DP paper's grid: (X, times, box, generate_s, resample_s, points, parts).

    Up to `pool` cars are one simulation. A larger n is pooled from `parts = ceil(n / pool)` independent simulations
    of the same road network (seeds seed, seed + 1, ...; uids prefixed by the part), because uxsim keeps 32 bytes
    per vehicle-second of travel in memory (about 2.5 GB per 10^4 cars) and 10^5 cars in one run would need about
    25 GB. Cars of different parts do not meet in traffic: each part is congested like a city of n / parts cars."""
    parts = max(1, -(-n // pool))
    sizes = [n // parts + (j < n % parts) for j in range(parts)]
    Xs, pts, t_gen, t_grid, box, times = [], [], 0.0, 0.0, None, None
    for j, nj in enumerate(sizes):
        city, tg = one_city(nj, seed + j)
        t_gen += tg
        assert box is None or city.box == box, "the parts must share the public box"
        box = city.box
        t0 = time.perf_counter()
        g = resample_grid(city.points, freq="10min", start="06:00", end="12:00", max_stale="2h")
        G = hilbert_dp.public_grid(hilbert_dp.keep_inside(g, box), box)
        t_grid += time.perf_counter() - t0
        assert times is None or np.array_equal(G.times, times), "the parts must share the public time grid"
        times = G.times
        Xs.append(G.xy)
        p = city.points
        if parts > 1: p = p.assign(uid=f"p{j}:" + p["uid"].astype(str))
        pts.append(p)
        del city
    points = pts[0] if parts == 1 else pd.concat(pts, ignore_index=True)
    if parts > 1: points.attrs.update(pts[0].attrs)
    return np.concatenate(Xs), times, box, t_gen, t_grid, points, parts


def kte_row(points):
    "kte-hide (k=2, tau = epoch_len = 1 h, no repair; bench_ktehide's settings) on a city's GPS points: seconds per stage."
    t0, c0 = time.perf_counter(), time.process_time()
    A = kte_hide(points, 2, "1h", "1h", rng=np.random.default_rng(0), progress=False, repair=False, block_size=2000, cluster_size=100, knn=30)
    return {"users": A.stats["n_users"], "samples": A.stats["n_samples"], **{f"{s}_s": v for s, v in A.timings.items()},
            "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "suppressed_pct": 100 * A.suppression_rate}


def release_time(X, box, eps, k, reps, seed):
    "Best-of-`reps` seconds of one sound release per method."
    out = {}
    for m, publish in METHODS.items():
        best = np.inf
        for r in range(reps):
            rng = np.random.default_rng(np.random.SeedSequence([seed, len(X), r, 7]))
            t0 = time.perf_counter()
            publish(X, eps, k, bounds=box, rng=rng, secure=False, mode="sound")
            best = min(best, time.perf_counter() - t0)
        out[f"{m}_s"] = best
    return out


def utility_rows(X, times, box, a, seed):
    "One row per (method, eps, areas per step): copies published, PSI distortion (mean over reps), its paired gain over an empty release."
    queries = random_range_queries(a.queries, X, times, 1000.0, "2h", np.random.default_rng(seed))
    truth = range_query_counts(X, times, queries, "psi")
    sanity = max(1.0, 0.01 * len(X))
    d_empty = range_query_distortion(truth, np.zeros_like(truth), sanity)       # per query
    rows = []
    for m, publish in METHODS.items():
        for eps in a.eps:
            for A in a.areas:
                k = max(2, len(X) // A)
                pub, d_rel = [], []
                for r in range(a.reps):
                    rng = np.random.default_rng(np.random.SeedSequence([seed, len(X), r, int(eps * 1000), A, len(m)]))
                    rel = publish(X, eps, k, bounds=box, rng=rng, secure=False, mode="sound")
                    w = rel.counts["n_copies"].to_numpy().astype(float)
                    ans = range_query_counts(rel.paths, times, queries, "psi", weights=w) if w.sum() else np.zeros_like(truth)
                    pub.append(rel.n_published); d_rel.append(range_query_distortion(truth, ans, sanity))
                gain = d_empty - np.mean(d_rel, axis=0)                               # paired per query
                se = float(gain.std(ddof=1) / np.sqrt(len(gain)))
                rows.append({"N": len(X), "method": m, "eps": eps, "areas_per_step": A, "k": k, "published": float(np.mean(pub)),
                             "psi_distortion": float(np.mean(d_rel)), "empty_release": float(d_empty.mean()), "gain": float(gain.mean()),
                             "gain_se": se, "beats_empty": float(gain.mean()) > 2 * se,
                             "halves_empty": float(np.mean(d_rel)) <= 0.5 * float(d_empty.mean())})
    return rows


def first_n(q, col):
    "Per method and eps: the smallest N with a configuration satisfying `col` (the one with the largest gain there)."
    rows = []
    for (m, eps), d in q.groupby(["method", "eps"]):
        hit = d[d[col]].sort_values(["N", "gain"], ascending=[True, False])
        h = hit.iloc[0] if len(hit) else None
        rows.append({"method": m, "eps": eps, f"first_N_{col}": None if h is None else int(h["N"]),
                     "areas_per_step": None if h is None else int(h["areas_per_step"]), "published": None if h is None else h["published"],
                     "psi_distortion": None if h is None else h["psi_distortion"], "empty_release": None if h is None else h["empty_release"],
                     "largest_N_tried": int(d["N"].max())})
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10000, 20000], help="numbers of cars")
    ap.add_argument("--eps", type=float, nargs="+", default=[1.0, 10.0, 50.0], help="privacy budgets; release times at the last")
    ap.add_argument("--areas", type=int, nargs="+", default=[2, 4, 8, 32], help="areas per time step A (k = N // A)")
    ap.add_argument("--time-k", type=int, default=200, help="k of the timed releases (fixed over N, as in the paper's Fig 10)")
    ap.add_argument("--reps", type=int, default=2, help="seeded releases per configuration (utility: mean; time: best)")
    ap.add_argument("--queries", type=int, default=300, help="random PSI range queries per size")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--out", help="write the utility table to this CSV file")
    ap.add_argument("--pool", type=int, default=20000, help="largest city simulated in one run; larger sizes pool independent runs")
    ap.add_argument("--kte-max", type=int, default=0, help="also time kte-hide's stages on every city of up to this many cars (0: not)")
    a = ap.parse_args(argv)
    warm = synthetic_city(100, days=1, seed=1)          # compile numba kernels and load uxsim before anything is timed
    Gw = hilbert_dp.public_grid(hilbert_dp.keep_inside(resample_grid(warm.points), warm.box), warm.box)
    for publish in METHODS.values(): publish(Gw.xy, 10.0, 10, bounds=warm.box, rng=np.random.default_rng(0), secure=False)
    stages, quality, kte = [], [], []
    for n in a.sizes:
        X, times, box, t_gen, t_grid, points, parts = city_grid(n, a.seed, a.pool)
        if n <= a.kte_max: kte.append(kte_row(points))
        del points
        row = {"N": len(X), "simulations": parts, "generate_s": t_gen, "resample_s": t_grid, **release_time(X, box, a.eps[-1], a.time_k, a.reps, a.seed)}
        stages.append(row)
        quality += utility_rows(X, times, box, a, a.seed)
        print(f"N={len(X)} ({parts} simulation(s)): generated in {t_gen:.1f} s, grid {t_grid:.1f} s, hilbert {row['hilbert_s']:.2f} s, dpr {row['dpr_s']:.2f} s", flush=True)
    st = pd.DataFrame(stages)
    st["dpr/hilbert"] = st["dpr_s"] / st["hilbert_s"]
    q = pd.DataFrame(quality)
    pd.set_option("display.width", 200)
    print(f"\nSYNTHETIC city, stage times (release: best of {a.reps} at eps={a.eps[-1]}, k={a.time_k}, sound mode, study sampler)")
    print(st.round(3).to_string(index=False))
    print(f"\nsound releases (mean of {a.reps}): copies published and PSI distortion (r=1000 m, 2 h, {a.queries} queries) vs an empty release")
    print(q.round(3).to_string(index=False))
    if len(st) > 1:
        print("\ngrowth exponents b (time ~ N^b over N = " + ", ".join(map(str, st["N"])) + "):")
        for c in ("generate_s", "resample_s", "hilbert_s", "dpr_s"):
            print(f"  {c[:-2]:>9}: b = {growth_exponent(st['N'], st[c]):.2f}   (x{st[c].iat[-1] / st[c].iat[0]:.1f} for N x{st['N'].iat[-1] / st['N'].iat[0]:.0f})")
    print(f"\nsmallest N at which a sound release (some A of {a.areas}) beats an empty release on PSI distortion "
          "(paired gain over the queries > 2 standard errors; shown: the A with the largest gain):")
    print(first_n(q, "beats_empty").round(3).to_string(index=False))
    print(f"\nsmallest N at which a sound release (some A of {a.areas}) has at most half the empty release's PSI distortion:")
    print(first_n(q, "halves_empty").round(3).to_string(index=False))
    if len(kte):
        kt = pd.DataFrame(kte)
        print("\nkte-hide on the SYNTHETIC city (k=2, tau=epoch_len=1h, block_size=2000, cluster_size=100, knn=30, no repair): seconds per stage")
        print(kt.round(2).to_string(index=False))
        if len(kt) > 1:
            print("growth exponents b (time ~ users^b): " + ", ".join(
                f"{c[:-2]} {growth_exponent(kt['users'], kt[c].clip(lower=1e-3)):.2f}" for c in kt.columns if c.endswith("_s")))
    if a.out:
        q.to_csv(a.out, index=False)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
