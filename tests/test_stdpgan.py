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
torch.set_num_threads(1)   # tiny models: more threads only contend on a shared CI machine

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


@pytest.mark.parametrize("variant,diff,heads", [(v, False, False) for v in sg.VARIANTS]
                         + [(v, True, h) for v in sg.VARIANTS if v.startswith("stdpgan") for h in (False, True)])
def test_per_sample_grads_match_single_record_loop(variant, diff, heads):
    torch.manual_seed(0)
    _, D = sg.build_models(variant, N, T, _graph(), z_dim=4, d=8, hidden=16, diff_features=diff, token_heads=heads)
    if heads: assert {"node_score.2.weight", "time_score.2.weight"} <= dict(D.named_parameters()).keys()
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
    info, diag = sg._discriminator_step(D, opt, G, real, 3, zgen, "cpu")
    h.remove()
    assert calls == [len(real) + 3], calls                 # one forward pass over real and fake together
    assert diag["n_real"] == len(real) and info["n_fake"] == 3 and set(info) == {"d_fake", "n_fake"}
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


def test_wgan_loss_per_sample_grads_match_single_record_loop():
    "The WGAN critic loss is a mean of per-row terms, so Opacus' per-sample gradients stay exact (one backward, no penalty)."
    torch.manual_seed(0)
    _, D = sg.build_models("dpwgan", N, T, None, z_dim=4, hidden=16)
    x = torch.randn(7, T, N)
    sign = torch.tensor([-1., -1, -1, -1, 1, 1, 1])    # 4 real rows (-D), 3 fake rows (+D)
    ref = []
    for i in range(len(x)):
        D.zero_grad(set_to_none=True); (sign[i] * D(x[i:i + 1])).sum().backward()
        ref.append({n: p.grad.detach().clone() for n, p in D.named_parameters()})
    D.zero_grad(set_to_none=True)
    with torch.no_grad(): want = (sign * D(x)).mean()
    gsm = GradSampleModule(D, loss_reduction="mean")
    loss = sg._discriminator_loss(gsm(x), 4, "wgan")
    torch.testing.assert_close(loss.detach(), want)
    loss.backward()
    for name, p in D.named_parameters():
        for i in range(len(x)): torch.testing.assert_close(p.grad_sample[i], ref[i][name], rtol=1e-4, atol=1e-6)


def test_dpwgan_clips_weights_and_monitor_sees_the_ema_without_changing_training():
    kw = dict(eps=math.inf, steps=12, sample_rate=0.3, ema_decay=0.9, **{**KW, "adjacency": None})
    calls = []
    def monitor(step, G):
        assert not G.training
        calls.append((step, [p.detach().clone() for p in G.parameters()]))
        torch.randn(3)                                   # the monitor's own draws must not shift training
    a = sg.train(_series(30), variant="dpwgan", rng=np.random.default_rng(2), monitor=monitor, monitor_every=4, **kw)
    b = sg.train(_series(30), variant="dpwgan", rng=np.random.default_rng(2), **kw)
    assert [c[0] for c in calls] == [4, 8, 12]
    for p, q in zip(calls[-1][1], a.generator.parameters()): torch.testing.assert_close(p, q.detach())   # the released EMA
    __import__("pandas").testing.assert_frame_equal(a.history, b.history)
    assert a.config["loss"] == "wgan" and a.config["weight_clip"] == 0.01
    # weight clipping: a critic step leaves every weight in [-c, c]
    G, D = sg.build_models("dpwgan", N, T, None, z_dim=4, hidden=16)
    with torch.no_grad():
        for p in D.parameters(): p.mul_(10)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3)
    sg._discriminator_step(D, opt, G, torch.rand(5, T, N), 5, torch.Generator().manual_seed(0), "cpu", loss="wgan", weight_clip=0.02)
    assert max(float(p.abs().max()) for p in D.parameters()) <= 0.02 + 1e-9


def test_instance_noise_reaches_the_discriminator_inputs():
    G, D = sg.build_models("dpgan", N, T, None, z_dim=4, hidden=16)
    seen = []
    D.register_forward_hook(lambda m, i, o: seen.append(i[0].detach().clone()))
    real = torch.zeros(4, T, N)
    opt = torch.optim.SGD(D.parameters(), lr=0.0)
    sg._discriminator_step(D, opt, G, real, 2, torch.Generator().manual_seed(0), "cpu", instance_noise=0.0)
    sg._discriminator_step(D, opt, G, real, 2, torch.Generator().manual_seed(0), "cpu", instance_noise=0.5)
    assert torch.equal(seen[0][:4], real)
    std = float(seen[1][:4].std())
    assert 0.35 < std < 0.65, std                       # the real rows carry N(0, 0.5^2) noise


KW = dict(adjacency=_graph(), window=T, value_range=(0, 70), d_model=8, z_dim=4, unit="one test window", progress=False)


def test_train_fixed_fake_batch_and_poisson_real_batch_and_target_eps():
    res, diag = sg.train(_series(60), eps=3.0, delta=1e-3, steps=24, sample_rate=1 / 6, batch_size=10, fake_batch_size=7,
                         n_critic=2, rng=np.random.default_rng(0), diagnostics=True, prv_check=True, **KW)
    h, hd = res.history, diag.history
    assert (h.n_fake == 7).all()                          # independent of the private batch
    assert hd.n_real.nunique() > 1                         # Poisson sampling: the real batch size varies
    assert abs(hd.n_real.mean() - 60 / 6) < 4              # at the public rate q = 1/6 of 60 windows
    assert h.g_loss.notna().sum() == len(h) // 2           # one generator step per n_critic=2 discriminator steps
    p = res.privacy
    assert p["steps"] == len(h) == 24 and p["sample_rate"] == pytest.approx(1 / 6)
    assert 0.98 * 3.0 <= res.epsilon <= 3.0 and res.epsilon == p["eps_pld"]   # noise calibrated to the target (PLD)
    assert p["eps_prv"] <= p["eps_rdp"]
    ref = sg.dp_accounting_epsilons(p["noise_multiplier"], p["sample_rate"], p["steps"], 1e-3)
    assert p["eps_prv"] == pytest.approx(ref["eps_pld"], rel=0.03)
    assert p["eps_rdp"] <= ref["eps_rdp"] * 1.001         # our RDP orders include fractional ones: never looser
    out = res.generate(11, rng=np.random.default_rng(3))
    assert out.shape == (11, T, N) and out.min() >= 0 and out.max() <= 70
    np.testing.assert_array_equal(out, res.generate(11, rng=np.random.default_rng(3)))
    assert not np.array_equal(res.generate(11), res.generate(11))     # no rng: fresh OS entropy, not a stored seed
    assert res.ledger.sound and res.ledger.eps == pytest.approx(res.epsilon)
    assert "add/remove" in res.ledger.unit and res.privacy["relation"] == "add/remove"
    assert res.ledger.frame().sampler.tolist() == ["torch"] and res.privacy["sampler"] == "torch"


@pytest.mark.parametrize("public", [dict(sample_rate=0.2), dict(nominal_records=50, batch_size=10)])
def test_neighbouring_datasets_follow_the_same_schedule(public):
    "W = 40 and W = 41 windows at the same public settings: same rate, steps, noise, eps, history length, ledger."
    kw = dict(eps=2.0, delta=1e-3, steps=10, rng=np.random.default_rng(5), **public, **KW)   # q = 0.2 both ways
    a, b = sg.train(_series(40), **kw), sg.train(_series(41), **kw)
    assert a.privacy == b.privacy
    assert len(a.history) == len(b.history) == 10
    assert a.ledger.total() == b.ledger.total() and a.ledger.unit == b.ledger.unit
    # the comparison can fail: a schedule taken from the data (the old q = 1/len(loader)) differs with certainty
    c = sg.train(_series(41), **{**kw, "nominal_records": 41, "batch_size": 8, "sample_rate": None})
    d = sg.train(_series(40), **{**kw, "nominal_records": 40, "batch_size": 8, "sample_rate": None})
    assert c.privacy["sample_rate"] != d.privacy["sample_rate"] and c.privacy["noise_multiplier"] != d.privacy["noise_multiplier"]


def test_released_object_has_no_real_batch_statistics_and_no_seed():
    import dataclasses
    res, diag = sg.train(_series(30), eps=2.0, delta=1e-3, steps=10, sample_rate=0.25, rng=np.random.default_rng(2),
                         diagnostics=True, **KW)
    names = {f.name for f in dataclasses.fields(res)}
    assert "seed" not in names and not hasattr(res, "seed")
    assert list(res.history.columns) == ["step", "d_fake", "n_fake", "g_loss"]
    flat = repr(res.privacy) + repr(res.config) + repr(res.ledger.frame().to_dict())
    for word in ("d_loss", "d_real", "n_real", "n_records", "seconds"):
        assert word not in flat and word not in res.history, word
    assert 30 not in res.privacy.values()                          # the record count is not in the release
    assert list(diag.history.columns) == ["step", "d_loss", "d_real", "n_real"] and diag.n_records == 30
    assert "NOT PRIVATE" in repr(diag) and "NOT PRIVATE" in sg.TrainingDiagnostics.__doc__
    assert isinstance(sg.train(_series(30), eps=2.0, delta=1e-3, steps=10, sample_rate=0.25, rng=np.random.default_rng(2), **KW),
                      sg.TrainedGAN)                               # diagnostics only when asked
    r = repr(res)
    assert len(r) < 200 and "eps=" in r and "add/remove" in r
    md = res._repr_markdown_()
    assert "replace-one" in md and md.count("\n") < 25


@pytest.mark.parametrize("sigma,q,steps,delta", [(1.0, 0.25, 100, 1e-4), (2.0, 0.2, 200, 1e-4), (3.0, 0.02, 1000, 1e-6)])
def test_replace_one_pld_matches_prv_composition(sigma, q, steps, delta):
    "Replace-one eps: dp-accounting's PLD against Opacus' PRV composition of our replace-one PRV (independent code)."
    ro = sg.replace_one_epsilons(sigma, q, steps, delta)
    assert ro["eps_prv"] == pytest.approx(ro["eps_pld"], rel=0.02)
    ar = sg.accountant_epsilons(sigma, q, steps, delta)["eps_prv"]
    assert ro["eps_pld"] > 1.3 * ar                                   # replacing costs more than adding or removing
    ge, gd = sg.group_privacy(ar, delta, 2)                           # replace = remove + add: a group of two
    assert sg.replace_one_epsilons(sigma, q, steps, gd, prv=False)["eps_pld"] <= ge * 1.001
    # the check can fail: the add/remove PRV (the wrong relation) is far from the replace-one PLD
    assert abs(ar - ro["eps_pld"]) > 0.02 * ro["eps_pld"]


def test_replace_one_prv_cdf_matches_monte_carlo():
    "The closed-form CDF of the replace-one privacy loss against sampling X ~ P and computing ln P(x)/Q(x)."
    q, s = 0.3, 1.2
    prv = sg.ReplaceOneGaussianPRV(q, s)
    rng = np.random.default_rng(0)
    x = rng.normal(0, s, 200_000) - (rng.random(200_000) < q)           # (1-q) N(0, s^2) + q N(-1, s^2)
    lp = np.logaddexp(np.log1p(-q) - x ** 2 / (2 * s * s), np.log(q) - (x + 1) ** 2 / (2 * s * s))
    lq = np.logaddexp(np.log1p(-q) - x ** 2 / (2 * s * s), np.log(q) - (x - 1) ** 2 / (2 * s * s))
    L = lp - lq
    for t in (-0.5, -0.1, 0.0, 0.2, 0.6):
        assert prv.cdf(t) == pytest.approx((L <= t).mean(), abs=0.005), t


def test_plan_is_read_before_data_and_equals_the_ledger():
    plan = sg.dp_sgd_plan(2.0, 1e-3, 0.25, 10)
    res = sg.train(_series(30), eps=2.0, delta=1e-3, steps=10, sample_rate=0.25, rng=np.random.default_rng(0), **KW)
    assert res.ledger.eps == pytest.approx(plan["eps_pld"]) and res.privacy["noise_multiplier"] == plan["noise_multiplier"]
    assert math.isinf(sg.dp_sgd_plan(math.inf, None, 0.25, 10)["eps_replace_one"])


def test_array_input_needs_a_unit():
    with pytest.raises(ValueError, match="array input needs unit="):
        sg.train(_series(20), eps=2.0, delta=1e-3, steps=10, sample_rate=0.25, rng=np.random.default_rng(0), **{**KW, "unit": None})
    res = sg.train(_series(20), eps=2.0, delta=1e-3, steps=10, sample_rate=0.25, rng=np.random.default_rng(0), **KW)
    assert res.ledger.unit.startswith("one test window") and "non-overlapping" in res.ledger.unit


def test_overlapping_windows_refused_under_dp_with_the_group_bound():
    with pytest.raises(ValueError, match="group privacy") as e:
        sg.train(_series(20), eps=1.0, delta=1e-4, steps=2, sample_rate=0.2, stride=2, rng=np.random.default_rng(0), **KW)
    ge, gd = sg.group_privacy(1.0, 1e-4, 3)                                  # T=6, stride 2: a slot lies in 3 windows
    assert f"eps={ge:.3g}" in str(e.value) and f"delta={gd:.3g}" in str(e.value)
    res = sg.train(_series(20), eps=math.inf, steps=2, sample_rate=0.2, stride=2, rng=np.random.default_rng(0), **KW)
    assert math.isinf(res.epsilon)                                           # without DP any stride is allowed


def test_secure_maps_to_opacus_secure_mode():
    try:
        import torchcsprng  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="needs torchcsprng"):
            sg.train(_series(20), eps=2.0, delta=1e-3, steps=10, sample_rate=0.25, secure=True, **KW)
        return
    res = sg.train(_series(20), eps=2.0, delta=1e-3, steps=10, sample_rate=0.25, secure=True, **KW)
    assert res.privacy["sampler"] == "opacus-secure" and res.ledger.frame().sampler.tolist() == ["opacus-secure"]


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
    res = sg.train(_series(20), eps=math.inf, steps=4, sample_rate=0.3, batch_size=8, rng=np.random.default_rng(1),
                   checkpoint_dir=tmp_path, checkpoint_every=2, **KW)
    assert math.isinf(res.epsilon) and res.privacy["noise_multiplier"] == 0
    ck = torch.load(tmp_path / "stdpgan.pt", weights_only=False)
    assert ck["steps"] == 4 and set(ck["generator"]) == set(res.generator.state_dict())


def test_latent_mlp_generator_and_difference_features_are_recorded_and_keep_the_schedule(tmp_path):
    kw = dict(eps=4.0, delta=1e-3, steps=6, sample_rate=0.2, checkpoint_dir=tmp_path, checkpoint_every=3, **KW)
    plain = sg.train(_series(40), rng=np.random.default_rng(3), **kw)
    deep = sg.train(_series(40), rng=np.random.default_rng(3), latent_hidden=8, diff_features=True, **kw)
    assert deep.privacy == plain.privacy                         # the architecture does not touch the public schedule
    assert deep.config["latent_hidden"] == 8 and deep.config["diff_features"] is True
    assert plain.config["latent_hidden"] == 0 and plain.config["diff_features"] is False
    assert deep.generator.latent is not None and deep.generator.deconv.in_channels == 8 and plain.generator.latent is None
    synth = deep.generate(10, rng=np.random.default_rng(0))
    assert synth.shape == (10, T, N) and np.isfinite(synth).all()
    mlp = sg.train(_series(40), rng=np.random.default_rng(3), **{**kw, "checkpoint_dir": None, "variant": "dpgan"},
                   latent_hidden=8, diff_features=True)
    assert mlp.config["latent_hidden"] == 0 and mlp.config["diff_features"] is False   # not the MLP baseline's: recorded as not used
    with pytest.raises(ValueError, match="belongs to another run"):   # a checkpoint of the other architecture is refused
        sg.train(_series(40), rng=np.random.default_rng(3), resume=True, **kw)


def test_lr_end_decays_both_rates_linearly_to_the_last_step_and_keeps_the_schedule(tmp_path):
    kw = dict(eps=4.0, delta=1e-3, steps=5, sample_rate=0.2, n_critic=1, lr_d=1e-3, lr_g=2e-3, **KW)
    plain = sg.train(_series(40), rng=np.random.default_rng(3), **kw)
    res = sg.train(_series(40), rng=np.random.default_rng(3), lr_end=0.25, checkpoint_dir=tmp_path, checkpoint_every=5, **kw)
    assert res.privacy == plain.privacy and res.config["lr_end"] == 0.25 and plain.config["lr_end"] is None
    ck = torch.load(tmp_path / "stdpgan.pt", weights_only=False)
    assert ck["opt_d"]["param_groups"][0]["lr"] == pytest.approx(0.25e-3)   # the last of 5 steps ran at lr_end x lr
    assert ck["opt_g"]["param_groups"][0]["lr"] == pytest.approx(0.5e-3)
    seen = []   # the rate at every step: 1, 13/16, 5/8, 7/16, 1/4 of the start
    orig = sg._discriminator_step
    def spy(D, opt, *a, **k):
        seen.append(opt.param_groups[0]["lr"]); return orig(D, opt, *a, **k)
    import unittest.mock as um
    with um.patch.object(sg, "_discriminator_step", spy):
        sg.train(_series(40), rng=np.random.default_rng(3), lr_end=0.25, **kw)
    np.testing.assert_allclose(seen, 1e-3 * np.array([1, 13 / 16, 5 / 8, 7 / 16, 1 / 4]))
    with pytest.raises(ValueError, match="lr_end must be in"):
        sg.train(_series(40), rng=np.random.default_rng(3), lr_end=1.5, **kw)


def test_data_dependent_range_is_flagged_unsound():
    res = sg.train(_series(20), eps=2.0, delta=1e-3, steps=10, sample_rate=0.25, rng=np.random.default_rng(1),
                   **{**KW, "value_range": None})
    assert not res.ledger.sound and "data-dependent" in res.privacy["scaling"]


@pytest.mark.parametrize("kw,msg", [
    (dict(eps=0), "eps must be > 0"),
    (dict(eps=-1), "eps must be > 0"),
    (dict(eps=1, delta=1 / 20, nominal_records=20), "delta must be < 1/number of records"),
    (dict(eps=1, delta=0.5, nominal_records=20), "delta must be < 1/number of records"),
    (dict(eps=1, sample_rate=0.2), "delta is needed"),
    (dict(eps=1, delta=1e-3), "sampling rate must be public"),
    (dict(eps=1, delta=1e-3, sample_rate=1.5), "sample_rate must be in"),
    (dict(eps=1, delta=1e-3, nominal_records=20, batch_size=30), "batch_size must be in"),
    (dict(eps=math.inf, sample_rate=0.2, adjacency=np.eye(N + 1)), "the graph has 6 nodes"),
])
def test_bad_inputs(kw, msg):
    with pytest.raises(ValueError, match=msg):
        sg.train(_series(20), steps=1, rng=np.random.default_rng(0), **{**KW, **kw})


def test_nan_without_mask_and_with_mask():
    s = _series(20); s[3, 2] = np.nan
    with pytest.raises(ValueError, match="no mask"):
        sg.train(s, eps=1, delta=1e-3, steps=1, sample_rate=0.2, rng=np.random.default_rng(0), **KW)
    x, m, _, _ = sg.prepare_windows(s, T, value_range=(0, 70), mask=np.isfinite(s))
    assert np.isfinite(x).all() and x[0, 3, 2] == 0 and not m[0, 3, 2]


def test_rng_is_required():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        sg.train(_series(20), eps=1, delta=1e-3, steps=1, sample_rate=0.2, rng=0, **KW)


@pytest.mark.slow
def test_eval_notebook_smoke(tmp_path):
    "The evaluation notebook runs end to end on a tiny configuration and writes its tables and figures."
    import papermill as pm
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    pm.execute_notebook(str(root / "nbs/eval/30_stdpgan.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                        cwd=str(root / "nbs/eval"), progress_bar=False,
                        parameters=dict(output_dir=str(tmp_path / "o"), datasets=["los-loop"], epsilons=[5, "inf"],
                                        variants=["stdpgan", "dpgan", "dpwgan"], gan_steps=4, stable_steps=4, monitor_every=2,
                                        forecast_steps=2, n_synthetic=16, max_nodes=6, hidden=8, fidelity_eps=5, latent_hidden=8,
                                        records_fractions=[0.5], records_eps=[5], ablations=["stdpgan-mlpgen"], ablation_eps=[5]))
    out = tmp_path / "o"
    for f in ("utility_los-loop.csv", "privacy.csv", "fidelity.csv", "claims.csv", "training_curve.csv", "utility_vs_eps.png",
              "fidelity.png", "series.pdf", "training.png", "paper_claims.csv", "records.csv"):
        assert (out / f).stat().st_size > 100, f
    import pandas as pd
    p = pd.read_csv(out / "privacy.csv")
    fin = p[p.epsilon == 5]
    # 3 variants x 2 epsilons, the ablation at its one epsilon, 2 records cells
    assert (fin.eps_pld <= 5.0 * 1.001).all() and len(p) == 3 * 2 + 1 + 2 and (p.relation == "add/remove").all()
    assert set(p[p.variant == "stdpgan-mlpgen"].epsilon) == {5}
    claims = pd.read_csv(out / "paper_claims.csv")
    assert claims.statement.str.contains("transConv1d").any(), list(claims.statement)
    import json
    t = json.loads((out / "cell_timings.json").read_text())   # every grid cell, with its own seed and time
    assert t["engine"] == "serial" and len({c["seed"] for c in t["cells"]}) == len(t["cells"]) >= len(p) + 2
    curve = pd.read_csv(out / "training_curve.csv")                          # monitor at steps 2 and 4 of both stable runs
    assert sorted(curve.recipe) == ["stable", "stable", "stable-paper", "stable-paper"] and curve.roughness.gt(0).all()
    fid = pd.read_csv(out / "fidelity.csv")
    assert {"roughness_real", "roughness_synth", "roughness_ratio"} <= set(fid.columns) and set(fid.recipe) == {"dp", "stable", "stable-paper"}


@pytest.mark.slow
@pytest.mark.parametrize("lr_end", [None, 0.25])   # a decayed rate resumes from the step number, not from the checkpoint
def test_interrupted_training_resumes_from_checkpoint(tmp_path, monkeypatch, lr_end):
    kw = dict(eps=4.0, delta=1e-3, steps=20, sample_rate=0.2, ema_decay=0.9, checkpoint_dir=tmp_path, checkpoint_every=5,
              lr_end=lr_end, **KW)
    full = sg.train(_series(40), rng=np.random.default_rng(7), **kw)
    real_step, calls = sg._discriminator_step, []
    def failing(*a, **k):
        calls.append(1)
        if len(calls) > 12: raise KeyboardInterrupt   # dies in step 13 of 20
        return real_step(*a, **k)
    (tmp_path / "stdpgan.pt").unlink()
    monkeypatch.setattr(sg, "_discriminator_step", failing)
    with pytest.raises(KeyboardInterrupt):
        sg.train(_series(40), rng=np.random.default_rng(7), **kw)
    ck = torch.load(tmp_path / "stdpgan.pt", weights_only=False)
    assert ck["steps"] == 10                                      # the last complete checkpoint survived
    monkeypatch.setattr(sg, "_discriminator_step", real_step)
    res = sg.train(_series(40), rng=np.random.default_rng(7), resume=True, **kw)
    assert res.privacy == full.privacy and len(res.history) == 20
    pd_ = __import__("pandas")
    pd_.testing.assert_frame_equal(res.history, full.history)
    for a, b in zip(res.generator.parameters(), full.generator.parameters()):   # same seeds: the same model as uninterrupted
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="belongs to another run"):
        sg.train(_series(40), rng=np.random.default_rng(7), resume=True, **{**kw, "eps": 3.0})
