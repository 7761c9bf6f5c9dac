"""Audits of the privacy primitives and of one DP-SGD step, each shown to catch a broken variant (a mutant).

Every audit runs `trajstudy.audit.audit` (phase 1 chooses pair and event on separate runs, phase 2 counts it on fresh
runs) and compares the Clopper-Pearson lower bound with the a-priori eps of the mechanism. A real mechanism must stay
at or below its eps; each mutant must be proved above its claimed eps. ALPHA = 1e-3 per one-sided bound: a sound
mechanism is wrongly flagged with probability <= 0.2% per test (secure OpenDP noise is not seedable). The power of each
mutant audit (the bound expected from the frequencies, against the claim) is in its docstring. Run with `-s` to see
the summary lines (`AUDIT ...`).
"""
import math

import numpy as np
import pytest
from conftest import check_real, check_mutant

from trajstudy import privacy
from trajstudy.audit import audit, low_mantissa_bit, n_released

ALPHA = 1e-3


# ---- laplace_counts: OpenDP's integer Laplace ------------------------------------------------------------------------
EPS = 1.0
PAIRS = [(np.array([0, 0]), np.array([1, 0])), (np.array([7, 3]), np.array([7, 4]))]   # one record added to one count
COUNT_FEATURES = {"count0": lambda o: o[0], "count1": lambda o: o[1], "parity0": lambda o: o[0] % 2,
                  "parity1": lambda o: o[1] % 2}


def batched_counts(release):
    "R runs of a vector release in one call: the vector tiled R times (entries get independent noise)."
    def mech(c, n, rng):
        return list(np.asarray(release(np.tile(c, n), rng)).reshape(n, len(c)))
    return mech


@pytest.mark.slow
def test_laplace_counts_within_eps():
    """Real: secure discrete Laplace of scale 1/eps on integer counts; thresholds, conjunctions and parity events."""
    res = audit(batched_counts(lambda c, rng: privacy.laplace_counts(c, EPS)), pairs=PAIRS, features=COUNT_FEATURES,
                claimed_eps=EPS, n_select=4000, n_test=8000, alpha=ALPHA, conjunctions=True, batched=True, seed=1)
    check_real("laplace_counts eps=1", res)
    assert res.bound > 0.7, f"the audit should come close to eps on a tight mechanism: {res}"   # power check


def test_laplace_counts_noise_halved_is_caught():
    """Mutant: noise scale 1/(2 eps) while the ledger charges eps (true eps = 2). Power: the tail threshold has
    plug-in ratio e^2; with 8000 runs per side the expected bound is ~1.8 > 1."""
    res = audit(batched_counts(lambda c, rng: privacy.laplace_counts(c, 2 * EPS)), pairs=PAIRS, features=COUNT_FEATURES,
                claimed_eps=EPS, n_select=4000, n_test=8000, alpha=ALPHA, batched=True, seed=2)
    check_mutant("laplace_counts, noise scale halved", res)


# ---- the old bug: OpenDP noise drawn for zeros, added to float counts in numpy ---------------------------------------
FLOAT_FEATURES = {"value": lambda o: o[0], "abs": lambda o: abs(o[0]), "low_bit": lambda o: low_mantissa_bit(o[0])}


def float_sum_outside_sampler(c, n, rng):
    "The shipped bug: `counts + noise` in numpy, noise = OpenDP float Laplace(1/eps) of a zero vector."
    noise = privacy._secure_additive(np.zeros(n), 1.0 / EPS, "laplace")
    return list((np.repeat(np.asarray(c, float), n) + noise).reshape(n, 1))


def test_float_sum_outside_secure_sampler_is_caught():
    """Mutant: count 0 vs 1 (eps = 1). 1 + noise has its last mantissa bit 0 whenever |1 + noise| < 1/2 (ulp 2^-53
    there, coarser than OpenDP's noise lattice near zero), while 0 + noise has it 1 half the time: the event
    "low_bit >= 1 and abs <= ~0.5" has probability ~0.2 vs 0. Power: expected bound ~4 >> 1 with 3000 runs."""
    res = audit(float_sum_outside_sampler, np.array([0]), np.array([1]), features=FLOAT_FEATURES, claimed_eps=EPS,
                n_select=3000, n_test=3000, alpha=ALPHA, conjunctions=True, batched=True, seed=3)
    check_mutant("float sum outside the secure sampler", res)
    assert "low_bit" in str(res.event), res


def test_secure_float_laplace_within_eps():
    """Real: OpenDP's float Laplace applied to the value itself (privacy.laplace_mechanism, secure) passes the same
    mantissa-bit family that catches the float sum."""
    mech = lambda c, n, rng: list(privacy.laplace_mechanism(np.repeat(np.asarray(c, float), n), 1.0, EPS).reshape(n, 1))
    res = audit(mech, np.array([0]), np.array([1]), features=FLOAT_FEATURES, claimed_eps=EPS,
                n_select=3000, n_test=3000, alpha=ALPHA, conjunctions=True, batched=True, seed=4)
    check_real("laplace_mechanism secure (float)", res)


# ---- gaussian_mechanism: OpenDP's float Gaussian on the value itself ----------------------------------------------------
G_EPS, G_DELTA = 1.0, 1e-2
G_FEATURES = {"value": lambda o: o[0], "abs": lambda o: abs(o[0]), "low_bit": lambda o: low_mantissa_bit(o[0])}


def batched_gaussian(sensitivity):
    return lambda c, n, rng: list(privacy.gaussian_mechanism(np.repeat(np.asarray(c, float), n), sensitivity, G_EPS, G_DELTA).reshape(n, 1))


def test_gaussian_mechanism_within_eps_delta():
    """Real: analytic-Gaussian sigma for (1, 0.01) at sensitivity 1, secure OpenDP sampler; neighbours 0 vs 1."""
    res = audit(batched_gaussian(1.0), np.array([0.0]), np.array([1.0]), features=G_FEATURES, claimed_eps=G_EPS,
                delta=G_DELTA, n_select=4000, n_test=8000, alpha=ALPHA, batched=True, seed=12)
    check_real("gaussian_mechanism eps=1 delta=0.01", res)


def test_gaussian_mechanism_sigma_halved_is_caught():
    """Mutant: sigma computed for sensitivity 1/2 (noise halved) while the shift is 1: true eps ~2.3 at delta 0.01.
    Power: the best tail threshold gives an expected bound of ~1.6 > 1 with 8000 runs per side."""
    res = audit(batched_gaussian(0.5), np.array([0.0]), np.array([1.0]), features=G_FEATURES, claimed_eps=G_EPS,
                delta=G_DELTA, n_select=4000, n_test=8000, alpha=ALPHA, batched=True, seed=13)
    check_mutant("gaussian_mechanism, sigma halved", res)


# ---- threshold_counts: the stability histogram (support released only above the threshold) ---------------------------
TH_EPS, TH_DELTA = 1.0, 1e-3
TH_PAIRS = [(np.array([20]), np.array([20, 1])),   # D' has one more record, under a key nobody else has
            (np.array([20]), np.array([21]))]      # D' has one more record under an existing key


def key_count(i):
    return lambda o: float(o[1][list(o[0]).index(i)]) if i in o[0] else math.nan


TH_FEATURES = {"n_released": n_released, "key1_released": lambda o: float(1 in o[0]),
               "count_key0": key_count(0), "count_key1": key_count(1)}


def batched_keys(release):
    "R runs of a key-set release in one call: the count vector tiled R times (each key is noised and thresholded alone)."
    def mech(c, n, rng):
        d = len(c)
        keep, noisy = release(np.tile(c, n), rng)
        run = keep // d
        cuts = np.searchsorted(run, np.arange(n + 1))
        return [(keep[a:b] % d, noisy[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    return mech


def test_threshold_counts_within_eps_delta():
    """Real: keys are released only when their noisy count reaches the threshold; the key of the lone record
    appears with probability <= delta, which the bound subtracts."""
    tau = privacy.count_threshold(TH_EPS, TH_DELTA)[0]
    res = audit(batched_keys(lambda c, rng: privacy.threshold_counts(c, TH_EPS, TH_DELTA)), pairs=TH_PAIRS,
                features=TH_FEATURES, claimed_eps=TH_EPS, delta=TH_DELTA, n_select=2000, n_test=6000, alpha=ALPHA,
                batched=True, seed=5)
    check_real(f"threshold_counts eps=1 delta=1e-3 (threshold {tau})", res)


def unthresholded_support(c, rng):
    "Mutant: every key of the data is released with its (integer, OpenDP) noisy count: no threshold."
    return np.arange(len(c)), privacy.laplace_counts(c, TH_EPS)


def test_unthresholded_support_is_caught():
    """Mutant: the support is published without the threshold; the ledger still claims (eps, delta). The lone key is
    released with probability 1 vs 0: the bound is ln((p_lo(1) - delta) / p_hi(0)) ~ ln(6000 / 7) ~ 6.7."""
    res = audit(batched_keys(unthresholded_support), pairs=TH_PAIRS, features=TH_FEATURES, claimed_eps=TH_EPS,
                delta=TH_DELTA, n_select=1000, n_test=6000, alpha=ALPHA, batched=True, seed=6)
    check_mutant("histogram support without threshold", res)
    assert res.pair == 0, f"the worst pair is the new key (pair 0): {res.pair_planned}"


# A large delta makes the delta itself auditable: P[lone key released] is ~delta, measurable with a few thousand runs.
BIG_DELTA = 0.05


def test_threshold_delta_is_audited():
    """Real: with delta = 0.05 the lone key is released with probability just under delta; the bound subtracts the
    claimed delta and proves nothing."""
    tau = privacy.count_threshold(TH_EPS, BIG_DELTA)[0]
    res = audit(batched_keys(lambda c, rng: privacy.threshold_counts(c, TH_EPS, BIG_DELTA)), pairs=TH_PAIRS[:1],
                features=TH_FEATURES, claimed_eps=TH_EPS, delta=BIG_DELTA, n_select=2000, n_test=8000, alpha=ALPHA,
                batched=True, seed=10)
    check_real(f"threshold_counts eps=1 delta=0.05 (threshold {tau})", res)


def test_threshold_one_too_low_is_caught():
    """Mutant: the threshold one below the one computed for (eps, delta) (e.g. the continuous-Laplace formula applied to
    discrete noise, or an off-by-one between > and >=). P[lone key released] becomes ~e^eps * delta = 0.13 > delta:
    the bound is ln((p_lo - delta) / p_hi(0)), ~5 with 8000 runs."""
    tau = privacy.count_threshold(TH_EPS, BIG_DELTA)[0]
    def low(c, rng):
        noisy = privacy.laplace_counts(c, TH_EPS)
        keep = np.flatnonzero(noisy >= tau - 1)
        return keep, noisy[keep]
    res = audit(batched_keys(low), pairs=TH_PAIRS[:1], features=TH_FEATURES, claimed_eps=TH_EPS, delta=BIG_DELTA,
                n_select=2000, n_test=8000, alpha=ALPHA, batched=True, seed=11)
    check_mutant(f"threshold {tau - 1} instead of {tau}", res)


# ---- exponential mechanism ------------------------------------------------------------------------------------------
M = 10
EXP_PAIRS = [(np.r_[1.0, np.zeros(M - 1)], np.r_[0.0, np.ones(M - 1)]),   # every utility moves by 1, in opposite ways
             (np.zeros(M), np.r_[1.0, np.zeros(M - 1)])]
EXP_FEATURES = {"chosen": float, "chose0": lambda j: float(j == 0)}


@pytest.mark.slow
def test_exponential_mechanism_within_eps():
    """Real: OpenDP's Gumbel noisy max with scale 2/eps (secure default); the worst pair moves candidate 0 up and all
    others down, which pushes the ratio of P[choose 0] towards e^eps."""
    res = audit(lambda u, rng: privacy.exponential_mechanism(u, EPS, 1.0), pairs=EXP_PAIRS, features=EXP_FEATURES,
                claimed_eps=EPS, n_select=200, n_test=1500, alpha=ALPHA, seed=7)
    check_real("exponential_mechanism eps=1", res)


@pytest.mark.slow
def test_exponential_mechanism_noise_halved_is_caught():
    """Mutant: selection at 2 eps while charging eps (numpy sampler, seeded: the same distribution as OpenDP's, and a
    deterministic test). With M = 10 candidates P[choose 0] is 0.23 vs 0.039 on the worst pair; with 2000 runs the
    expected bound is ~1.37 > 1. The real mechanism's best event gives at most ~0.7 (P[choose 0] = 0.14 vs 0.066): the
    exponential mechanism's ratio reaches e^eps only with many candidates and rare events, beyond this power."""
    res = audit(lambda u, rng: privacy.exponential_mechanism(u, 2 * EPS, 1.0, rng=rng, secure=False), pairs=EXP_PAIRS,
                features=EXP_FEATURES, claimed_eps=EPS, n_select=300, n_test=2000, alpha=ALPHA, seed=8)
    check_mutant("exponential_mechanism, noise halved", res)
    assert res.pair == 0, res.pair_planned


# ---- one DP-SGD step on a tiny Opacus model ---------------------------------------------------------------------------
SIGMA, SGD_DELTA, N_REC = 1.0, 1e-2, 8


def gaussian_eps(mu, delta):
    "Exact eps of a Gaussian mechanism with sensitivity/sigma = mu at delta (Balle & Wang 2018), by root finding."
    from scipy import optimize, stats
    f = lambda e: stats.norm.cdf(-e / mu + mu / 2) - math.exp(e) * stats.norm.cdf(-e / mu - mu / 2) - delta
    return 0.0 if f(0) <= 0 else optimize.brentq(f, 0, 200)


def pld_eps(noise_multiplier, delta):
    "dp-accounting's PLD eps of one full-batch Gaussian step (sensitivity 1: the add/remove accounting)."
    import dp_accounting
    acc = dp_accounting.pld.PLDAccountant()
    acc.compose(dp_accounting.GaussianDpEvent(noise_multiplier))
    return acc.get_epsilon(delta)


@pytest.fixture(scope="module")
def dpsgd_audit():
    """One DP-SGD step (Opacus DPOptimizer, per-sample clipping C = 1, noise multiplier 1, full batch of 8) on a
    one-weight linear model whose per-record gradient is -x (x = +1 or -1, so every gradient has norm C). D: eight
    records x = +1; the candidate neighbours are D with one record REPLACED by x = -1 (clipped-sum change 2C) and D with
    one record REMOVED (change C). The released output is the weight after the step."""
    import warnings
    import torch
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer
    threads = torch.get_num_threads(); torch.set_num_threads(1)
    warnings.filterwarnings("ignore", module="opacus")
    model = GradSampleModule(torch.nn.Linear(1, 1, bias=False), loss_reduction="sum")
    gen = torch.Generator()
    opt = DPOptimizer(torch.optim.SGD(model.parameters(), lr=1.0), noise_multiplier=SIGMA, max_grad_norm=1.0,
                      expected_batch_size=N_REC, loss_reduction="sum", generator=gen)

    def step(x, rng):
        gen.manual_seed(int(rng.integers(2 ** 62)))
        with torch.no_grad(): model._module.weight.zero_()
        opt.zero_grad()
        (-model(x).sum()).backward()
        opt.step()
        return float(model._module.weight.item())

    D = torch.ones(N_REC, 1)
    replaced = D.clone(); replaced[0] = -1.0
    removed = D[1:].clone()
    try:
        res = audit(step, pairs=[(D, removed), (D, replaced)], features={"weight": lambda w: w}, claimed_eps=0.0,
                    delta=SGD_DELTA, n_select=500, n_test=2000, alpha=ALPHA, seed=9)
    finally:
        torch.set_num_threads(threads)
    return res


@pytest.mark.slow
def test_dpsgd_replace_one_within_eps(dpsgd_audit):
    """Real: the step is accounted replace-one (sensitivity 2C): eps = 6.0 at delta = 0.01. The audit picks the
    replaced pair as the worst."""
    from dataclasses import replace
    eps_ro = gaussian_eps(2 / SIGMA, SGD_DELTA)
    check_real(f"DP-SGD step, replace-one accounting (eps={eps_ro:.2f})", replace(dpsgd_audit, claimed_eps=eps_ro))
    assert dpsgd_audit.pair == 1, f"the replace-one pair is the worst: {dpsgd_audit.pair_planned}"


@pytest.mark.slow
def test_dpsgd_add_remove_accounting_is_caught(dpsgd_audit):
    """Mutant: the same step, neighbours by replacing one record, but eps taken from add/remove accounting
    (dp-accounting PLD with sensitivity C: 2.32 at delta 0.01). Power: the Gaussian shift 2/sigma = 2 gives an expected
    bound of ~3.3 with 2000 runs per side."""
    from dataclasses import replace
    eps_ar = pld_eps(SIGMA, SGD_DELTA)
    assert abs(eps_ar - gaussian_eps(1 / SIGMA, SGD_DELTA)) < 0.02, eps_ar   # PLD agrees with the closed form
    check_mutant(f"DP-SGD step, add/remove accounting of replace-one (eps={eps_ar:.2f})", replace(dpsgd_audit, claimed_eps=eps_ar))
