"""Benchmark: kte-hide time per stage against the number of users, up to 10^5 users (k=2, tau=epoch_len=1h).

The large inputs are SYNTHETIC COPIES OF REAL DAYS, never real data (the synthetic city of trajstudy/synthetic.py
is a GPS road-traffic model, timed by bench_scale.py --kte-max; operator records need operator-like sampling): every
synthetic user is a real Shanghai Telecom user-day (14 or 16 June 2014, folded onto 14 June by time of day) drawn
with replacement, moved by a per-user random offset (Gaussian, `--jitter_m` metres per axis) plus a small
per-sample jitter (50 m), and shifted in time by a per-user uniform offset within +-30 minutes. Their uids start
with "SYN-". The first size is the real day itself (no copies).

The ε repair re-verifies only the users a repair step touched, then the whole output once (kte-hide notebook).
Reported per size: wall-clock seconds per stage, the total wall and CPU seconds of the process (on a shared
machine the wall time also counts the time other processes held the cores), (grid, costs_and_clusters, hiding_sets, merge[_and_repair], total), the
median spatial granularity and the suppression rate, and the growth exponent b of time ~ users^b fitted on the
synthetic sizes. Epochs with more than `--block_size` users are clustered within balanced k-d blocks (see the kte-hide
notebook); the same block size is used at every size, so the exponent compares like with like.

Run:  .venv/bin/python benchmarks/bench_ktehide.py [--quick] [--sizes 10000 30000 100000] [--repair] [--csv OUT.csv]
      .venv/bin/python benchmarks/bench_ktehide.py --fit A.csv B.csv   (sizes run in separate processes: one table, one fit)
"""
import argparse, time, warnings
import numpy as np
import pandas as pd
from trajstudy import data
from trajstudy.core import validate_points
from trajstudy.ktehide import kte_hide
from trajstudy.metrics import granularity

warnings.filterwarnings("ignore", message=".*coordinates 0,0.*")


def real_user_days():
    "Both Shanghai Telecom days folded onto 14 June by time of day; one trajectory per user-day."
    both = data.load("shanghai-telecom", day=None)
    day = both.t.dt.tz_convert("Asia/Shanghai").dt.normalize()
    ref = pd.Timestamp("2014-06-14", tz="Asia/Shanghai")
    out = both.assign(uid=both.uid + "@" + day.dt.strftime("%m%d"), t=ref + (both.t - day))[["uid", "t", "lat", "lon"]]
    return out


def synthetic_users(base:pd.DataFrame, n_users:int, rng:np.random.Generator, jitter_m:float=500.0) -> pd.DataFrame:
    "SYNTHETIC: n_users sampled, spatially jittered, time-shifted copies of the real user-days in `base`."
    groups = {u: g for u, g in base.groupby("uid")}
    keys = np.array(list(groups))
    pick = rng.choice(len(keys), n_users, replace=True)
    lens = np.array([len(groups[keys[i]]) for i in pick])
    rows = pd.concat([groups[keys[i]] for i in pick], ignore_index=True)
    uid = np.repeat([f"SYN-{j}-{keys[i]}" for j, i in enumerate(pick)], lens)
    m_lat, m_lon = 1 / 111_320, 1 / (111_320 * np.cos(np.radians(31.2)))
    off = np.repeat(rng.normal(0, jitter_m, (n_users, 2)), lens, axis=0) + rng.normal(0, 50, (len(rows), 2))
    shift = np.repeat(rng.uniform(-1800, 1800, n_users), lens)
    syn = pd.DataFrame({"uid": uid, "t": rows.t + pd.to_timedelta(np.round(shift), unit="s"),
                        "lat": rows.lat + off[:, 0] * m_lat, "lon": rows.lon + off[:, 1] * m_lon})
    return validate_points(syn, origin=base.attrs.get("origin", (31.200882, 121.431554)), recompute_xy=True)


def run(pts, block_size, repair, cluster_size, knn=30):
    t0 = time.perf_counter(); c0 = time.process_time()
    A = kte_hide(pts, 2, "1h", "1h", rng=np.random.default_rng(0), progress=False, repair=repair,
                 block_size=block_size, cluster_size=cluster_size, knn=knn)
    wall = time.perf_counter() - t0; cpu = time.process_time() - c0
    g = granularity(A.boxes)
    return {"users": A.stats["n_users"], "samples": A.stats["n_samples"], **{s: round(v, 2) for s, v in A.timings.items()},
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "space_median_km": g.spatial_km.median(), "suppressed_pct": 100 * A.suppression_rate,
            **({"violations": A.stats["violations"], "leaks_over_epoch": A.stats["leaks_over_epoch"]} if repair else {})}


def growth(df):
    "Fit time ~ users^b over the synthetic sizes, per stage, and print it."
    syn = df[df.input.str.startswith("SYNTHETIC")]
    if len(syn) >= 2:
        stages = [c for c in ("costs_and_clusters", "hiding_sets", "merge", "merge_and_repair", "total", "cpu_s") if c in df]
        g = {s: round(float(np.polyfit(np.log(syn.users), np.log(syn[s].clip(lower=1e-3)), 1)[0]), 2) for s in stages}
        print("growth exponent over the synthetic sizes (time ~ users^b):", g)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--block_size", type=int, default=2000)
    ap.add_argument("--knn", type=int, default=30)
    ap.add_argument("--cluster_size", type=int, default=100)
    ap.add_argument("--jitter_m", type=float, default=500.0)
    ap.add_argument("--repair", action="store_true", help="also run the ε repair (verifier in the loop)")
    ap.add_argument("--csv", default=None, help="also write the table to this CSV")
    ap.add_argument("--fit", nargs="*", default=None, help="no run: read these CSVs (from --csv) and print the table and the growth exponents")
    a = ap.parse_args()
    if a.fit:
        df = pd.concat([pd.read_csv(f) for f in a.fit], ignore_index=True).drop_duplicates("input")
        df = pd.concat([df[~df.input.str.startswith("SYNTHETIC")].head(1), df[df.input.str.startswith("SYNTHETIC")].sort_values("users")])
        pd.set_option("display.width", 250)
        print(df.to_string(index=False)); growth(df); raise SystemExit
    sizes = a.sizes or ([3000, 10_000] if a.quick else [10_000, 30_000, 100_000])
    pd.set_option("display.width", 220)
    rng = np.random.default_rng(0)
    real = data.load("shanghai-telecom", day="2014-06-14")
    rows = [{"input": "real (14 June)", **run(real, a.block_size, a.repair, a.cluster_size, a.knn)}]
    print(pd.DataFrame(rows).to_string(index=False), flush=True)
    base = real_user_days()
    for n in sizes:
        syn = synthetic_users(base, n, rng, a.jitter_m)
        rows.append({"input": f"SYNTHETIC copies, {n} users", **run(syn, a.block_size, a.repair, a.cluster_size, a.knn)})
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=False), flush=True)
    df = pd.DataFrame(rows)
    print("\n== kte-hide, k=2, tau=epoch_len=1h, block_size=%d, cluster_size=%d, knn=%d, repair=%s ==" % (a.block_size, a.cluster_size, a.knn, a.repair))
    print(df.to_string(index=False))
    if a.csv: df.to_csv(a.csv, index=False)
    growth(df)
