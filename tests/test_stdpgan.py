"""Tests of trajstudy.stdpgan: per-sample gradients against single-record loops, the DP-GAN training traps,
accountants against dp-accounting, bad inputs."""
import math, warnings
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule, PrivacyEngine

from trajstudy import stdpgan as sg

warnings.filterwarnings("ignore", message=".*Full backward hook.*")
warnings.filterwarnings("ignore", message=".*Secure RNG.*")

N, T = 5, 6


def _graph(n=N):
    a = np.eye(n, dtype=bool)
    for i in range(n - 1): a[i, i + 1] = a[i + 1, i] = True
    return a


def _series(W=40, n=N, t=T, seed=0):
    "A smooth (W*t, n) series in [0, 70] with a daily-like wave and node offsets."
    rng = np.random.default_rng(seed)
    s = np.arange(W * t)
    return 35 + 20 * np.sin(s / 7)[:, None] + 3 * np.arange(n)[None] + rng.normal(0, 2, (W * t, n))


def _single_record_grads(D, x, y):
    "Reference: gradient of each record's own loss, one record at a time."
    out = []
    for i in range(len(x)):
        D.zero_grad(set_to_none=True)
        F.binary_cross_entropy_with_logits(D(x[i:i + 1]), y[i:i + 1]).backward()
        out.append({n: p.grad.detach().clone() for n, p in D.named_parameters()})
    D.zero_grad(set_to_none=True)
    return out


@pytest.mark.parametrize("variant", sg.VARIANTS)
def test_per_sample_grads_match_single_record_loop(variant):
    torch.manual_seed(0)
    _, D = sg.build_models(variant, N, T, _graph(), z_dim=4, d=8, hidden=16)
    x = torch.randn(7, T, N)                          # 4 "real" + 3 "fake" rows in one forward pass
    y = torch.tensor([1., 1, 1, 1, 0, 0, 0])
    ref = _single_record_grads(D, x, y)
    gsm = GradSampleModule(D, loss_reduction="mean")
    F.binary_cross_entropy_with_logits(gsm(x), y).backward()
    for name, p in D.named_parameters():
        assert p.grad_sample is not None, name
        for i in range(len(x)):
            torch.testing.assert_close(p.grad_sample[i], ref[i][name], rtol=1e-4, atol=1e-6, msg=f"{variant} {name} record {i}")


def _plain_copy(inner):
    "A hook-free copy of a (wrapped) discriminator with the same weights."
    _, D = sg.build_models("stdpgan", N, T, _graph(), z_dim=4, d=8)
    D.load_state_dict(inner.state_dict())
    return D


def _private_setup(noise=0.0, clip=0.05, W=40, batch=8, seed=0, opt="sgd"):
    torch.manual_seed(seed)
    G, D = sg.build_models("stdpgan", N, T, _graph(), z_dim=4, d=8)
    x = torch.from_numpy(sg.prepare_windows(_series(W), T, value_range=(0, 70))[0])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=batch,
                                         generator=torch.Generator().manual_seed(seed))
    o = torch.optim.SGD(D.parameters(), lr=1.0) if opt == "sgd" else torch.optim.Adam(D.parameters())
    D, o, loader = PrivacyEngine().make_private(module=D, optimizer=o, data_loader=loader, noise_multiplier=noise,
                                                max_grad_norm=clip, poisson_sampling=True)
    return G, D, o, loader, x


def test_discriminator_step_is_one_forward_on_real_and_fake_with_clipped_sum():
    "One forward and one backward on real+fake; the update is the sum of per-record clipped gradients / expected batch."
    clip = 0.05
    G, D, opt, loader, _ = _private_setup(clip=clip)
    real = next(r for (r,) in loader if len(r) > 0)
    inner = D._module
    calls = []
    h = inner.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    # the reference: compute per-record gradients on exactly the rows the step will see
    zgen = torch.Generator().manual_seed(5)
    with torch.no_grad(): fake = G(torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(5)))
    xx = torch.cat([real, fake]); yy = torch.cat([torch.ones(len(real)), torch.zeros(3)])
    ref = _single_record_grads(_plain_copy(inner), xx, yy)
    before = {n: p.detach().clone() for n, p in inner.named_parameters()}
    calls.clear()
    info = sg._discriminator_step(D, opt, G, real, 3, zgen, "cpu")
    h.remove()
    assert calls == [len(real) + 3], calls                 # one forward pass over real and fake together
    assert info["n_real"] == len(real) and info["n_fake"] == 3
    # expected update: sum_i clip(g_i) / expected_batch_size (loss_reduction="mean"), no noise, lr = 1
    names = [n for n, _ in inner.named_parameters()]
    norms = [math.sqrt(sum(float((r[n] ** 2).sum()) for n in names)) for r in ref]
    factors = [min(1.0, clip / (nrm + 1e-6)) for nrm in norms]
    ebs = opt.expected_batch_size
    for n, p in inner.named_parameters():
        want = before[n] - sum(f * r[n] for f, r in zip(factors, ref)) / ebs
        torch.testing.assert_close(p.detach(), want, rtol=1e-4, atol=1e-6, msg=n)


def test_generator_step_leaves_no_per_sample_state_in_discriminator():
    G, D, opt_d, loader, _ = _private_setup(opt="adam")
    opt_g = torch.optim.Adam(G.parameters())
    zgen = torch.Generator().manual_seed(1)
    g_before = {n: p.detach().clone() for n, p in G.named_parameters()}
    d_before = {n: p.detach().clone() for n, p in D._module.named_parameters()}
    sg._generator_step(G, D, opt_g, opt_d, 4, zgen, "cpu")
    for n, p in D._module.named_parameters():
        assert p.grad is None and getattr(p, "grad_sample", None) is None, n
        assert p.requires_grad, n
        torch.testing.assert_close(p.detach(), d_before[n])            # the generator step does not move D
    for m in D._module.modules():
        assert not getattr(m, "activations", []), m                     # no captured activations left behind
    assert D.hooks_enabled
    assert any(not torch.equal(p.detach(), g_before[n]) for n, p in G.named_parameters())
    # a following private step still has exact per-sample gradients for its own batch only
    real = next(r for (r,) in loader if len(r) > 0)
    with torch.no_grad(): fake = G(torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(9)))
    xx = torch.cat([real, fake]); yy = torch.cat([torch.ones(len(real)), torch.zeros(2)])
    ref = _single_record_grads(_plain_copy(D._module), xx, yy)
    opt_d.zero_grad(set_to_none=True)
    F.binary_cross_entropy_with_logits(D(xx), yy).backward()
    for n, p in D._module.named_parameters():
        assert p.grad_sample.shape[0] == len(xx), n
        for i in range(len(xx)):
            torch.testing.assert_close(p.grad_sample[i], ref[i][n], rtol=1e-4, atol=1e-6)


def test_train_fixed_fake_batch_and_poisson_real_batch_and_target_eps():
    res = sg.train(_series(60), adjacency=_graph(), epsilon=3.0, delta=1e-3, epochs=4, window=T, value_range=(0, 70),
                   batch_size=10, fake_batch_size=7, n_critic=2, d_model=8, z_dim=4, rng=np.random.default_rng(0), progress=False)
    h = res.history
    assert (h.n_fake == 7).all()                          # independent of the private batch
    assert h.n_real.nunique() > 1                          # Poisson sampling: the real batch size varies
    assert h.g_loss.notna().sum() == len(h) // 2           # one generator step per n_critic=2 discriminator steps
    p = res.privacy
    assert p["steps"] == p["steps_planned"] == len(h)
    assert 0.9 * 3.0 <= res.epsilon <= 3.0 * 1.01          # noise calibrated to the target over the planned steps
    assert p["eps_prv"] <= p["eps_rdp"]
    ref = sg.dp_accounting_epsilons(p["noise_multiplier"], p["sample_rate"], p["steps"], 1e-3)
    assert res.epsilon == pytest.approx(ref["eps_pld"], rel=0.03)
    assert p["eps_rdp"] <= ref["eps_rdp"] * 1.001         # our RDP orders include fractional ones: never looser
    out = res.generate(11, rng=np.random.default_rng(3))
    assert out.shape == (11, T, N) and out.min() >= 0 and out.max() <= 70
    np.testing.assert_array_equal(out, res.generate(11, rng=np.random.default_rng(3)))
    assert res.ledger.sound and res.ledger.eps == pytest.approx(res.epsilon)


@pytest.mark.parametrize("sigma,q,steps,delta", [(1.0, 0.1, 100, 1e-5), (0.8, 0.25, 40, 1e-3), (3.0, 0.02, 1000, 1e-6)])
def test_accountants_agree_with_dp_accounting(sigma, q, steps, delta):
    ours = sg.accountant_epsilons(sigma, q, steps, delta)
    ref = sg.dp_accounting_epsilons(sigma, q, steps, delta)
    assert ours["eps_prv"] == pytest.approx(ref["eps_pld"], rel=0.03)
    assert ours["eps_rdp"] <= ref["eps_rdp"] * 1.001
    from opacus.accountants.analysis import rdp as R    # same integer orders on both sides: the same number
    orders = list(range(2, 257))
    e_int, _ = R.get_privacy_spent(orders=orders, rdp=R.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders), delta=delta)
    assert e_int == pytest.approx(ref["eps_rdp"], rel=0.01)


def test_non_private_and_checkpoint(tmp_path):
    res = sg.train(_series(20), adjacency=_graph(), epsilon=math.inf, epochs=2, window=T, value_range=(0, 70), batch_size=8,
                   d_model=8, z_dim=4, rng=np.random.default_rng(1), progress=False, checkpoint_dir=tmp_path, checkpoint_every=1)
    assert math.isinf(res.epsilon) and res.privacy["noise_multiplier"] == 0
    ck = torch.load(tmp_path / "stdpgan.pt", weights_only=False)
    assert ck["epoch"] == 1 and set(ck["generator"]) == set(res.generator.state_dict())


def test_data_dependent_range_is_flagged_unsound():
    res = sg.train(_series(20), adjacency=_graph(), epsilon=5.0, delta=1e-3, epochs=1, window=T, batch_size=8,
                   d_model=8, z_dim=4, rng=np.random.default_rng(1), progress=False)
    assert not res.ledger.sound and "data-dependent" in res.privacy["scaling"]


@pytest.mark.parametrize("kw,msg", [
    (dict(epsilon=0), "epsilon must be > 0"),
    (dict(epsilon=-1), "epsilon must be > 0"),
    (dict(epsilon=1, delta=1 / 20), "delta must be < 1/number of records"),
    (dict(epsilon=1, delta=0.5), "delta must be < 1/number of records"),
    (dict(epsilon=1, adjacency=np.eye(N + 1)), "the graph has 6 nodes"),
])
def test_bad_inputs(kw, msg):
    kw = {"adjacency": _graph(), **kw}
    with pytest.raises(ValueError, match=msg):
        sg.train(_series(20), epochs=1, window=T, value_range=(0, 70), rng=np.random.default_rng(0), progress=False, **kw)


def test_nan_without_mask_and_with_mask():
    s = _series(20); s[3, 2] = np.nan
    with pytest.raises(ValueError, match="no mask"):
        sg.train(s, adjacency=_graph(), epsilon=1, epochs=1, window=T, value_range=(0, 70), rng=np.random.default_rng(0))
    x, m, _, _ = sg.prepare_windows(s, T, value_range=(0, 70), mask=np.isfinite(s))
    assert np.isfinite(x).all() and x[0, 3, 2] == 0 and not m[0, 3, 2]


def test_rng_is_required():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        sg.train(_series(20), adjacency=_graph(), epsilon=1, epochs=1, window=T, value_range=(0, 70), rng=0)


@pytest.mark.slow
def test_eval_notebook_smoke(tmp_path):
    "The evaluation notebook runs end to end on a tiny configuration and writes its tables and figures."
    import papermill as pm
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    pm.execute_notebook(str(root / "nbs/eval/30_stdpgan.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                        cwd=str(root / "nbs/eval"), progress_bar=False,
                        parameters=dict(output_dir=str(tmp_path / "o"), datasets=["melbourne-parking"], epsilons=[5, "inf"],
                                        variants=["stdpgan", "dpgan"], gan_epochs=2, forecast_epochs=1, n_synthetic=16,
                                        max_nodes=6, hidden=8, fidelity_eps=5))
    out = tmp_path / "o"
    for f in ("utility_melbourne-parking.csv", "privacy.csv", "fidelity.csv", "claims.csv", "utility_vs_eps.png", "fidelity.png", "series.pdf"):
        assert (out / f).stat().st_size > 100, f
    import pandas as pd
    p = pd.read_csv(out / "privacy.csv")
    fin = p[p.epsilon == 5]
    assert (fin.eps_prv <= 5.0 * 1.001).all() and len(p) == 4


@pytest.mark.slow
def test_interrupted_training_resumes_from_checkpoint(tmp_path, monkeypatch):
    kw = dict(adjacency=_graph(), epsilon=4.0, delta=1e-3, epochs=4, window=T, value_range=(0, 70), batch_size=8, d_model=8,
              z_dim=4, progress=False, checkpoint_dir=tmp_path, checkpoint_every=1)
    full = sg.train(_series(40), rng=np.random.default_rng(7), **kw)
    real_step, calls = sg._discriminator_step, []
    def failing(*a, **k):
        calls.append(1)
        if len(calls) > 12: raise KeyboardInterrupt   # dies in epoch 3 of 4 (5 steps per epoch)
        return real_step(*a, **k)
    (tmp_path / "stdpgan.pt").unlink()
    monkeypatch.setattr(sg, "_discriminator_step", failing)
    with pytest.raises(KeyboardInterrupt):
        sg.train(_series(40), rng=np.random.default_rng(7), **kw)
    ck = torch.load(tmp_path / "stdpgan.pt", weights_only=False)
    assert ck["epoch"] == 1 and ck["steps"] == 10                 # the last complete checkpoint survived
    monkeypatch.setattr(sg, "_discriminator_step", real_step)
    res = sg.train(_series(40), rng=np.random.default_rng(7), resume=True, **kw)
    assert res.privacy["steps"] == full.privacy["steps"] == 20 and len(res.history) == 20
    assert res.epsilon == pytest.approx(full.epsilon)
    for a, b in zip(res.generator.parameters(), full.generator.parameters()):   # same seeds: the same model as uninterrupted
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="belongs to another run"):
        sg.train(_series(40), rng=np.random.default_rng(7), resume=True, **{**kw, "epsilon": 3.0})
