"""One ST-DPGAN DP training (the eval/30_stdpgan DP cell's core) timed here, in a Dask LocalCluster worker as Dask
starts it by default, and in a worker of `trajstudy.reproduce.Engine` (which unsets MALLOC_TRIM_THRESHOLD_).

    .venv/bin/python benchmarks/bench_dask_worker.py [--reps 2] [--steps 240] [--nodes 20] [--order serial,default,engine]

Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536; glibc then maps every allocation above 128 KiB afresh
(page faults on each), and torch's per-sample-gradient steps slow down. Each configuration trains `trajstudy.stdpgan.train`
on LOS-loop (first `--nodes` sensors, the first 70% of the week, eps = 10, batch 32, `--steps` discriminator steps, one
torch thread) `--reps` times; it prints the best time of each and the ratios to the serial run, measured in one run.
Needs LOS-loop (../shared/data or TRAJSTUDY_DATA).
"""
import argparse, time


def train_once(nodes, steps, seed):
    "Seconds of one DP training run, with MALLOC_TRIM_THRESHOLD_ as this process sees it."
    import os, warnings
    import numpy as np, torch
    from trajstudy.data import load
    from trajstudy import stdpgan as sg
    torch.set_num_threads(1); warnings.filterwarnings("ignore")
    s = load("los-loop").select_nodes(np.arange(nodes))
    train_s = s.slice_time(0, int(0.7 * len(s.timestamps)))
    n_rec = len(train_s.timestamps) // 12
    t0 = time.perf_counter()
    sg.train(train_s, eps=10.0, delta=1 / (10 * n_rec), steps=steps, nominal_records=n_rec, window=12, variant="stdpgan",
             value_range=(0.0, 70.0), batch_size=32, d_model=32, rng=np.random.default_rng(seed), progress=False)
    return time.perf_counter() - t0, os.environ.get("MALLOC_TRIM_THRESHOLD_")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--steps", type=int, default=240)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--order", default="serial,default,engine", help="which runs, in this order (comma-separated)")
    a = ap.parse_args(argv)
    import logging
    from distributed import Client, LocalCluster
    from trajstudy.reproduce import Engine
    rows = {}
    for which in a.order.split(","):
        if which == "serial": rows["serial (this process)"] = [train_once(a.nodes, a.steps, r) for r in range(a.reps)]
        elif which == "default":
            with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR) as c, Client(c) as cl:
                rows["Dask default worker"] = [cl.submit(train_once, a.nodes, a.steps, r, pure=False).result() for r in range(a.reps)]
        elif which == "engine":
            with Engine(jobs=2) as eng:
                rows["trajstudy Engine worker"] = [eng.client.submit(train_once, a.nodes, a.steps, r, pure=False).result() for r in range(a.reps)]
        else: ap.error(f"unknown run {which!r}: serial, default or engine")
    base = min(t for t, _ in rows.get("serial (this process)", next(iter(rows.values()))))
    print(f"ST-DPGAN DP training, LOS-loop {a.nodes} sensors, {a.steps} steps, eps 10, batch 32, 1 torch thread; best of {a.reps}")
    print(f"{'where':<26} {'MALLOC_TRIM_THRESHOLD_':>22} {'seconds':>8} {'x serial':>8}")
    for k, v in rows.items():
        best = min(t for t, _ in v)
        print(f"{k:<26} {str(v[0][1]):>22} {best:8.2f} {best / base:8.2f}")


if __name__ == "__main__":
    main()
