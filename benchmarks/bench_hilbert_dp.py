"""Release time of the Hilbert mechanism and DPR vs number of trajectories and vs k, as ratios in one run.

    .venv/bin/python benchmarks/bench_hilbert_dp.py [--sizes 250 500 1000 2000] [--ks 5 10 20 40 70] [--reps 3]

Data: the Shanghai Telecom 14 June users on the paper's grid (10 min, 06:00-12:00), resampled with replacement and
jittered by 50 m to reach each size (timing only). Also times the vectorized Hilbert index against a scalar loop.
Prints tables; writes nothing.
"""
import argparse
import time

import numpy as np
import pandas as pd

from trajstudy import data, dpr, hilbert_dp
from trajstudy.core import PublicBox

LAT, LON, NAME = data.REGISTRY["shanghai-telecom"].public_point
BOX = PublicBox.around(LAT, LON, 30_000, source=NAME)


def real_grid():
    g = data.shanghai_grid("2014-06-14", half_box_m=30_000)   # the study's Shanghai grid, users inside BOX
    assert g.attrs["public_box"] == BOX
    return hilbert_dp.public_grid(g, BOX).xy


def best_of(f, reps):
    ts = []
    for r in range(reps):
        t0 = time.perf_counter(); f(r); ts.append(time.perf_counter() - t0)
    return min(ts)


def scalar_hilbert(x, y, order):
    n = 1 << order
    d, s = 0, n >> 1
    while s > 0:
        rx, ry = int((x & s) > 0), int((y & s) > 0)
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1: x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        x &= s - 1; y &= s - 1
        s >>= 1
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    ap.add_argument("--ks", type=int, nargs="+", default=[5, 10, 20, 40, 70])
    ap.add_argument("--k", type=int, default=20, help="k for the size sweep")
    ap.add_argument("--eps", type=float, default=5.0)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args(argv)
    X = real_grid()
    rng = np.random.default_rng(0)
    methods = {"hilbert": hilbert_dp.publish, "dpr": dpr.publish}

    def timing(method, mode, Xn, k, secure=False):
        "Study sampler (numpy, reproducible) by default; secure=True: every draw from OpenDP."
        kw = (lambda r: dict(secure=True)) if secure else (lambda r: dict(rng=np.random.default_rng(r), secure=False))
        return best_of(lambda r: methods[method](Xn, a.eps, k, bounds=BOX, mode=mode, **kw(r)), a.reps)

    rows = []
    for n in a.sizes:
        Xn = X[rng.integers(0, len(X), n)] + rng.normal(0, 50, (n, X.shape[1], 2))
        for mode in ("published", "sound"):
            rows.append({"n": n, "mode": mode, "hilbert_s": timing("hilbert", mode, Xn, a.k), "dpr_s": timing("dpr", mode, Xn, a.k)})
    by_n = pd.DataFrame(rows)
    by_n["dpr/hilbert"] = by_n["dpr_s"] / by_n["hilbert_s"]
    rows = []
    for k in a.ks:
        for mode in ("published", "sound"):
            rows.append({"k": k, "mode": mode, "hilbert_s": timing("hilbert", mode, X, k), "dpr_s": timing("dpr", mode, X, k)})
    by_k = pd.DataFrame(rows)
    by_k["dpr/hilbert"] = by_k["dpr_s"] / by_k["hilbert_s"]
    pd.set_option("display.width", 200)
    print(f"release time (best of {a.reps}), eps={a.eps}; sizes at k={a.k}")
    print(by_n.round(4).to_string(index=False))
    print(f"\nrelease time vs k at N={len(X)} (real users)")
    print(by_k.round(4).to_string(index=False))
    for mode in ("published", "sound"):
        d = by_n[by_n["mode"] == mode]
        growth = {m: d[f"{m}_s"].iat[-1] / d[f"{m}_s"].iat[0] for m in ("hilbert", "dpr")}
        print(f"{mode}: N x{a.sizes[-1] / a.sizes[0]:.0f} -> hilbert time x{growth['hilbert']:.1f}, dpr time x{growth['dpr']:.1f}")
    # the price of the secure sampler (OpenDP measurements) against the study's numpy sampler, sound mode
    n = a.sizes[-1]
    Xn = X[rng.integers(0, len(X), n)] + rng.normal(0, 50, (n, X.shape[1], 2))
    for method in methods:
        t_np, t_sec = timing(method, "sound", Xn, a.k), timing(method, "sound", Xn, a.k, secure=True)
        print(f"{method} sound, N={n}: numpy sampler {t_np:.3f} s, OpenDP sampler {t_sec:.3f} s (x{t_sec / t_np:.2f})")
    # vectorized vs scalar Hilbert index
    order, m = 16, 200_000
    ix, iy = rng.integers(0, 1 << order, m), rng.integers(0, 1 << order, m)
    tv = best_of(lambda r: hilbert_dp.hilbert_index(ix, iy, order), a.reps)
    sub = 20_000
    t0 = time.perf_counter()
    ref = [scalar_hilbert(int(x), int(y), order) for x, y in zip(ix[:sub], iy[:sub])]
    ts = (time.perf_counter() - t0) * m / sub
    assert (np.array(ref) == hilbert_dp.hilbert_index(ix[:sub], iy[:sub], order)).all()
    print(f"\nHilbert index of {m} cells, order {order}: vectorized {tv * 1e3:.1f} ms, scalar loop ~{ts * 1e3:.0f} ms "
          f"(x{ts / tv:.0f})")


if __name__ == "__main__":
    main()
