"""Discriminator-step throughput of ST-DPGAN with and without DP-SGD (Opacus), and peak memory.

Usage: .venv/bin/python benchmarks/bench_stdpgan.py [--quick] [--device cpu|cuda] [--threads 1] [--batch 32] [--steps N] [--d-model 32]

For each (variant, N sensors, T steps) it times discriminator steps exactly as `trajstudy.stdpgan.train`
runs them (one forward pass on B real + B fake windows, one backward, one optimizer step):
  * plain:  Adam on the bare discriminator;
  * DP:     Opacus GradSampleModule + DPOptimizer (per-sample gradients, clipping, noise).
It prints windows/s (real windows per second), the DP/plain slowdown ratio, the parameter count, the
per-sample-gradient memory Opacus must hold (B_total x params x 4 bytes) and the peak resident memory of a
fresh process running the DP steps (CPU) or the peak CUDA memory (GPU). Each configuration runs in its own
subprocess so the peaks do not mix.
"""
import argparse, json, os, subprocess, sys, time, warnings


def _one(cfg):
    import resource
    import numpy as np
    import torch
    warnings.filterwarnings("ignore")
    torch.set_num_threads(cfg["threads"])
    from opacus import PrivacyEngine
    from trajstudy import stdpgan as sg
    N, T, B, dev = cfg["N"], cfg["T"], cfg["B"], torch.device(cfg["device"])
    g = np.eye(N, dtype=bool) | np.eye(N, k=1, dtype=bool) | np.eye(N, k=-1, dtype=bool)
    torch.manual_seed(0)
    G, D = sg.build_models(cfg["variant"], N, T, g, z_dim=32, d=cfg["d"])
    G, D = G.to(dev), D.to(dev)
    n_params = sum(p.numel() for p in D.parameters())
    opt = torch.optim.Adam(D.parameters(), lr=1e-3)
    real = torch.rand(B, T, N) * 2 - 1
    if cfg["dp"]:
        x = torch.rand(8 * B, T, N)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=B)
        D, opt, _ = PrivacyEngine().make_private(module=D, optimizer=opt, data_loader=loader, noise_multiplier=1.0,
                                                 max_grad_norm=1.0, poisson_sampling=True)
    zgen = torch.Generator().manual_seed(0)
    loss = "wgan" if cfg["variant"] == "dpwgan" else "bce"
    step = lambda: sg._discriminator_step(D, opt, G, real, B, zgen, dev, loss=loss, weight_clip=0.01 if loss == "wgan" else None)
    for _ in range(cfg["warmup"]): step()
    if dev.type == "cuda": torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(cfg["steps"]): step()
    if dev.type == "cuda": torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(windows_per_s=cfg["steps"] * B / dt, ms_per_step=1000 * dt / cfg["steps"], params=n_params, peak_mb=peak,
                grad_sample_mb=2 * B * n_params * 4 / 2**20 if cfg["dp"] else 0.0)


def run(cfg):
    "Run one configuration in a fresh process (its own peak memory)."
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)], capture_output=True, text=True)
    if out.returncode: raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cuda" if _has_cuda() else "cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32, help="real windows per step (as many fake ones again)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per configuration (default 5 with --quick, else 20; more on a GPU)")
    ap.add_argument("--d-model", type=int, default=32, help="the discriminator's token width (quick profile 32, full 64)")
    ap.add_argument("--child")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(_one(json.loads(a.child)))); return
    B = a.batch
    grid = [("stdpgan", 20, 12), ("stdpgan", 50, 12), ("stdpgan", 207, 12), ("stdpgan", 207, 24), ("stdpgan", 207, 48),
            ("stdpgan-noattn", 207, 12), ("dpgan", 207, 12), ("dpwgan", 207, 12)]
    if a.quick: grid = [("stdpgan", 20, 12), ("stdpgan", 207, 12), ("dpgan", 20, 12), ("dpwgan", 20, 12)]
    steps = a.steps or (5 if a.quick else 20)
    print(f"device={a.device} threads={a.threads} d_model={a.d_model} batch={B} real + {B} fake windows per step, {steps} timed steps")
    print(f"{'variant':16s} {'N':>4s} {'T':>3s} {'params':>8s} {'plain w/s':>10s} {'DP w/s':>8s} {'DP/plain':>8s} "
          f"{'plain ms':>9s} {'DP ms':>8s} {'gs MB':>7s} {'peak MB':>8s}")
    for variant, N, T in grid:
        base = dict(variant=variant, N=N, T=T, B=B, d=a.d_model, device=a.device, threads=a.threads, warmup=max(2, steps // 10), steps=steps)
        p = run({**base, "dp": False}); d = run({**base, "dp": True})
        print(f"{variant:16s} {N:4d} {T:3d} {p['params']:8d} {p['windows_per_s']:10.1f} {d['windows_per_s']:8.1f} "
              f"{d['ms_per_step'] / p['ms_per_step']:8.2f} {p['ms_per_step']:9.1f} {d['ms_per_step']:8.1f} "
              f"{d['grad_sample_mb']:7.1f} {d['peak_mb']:8.0f}", flush=True)


def _has_cuda():
    try:
        import torch
        return torch.cuda.is_available()
    except Exception:
        return False


if __name__ == "__main__":
    main()
