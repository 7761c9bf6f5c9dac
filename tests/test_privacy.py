"Statistical checks of the samplers (fixed seeds) and of the ledger's arithmetic."
import math
import numpy as np, pytest
from scipy import stats
from trajstudy.privacy import (laplace_mechanism, laplace_counts, threshold_counts, count_threshold, gaussian_sigma, gaussian_mechanism, exponential_mechanism,
                               exponential_probabilities, PrivacyLedger, check_eps, check_delta, _gauss_delta)

@pytest.mark.parametrize("eps", [0, -1, float("nan"), float("inf"), "x"])
def test_bad_eps_is_refused(eps):
    with pytest.raises((ValueError, TypeError), match="eps"):
        laplace_mechanism(1.0, 1.0, eps, rng=np.random.default_rng(0), secure=False)

def test_bad_delta_and_rng():
    with pytest.raises(ValueError, match="delta"): gaussian_sigma(1, 1, 1.5)
    with pytest.raises(ValueError, match="delta"): gaussian_sigma(1, 1, 0)
    with pytest.raises(TypeError, match="rng"): laplace_mechanism(1.0, 1.0, 1.0, rng=0, secure=False)
    with pytest.raises(ValueError, match="secure=False"): laplace_counts([1], 1.0, rng=np.random.default_rng(0))

def test_laplace_numpy_matches_distribution():
    # 50k draws: the KS critical value at alpha=0.01 is 1.63/sqrt(n) = 0.0073, while the CDFs of Laplace(4) and
    # Laplace(4.4) (a 10% error in the scale) differ by up to 0.017, so such an error is caught with power > 0.99
    x = laplace_mechanism(np.zeros(50_000), sensitivity=2.0, eps=0.5, rng=np.random.default_rng(1), secure=False)
    assert stats.kstest(x, stats.laplace(scale=4.0).cdf).pvalue > 0.01
    assert stats.kstest(x, stats.laplace(scale=4.4).cdf).pvalue < 0.01

@pytest.mark.slow
def test_laplace_opendp_matches_distribution():
    x = laplace_mechanism(np.zeros(5000), sensitivity=1.0, eps=1.0, secure=True)
    assert stats.kstest(x, stats.laplace(scale=1.0).cdf).pvalue > 0.001
    assert stats.kstest(x, stats.laplace(scale=1.3).cdf).pvalue < 0.001

def test_gaussian_sigma_is_tight_and_below_classic():
    for eps, delta in [(0.1, 1e-5), (1.0, 1e-6), (4.0, 1e-5)]:
        s = gaussian_sigma(1.0, eps, delta)
        # tight: at sigma the privacy profile equals delta; a bit less noise breaks it
        assert math.isclose(_gauss_delta(s, eps), delta, rel_tol=1e-6)
        assert _gauss_delta(0.99 * s, eps) > delta
        if eps < 1: assert s < math.sqrt(2 * math.log(1.25 / delta)) / eps
    # independent check of the privacy profile: for the Gaussian mechanism, delta(eps) = P[L > eps] - e^eps P[L' > eps]
    # with privacy loss L ~ N(mu, 2mu), mu = 1/(2 sigma^2); estimate by simulation
    s, eps = gaussian_sigma(1.0, 1.0, 1e-3), 1.0
    mu = 1 / (2 * s**2)
    L = np.random.default_rng(0).normal(mu, math.sqrt(2 * mu), 2_000_000)
    est = np.mean(np.maximum(0, 1 - np.exp(eps - L)))
    assert abs(est - 1e-3) < 2e-4

def test_gaussian_numpy_scale():
    x = gaussian_mechanism(np.zeros(20_000), 1.0, 1.0, 1e-5, rng=np.random.default_rng(2), secure=False)
    assert abs(x.std() / gaussian_sigma(1.0, 1.0, 1e-5) - 1) < 0.03

@pytest.mark.parametrize("secure", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_exponential_mechanism_frequencies_match_closed_form(secure):
    u = np.array([0.0, 1.0, 3.0, 3.5])
    eps, sens = 1.0, 1.0
    p = np.exp(eps * u / (2 * sens)); p /= p.sum()
    n = 4000 if secure else 20_000
    rng = np.random.default_rng(3)
    picks = np.array([exponential_mechanism(u, eps, sens, rng=None if secure else rng, secure=secure) for _ in range(n)])
    counts = np.bincount(picks, minlength=4)
    # chi-square goodness of fit at alpha = 0.001; a mechanism ignoring the factor 2 (p ~ exp(eps u)) is rejected
    assert stats.chisquare(counts, n * p).pvalue > 0.001
    wrong = np.exp(eps * u / sens); wrong /= wrong.sum()
    assert stats.chisquare(counts, n * wrong).pvalue < 0.001

def test_exponential_probabilities_stable_for_large_utilities():
    p = exponential_probabilities([1e6, 1e6 + 2], eps=1.0, sensitivity=1.0)
    assert np.allclose(p, [1 / (1 + math.e), math.e / (1 + math.e)])

def test_ledger_sequential_and_parallel():
    led = PrivacyLedger()
    led.charge("a", 0.5); led.charge("b", 0.25, delta=1e-6)
    with led.parallel("cells"):
        led.charge("c", 1.0, branch=0); led.charge("c", 0.3, branch=1); led.charge("c2", 0.8, branch=1)
    with led.parallel("again"):
        led.charge("d", 0.1, delta=1e-7, branch="x")
    e, d = led.total()
    assert math.isclose(e, 0.5 + 0.25 + max(1.0, 1.1) + 0.1) and math.isclose(d, 1e-6 + 1e-7)
    assert len(led.frame()) == 6 and led.sound
    led.charge("claimed free", 0.0, sound=False)
    assert not led.sound and math.isclose(led.eps, e)
    with pytest.raises(ValueError, match="branch"):
        with led.parallel("p"): led.charge("x", 1.0)
    other = PrivacyLedger(); other.charge("z", 2.0)
    assert math.isclose(led.extend(other, prefix="sub/").eps, e + 2.0)


def _discrete_laplace_pmf(k, b):
    a = math.exp(-1 / b)
    return (1 - a) / (1 + a) * a ** np.abs(k)

@pytest.mark.parametrize("secure", [False, True])
def test_laplace_counts_match_discrete_laplace(secure):
    # chi-square of the noise against the discrete Laplace pmf of scale 2 (eps=0.5), and against scale 1 (eps=1):
    # a sampler with the scale halved is rejected. Integers in, integers out.
    n = 20_000 if not secure else 6_000
    rng = np.random.default_rng(4) if not secure else None
    out = laplace_counts(np.full(n, 50), 0.5, rng=rng, secure=secure)
    assert out.dtype == np.int64
    z = out - 50
    edges = np.arange(-8, 10)          # bins ..., -8, -7, ..., 8, >= 9 (tails pooled)
    obs = np.array([(z <= -8).sum()] + [(z == k).sum() for k in range(-7, 9)] + [(z >= 9).sum()])
    def expected(b):
        ks = np.arange(-7, 9)
        tail = _discrete_laplace_pmf(8, b) / (1 - math.exp(-1 / b))
        return n * np.r_[tail, _discrete_laplace_pmf(ks, b), tail * math.exp(-1 / b)]
    assert stats.chisquare(obs, expected(2.0)).pvalue > 0.001
    assert stats.chisquare(obs, expected(1.0) * obs.sum() / expected(1.0).sum()).pvalue < 0.001

def test_laplace_counts_refuse_floats():
    with pytest.raises(TypeError, match="integers"): laplace_counts(np.array([0.5]), 1.0)

@pytest.mark.parametrize("secure", [False, True])
def test_threshold_release_probability_of_a_singleton_is_below_delta(secure):
    # the share of releases in which a key of count 1 survives is the delta of the stability histogram;
    # with a large delta (0.05) it is measurable: observed frequency <= delta (binomial bound), and the
    # threshold one lower would exceed it
    eps, delta = 1.0, 0.05
    tau, _, d_map = count_threshold(eps, delta)   # the charged delta (closed form, >= OpenDP's map)
    n = 3000
    rng = np.random.default_rng(5) if not secure else None
    hits = sum(0 in threshold_counts(np.array([1, 100]), eps, delta, rng=rng, secure=secure)[0] for _ in range(n))
    assert stats.binomtest(hits, n, d_map, alternative="greater").pvalue > 0.001
    assert stats.binomtest(hits, n, d_map / 2.5, alternative="greater").pvalue < 0.001   # has power: a delta 2.5x too small is caught
    p_prev = sum(_discrete_laplace_pmf(k, 1 / eps) for k in range(tau - 2, 200))   # P[1 + Z >= tau - 1]
    assert p_prev > delta

def test_ledger_blocks_are_unique_per_release():
    led = PrivacyLedger()
    for _ in range(2):   # two releases, each with a parallel block of the same name
        with led.parallel("alg3_depth0"):
            led.charge("x", 1.0, branch=0); led.charge("x", 1.0, branch=1)
    assert math.isclose(led.eps, 2.0)
    one = PrivacyLedger()
    with one.parallel("alg3_depth0"): one.charge("x", 1.25, branch=0)
    assert math.isclose(PrivacyLedger().extend(one).extend(one).eps, 2.5)

def test_ledger_relation_and_release_ready():
    with pytest.raises(ValueError, match="relation"): PrivacyLedger(relation="bounded")
    a = PrivacyLedger("one window", "replace-one"); a.charge("dp-sgd", 1.0, sampler="opacus-secure")
    assert a.release_ready
    a.charge("study draw", 0.1, sampler="numpy")
    assert a.sound and not a.release_ready
    with pytest.raises(ValueError, match="compose"): PrivacyLedger("one window").extend(a)

def test_empty_ledger_is_not_release_ready():
    "A ledger with nothing planned, or only ε = δ = 0 steps (nothing spent), says so and is never release ready."
    planned = PrivacyLedger()
    assert planned.empty and planned.sound and not planned.release_ready
    assert "EMPTY" in repr(planned) and "release ready" not in repr(planned)
    assert "**empty**" in planned._repr_markdown_() and "release ready" not in planned._repr_markdown_()
    spent0 = PrivacyLedger(); spent0.charge("public grid", 0.0, sampler="opendp")
    assert spent0.empty and not spent0.release_ready and spent0.verdict().startswith("NOTHING SPENT")
    leak = PrivacyLedger(); leak.charge("paper: free", 0.0, sound=False)
    assert not leak.empty and leak.verdict() == "NOT SOUND"       # an unsound ε = 0 step is not "nothing spent"
    spent0.charge("laplace", 0.5, sensitivity=1, scale=2.0, sampler="opendp")
    assert not spent0.empty and spent0.release_ready and spent0.verdict() == "release ready"
