"""One ST-DPGAN DP training (the eval/30_stdpgan DP cell's core) timed here, in a Dask LocalCluster worker as Dask
starts it by default, and in a worker of `trajstudy.reproduce.Engine` (which unsets MALLOC_TRIM_THRESHOLD_).

    .venv/bin/python benchmarks/bench_dask_worker.py [--rounds 5] [--steps 240] [--nodes 20] [--where serial,default,engine]

Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536; glibc then returns freed memory to the kernel almost at
once and faults it in again on the next allocation, and torch's per-sample-gradient steps slow down. Each configuration
trains `trajstudy.stdpgan.train` on LOS-loop (first `--nodes` sensors, the first 70% of the week, eps = 10, batch 32,
`--steps` discriminator steps, one torch thread). All configurations are started first and then run in turn, one
training each per round, `--rounds` rounds: the machine's drift hits all of them alike, and the first rounds show a
fresh process warming up (its heap grows over the first trainings: many more page faults, and slower). The table gives
the first round (cold), the best of the later rounds (warm), the minor page faults of each, and the warm ratio to the
serial run. Needs LOS-loop (../shared/data or TRAJSTUDY_DATA).
"""
import argparse, time


def train_once(nodes, steps, seed):
    "(seconds, minor page faults, MALLOC_TRIM_THRESHOLD_ as this process sees it) of one DP training run."
    import os, resource, warnings
    import numpy as np, torch
    from trajstudy.data import load
    from trajstudy import stdpgan as sg
    torch.set_num_threads(1); warnings.filterwarnings("ignore")
    s = load("los-loop").select_nodes(np.arange(nodes))
    train_s = s.slice_time(0, int(0.7 * len(s.timestamps)))
    n_rec = len(train_s.timestamps) // 12
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    sg.train(train_s, eps=10.0, delta=1 / (10 * n_rec), steps=steps, nominal_records=n_rec, window=12, variant="stdpgan",
             value_range=(0.0, 70.0), batch_size=32, d_model=32, rng=np.random.default_rng(seed), progress=False)
    secs = time.perf_counter() - t0
    return secs, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0, os.environ.get("MALLOC_TRIM_THRESHOLD_")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="trainings per configuration (the first is the cold one)")
    ap.add_argument("--steps", type=int, default=240)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--where", default="serial,default,engine", help="which configurations (comma-separated)")
    a = ap.parse_args(argv)
    if a.rounds < 2: ap.error("--rounds must be at least 2 (one cold, one warm)")
    import contextlib, logging, os
    # glibc reads MALLOC_TRIM_THRESHOLD_ when a process starts: this process keeps what its shell gave it, even after a
    # Dask nanny writes the variable into os.environ.
    serial_trim = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    from distributed import Client, LocalCluster
    from trajstudy.reproduce import Engine
    names = {"serial": "serial (this process)", "default": "Dask default worker", "engine": "trajstudy Engine worker"}
    where = a.where.split(",")
    for w in where:
        if w not in names: ap.error(f"unknown configuration {w!r}: serial, default or engine")
    runners = {}
    with contextlib.ExitStack() as stack:
        # The Engine first: a Dask nanny started earlier would leave MALLOC_TRIM_THRESHOLD_ in os.environ, which the
        # Engine drops anyway; starting it first keeps the serial run's environment what the user's shell gave it.
        if "engine" in where:
            eng = stack.enter_context(Engine(jobs=2))
            runners["engine"] = lambda *x, c=eng.client: c.submit(train_once, *x, pure=False).result()
        if "default" in where:
            c = stack.enter_context(LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                                                 silence_logs=logging.ERROR))
            cl = stack.enter_context(Client(c))
            runners["default"] = lambda *x, cl=cl: cl.submit(train_once, *x, pure=False).result()
        if "serial" in where: runners["serial"] = lambda *x: train_once(*x)[:2] + (serial_trim,)
        runs = {w: [] for w in where}
        for r in range(a.rounds):
            for w in where: runs[w].append(runners[w](a.nodes, a.steps, r))
    warm = {w: min(t for t, _, _ in v[1:]) for w, v in runs.items()}
    base = warm.get("serial", next(iter(warm.values())))
    print(f"ST-DPGAN DP training, LOS-loop {a.nodes} sensors, {a.steps} steps, eps 10, batch 32, 1 torch thread; "
          f"{a.rounds} rounds, interleaved")
    print(f"{'where':<26} {'MALLOC_TRIM_THRESHOLD_':>22} {'cold s':>7} {'cold faults':>11} {'warm s':>7} "
          f"{'warm faults':>11} {'warm x serial':>13}")
    for w, v in runs.items():
        warm_faults = min(f for _, f, _ in v[1:])
        print(f"{names[w]:<26} {str(v[0][2]):>22} {v[0][0]:7.2f} {v[0][1]:11d} {warm[w]:7.2f} {warm_faults:11d} "
              f"{warm[w] / base:13.2f}")
    print("seconds per round:", {names[w]: [round(t, 2) for t, _, _ in v] for w, v in runs.items()})


if __name__ == "__main__":
    main()
