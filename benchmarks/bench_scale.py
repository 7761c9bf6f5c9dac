"""Scaling curves on the SYNTHETIC city: generation, resampling, Hilbert and DPR release time, and whether sound releases are useful.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 1000 2000 5000 10000] [--eps 1 10 50] [--k 20 500] [--reps 2]

Data: `trajstudy.synthetic.synthetic_city(n, days=1, seed)` for each size n (generated here, not read from the cache,
so that its time is measured), every car on the DP paper's time grid (one position every 10 minutes, 06:00-12:00,
36 steps: `trajstudy.data.resample_grid`) inside the city's public box. Releases use the study sampler
(`secure=False`, numpy from a seeded rng; the ledger says "not for release"), sound mode, on the public box.

For each size it prints the time of each stage, the release time ratio DPR/Hilbert, and for each k and eps the
number of released copies and the PSI range-query distortion (r = 1000 m, 2 h windows, sanity bound 1% of N, as in
nbs/eval/10_hilbert_dp.ipynb) beside an empty release's. Then the growth exponent b of each stage (time ~ N^b, a
least-squares fit on log-log over the sizes). All times are from this one run. Writes nothing.
The data are synthetic: these curves are about scale, not about any real city.
"""
import argparse
import time

import numpy as np
import pandas as pd

from trajstudy import dpr, hilbert_dp
from trajstudy.data import resample_grid
from trajstudy.metrics import random_range_queries, range_query_counts, range_query_distortion
from trajstudy.synthetic import synthetic_city


def growth_exponent(n, t):
    "Slope of log t against log n."
    return float(np.polyfit(np.log(np.asarray(n, float)), np.log(np.asarray(t, float)), 1)[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    ap.add_argument("--eps", type=float, nargs="+", default=[1.0, 10.0, 50.0])
    ap.add_argument("--k", type=int, nargs="+", default=[20, 500], help="k values; release times are timed at the first")
    ap.add_argument("--reps", type=int, default=2, help="releases per (size, method, eps); the time is the best of them")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261123)
    a = ap.parse_args(argv)
    methods = {"hilbert": hilbert_dp.publish, "dpr": dpr.publish}
    warm = synthetic_city(100, days=1, seed=1)          # compile numba kernels and load uxsim before anything is timed
    Gw = hilbert_dp.public_grid(hilbert_dp.keep_inside(resample_grid(warm.points), warm.box), warm.box)
    for publish in methods.values(): publish(Gw.xy, 10.0, a.k[0], bounds=warm.box, rng=np.random.default_rng(0), secure=False)
    stages, quality = [], []
    for n in a.sizes:
        t0 = time.perf_counter()
        city = synthetic_city(n, days=1, seed=a.seed)
        t_gen = time.perf_counter() - t0
        box = city.box
        t0 = time.perf_counter()
        g = resample_grid(city.points, freq="10min", start="06:00", end="12:00", max_stale="2h")
        G = hilbert_dp.public_grid(hilbert_dp.keep_inside(g, box), box)
        t_grid = time.perf_counter() - t0
        X, times = G.xy, G.times
        del city, g
        rng_q = np.random.default_rng(a.seed)
        queries = random_range_queries(a.queries, X, times, 1000.0, "2h", rng_q)
        truth = range_query_counts(X, times, queries, "psi")
        sanity = max(1.0, 0.01 * len(X))
        empty = float(range_query_distortion(truth, np.zeros_like(truth), sanity).mean())
        row = {"N": len(X), "generate_s": t_gen, "resample_s": t_grid}
        for m, publish in methods.items():
            best = np.inf
            for k in a.k:
                for eps in a.eps:
                    for r in range(a.reps if k == a.k[0] else 1):
                        rng = np.random.default_rng(np.random.SeedSequence([a.seed, n, r, int(eps * 1000), k]))
                        t0 = time.perf_counter()
                        rel = publish(X, eps, k, bounds=box, rng=rng, secure=False, mode="sound")
                        best = min(best, time.perf_counter() - t0) if (eps == a.eps[-1] and k == a.k[0]) else best
                        if r == 0:
                            w = rel.counts["n_copies"].to_numpy().astype(float)
                            ans = range_query_counts(rel.paths, times, queries, "psi", weights=w) if len(w) else np.zeros_like(truth)
                            d = float(range_query_distortion(truth, ans, sanity).mean())
                            quality.append({"N": len(X), "method": m, "k": k, "areas_per_step": len(X) // k, "eps": eps,
                                            "published": rel.n_published, "distinct": int((w > 0).sum()), "psi_distortion": d,
                                            "empty_release": empty, "beats_empty": d < empty})
            row[f"{m}_s"] = best
        stages.append(row)
        print(f"N={len(X)}: generated in {t_gen:.1f} s, grid {t_grid:.1f} s, hilbert {row['hilbert_s']:.2f} s, dpr {row['dpr_s']:.2f} s", flush=True)
    st = pd.DataFrame(stages)
    st["dpr/hilbert"] = st["dpr_s"] / st["hilbert_s"]
    q = pd.DataFrame(quality)
    pd.set_option("display.width", 200)
    print(f"\nSYNTHETIC city, stage times (release: best of {a.reps} at eps={a.eps[-1]}, k={a.k[0]}, sound mode, study sampler)")
    print(st.round(3).to_string(index=False))
    print(f"\nsound releases: copies published and PSI distortion (r=1000 m, 2 h, {a.queries} queries) vs an empty release")
    print(q.round(3).to_string(index=False))
    if len(st) > 1:
        print("\ngrowth exponents b (time ~ N^b over N = " + ", ".join(map(str, st["N"])) + "):")
        for c in ("generate_s", "resample_s", "hilbert_s", "dpr_s"):
            print(f"  {c[:-2]:>9}: b = {growth_exponent(st['N'], st[c]):.2f}   (x{st[c].iat[-1] / st[c].iat[0]:.1f} for N x{st['N'].iat[-1] / st['N'].iat[0]:.0f})")
    for m in methods:
        d = q[(q["method"] == m) & q["beats_empty"]]
        first = d.sort_values(["k", "eps", "N"]).groupby(["k", "eps"])["N"].min().to_dict()
        print(f"sound {m}: smallest N beating an empty release on PSI, per (k, eps): {first or 'none at these sizes'}")


if __name__ == "__main__":
    main()
