"""Benchmarks of k-merge and kte-hide.

1. k-merge throughput (samples per second) of the compiled DP against the plain-Python reference of the same
   algorithm (`k_merge_reference`: Algorithm 1 line by line, checking elementarity directly), against the
   compiled function's own code run by the Python interpreter (`.py_func`: identical algorithm and data
   structures, so this ratio is the compiler's alone), on the same real k-tuples, and of the batched entry
   point kte-hide uses.
2. kte-hide time per stage against the number of users (Shanghai Telecom, one day, k=2, tau=eps=1h), with the
   growth exponent of each stage fitted on a log-log scale.

Run:  .venv/bin/python benchmarks/bench_kmerge.py [--quick]
"""
import argparse, sys, time, warnings
import numpy as np
import pandas as pd
from trajstudy import data
from trajstudy.kmerge import GridTrajs, k_merge, k_merge_reference, k_merge_many, pairwise_costs, _kmerge_sorted, _workspace
from trajstudy.ktehide import kte_hide

warnings.filterwarnings("ignore", message=".*coordinates 0,0.*")


def bench_kmerge(G, rng, n_tuples=60, k=3):
    tuples = [[G.traj(u) for u in rng.choice(len(G), size=k, replace=False)] for _ in range(n_tuples)]
    n_samples = sum(sum(map(len, tp)) for tp in tuples)
    k_merge(tuples[0])                                   # compile
    t0 = time.perf_counter(); fast = [k_merge(tp).cost for tp in tuples]; t_fast = time.perf_counter() - t0
    t0 = time.perf_counter(); ref = [k_merge_reference(tp)[0] for tp in tuples]; t_ref = time.perf_counter() - t0
    assert fast == ref, "compiled and reference k-merge disagree"
    # the compiled function's own code, interpreted by Python (identical algorithm and data structures)
    prepared = []
    for tp in tuples:
        r = np.concatenate([np.c_[a, np.full(len(a), q)] for q, a in enumerate(tp)])
        r = r[np.argsort(r[:, 0], kind="stable")]
        prepared.append((r[:, 0].copy(), r[:, 1].copy(), r[:, 2].copy(), r[:, 3].copy(), len(tp)))
    empty = np.empty(0, np.int64)
    t0 = time.perf_counter()
    interp = [_kmerge_sorted.py_func(t, x, y, tr, kk, empty, *_workspace.py_func(len(t), kk)) for t, x, y, tr, kk in prepared]
    t_interp = time.perf_counter() - t0
    assert interp == fast
    # batched: all tuples in one compiled call
    runs = []
    for tp in tuples:
        r = np.concatenate([np.c_[a, np.full(len(a), q)] for q, a in enumerate(tp)])
        runs.append(r[np.argsort(r[:, 0], kind="stable")])
    flat = np.concatenate(runs); offs = np.r_[0, np.cumsum([len(r) for r in runs])]
    k_merge_many(flat[:, 0], flat[:, 1], flat[:, 2], flat[:, 3], offs, groups=False)
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps): c = k_merge_many(flat[:, 0], flat[:, 1], flat[:, 2], flat[:, 3], offs, groups=False)
    t_batch = (time.perf_counter() - t0) / reps
    assert np.array_equal(c, fast)
    return {"tuples": n_tuples, "k": k, "samples": n_samples,
            "reference_samples_per_s": n_samples / t_ref, "same_code_interpreted_samples_per_s": n_samples / t_interp,
            "k_merge_samples_per_s": n_samples / t_fast,
            "batch_samples_per_s": n_samples / t_batch,
            "speedup_k_merge_vs_reference": t_ref / t_fast, "speedup_batch_vs_reference": t_ref / t_batch,
            "speedup_batch_vs_same_code_interpreted": t_interp / t_batch}


def bench_pairwise(G, n_users=1000):
    sub = G.subset(np.arange(min(n_users, len(G))))
    # one epoch's worth: the samples of 18:00-19:00 only, as kte-hide does
    pairwise_costs(sub.t[:10], sub.x[:10], sub.y[:10], np.array([0, 5, 10]))
    t0 = time.perf_counter(); P = pairwise_costs(sub.t, sub.x, sub.y, sub.offsets); dt = time.perf_counter() - t0
    n = len(sub); pairs = n * (n - 1) // 2
    return {"users": n, "pairs": pairs, "seconds": dt, "pair_merges_per_s": pairs / dt,
            "samples_per_s": (n - 1) * sub.n_samples / dt}


def bench_ktehide(pts, sizes, rng):
    users = pts.uid.unique()
    rows = []
    for n in sizes:
        sel = rng.choice(users, size=min(n, len(users)), replace=False)
        p = pts[pts.uid.isin(sel)]
        A = kte_hide(p, 2, "1h", "1h", rng=np.random.default_rng(0), progress=False)
        rows.append({"users": len(sel), "samples": len(p), **{s: A.timings[s] for s in ("costs_and_clusters", "hiding_sets", "merge_and_repair", "total")},
                     "suppressed_pct": 100 * A.suppression_rate})
    df = pd.DataFrame(rows)
    big = df.tail(3)   # the largest sizes: small ones are dominated by fixed costs (and one spectral cluster)
    growth = {s: float(np.polyfit(np.log(big.users), np.log(big[s].clip(lower=1e-4)), 1)[0]) for s in ("costs_and_clusters", "hiding_sets", "merge_and_repair", "total")}
    return df, growth


if __name__ == "__main__":
    ap = argparse.ArgumentParser(); ap.add_argument("--quick", action="store_true"); a = ap.parse_args()
    pts = data.load("shanghai-telecom", day="2014-06-14")
    G = GridTrajs.from_points(pts)
    rng = np.random.default_rng(0)
    pd.set_option("display.width", 200)
    print("== k-merge: compiled vs plain-Python reference (same algorithm, same real 3-tuples) ==")
    print(pd.Series(bench_kmerge(G, rng, n_tuples=20 if a.quick else 60)).round(1).to_string())
    print("\n== pairwise 2-merge costs (one call, whole-day trajectories) ==")
    print(pd.Series(bench_pairwise(G, 300 if a.quick else 1000)).round(1).to_string())
    sizes = [200, 400, 800] if a.quick else [250, 500, 1000, 2000, len(G)]
    print(f"\n== kte-hide, k=2, tau=eps=1h, time per stage (s) vs users ==")
    df, growth = bench_ktehide(pts, sizes, rng)
    print(df.round(2).to_string(index=False))
    print("growth exponent over the 3 largest sizes (time ~ users^b):", {s: round(b, 2) for s, b in growth.items()})
