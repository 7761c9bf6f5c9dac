"""End-to-end audits of the trajectory publishers (Hilbert partition and DPR), in both modes, with the mutants they catch.

Neighbours are add/remove of one trajectory (the ledgers' relation). D: 120 users within a few hundred metres of a
public landmark (People's Square, Shanghai) who stay put over T = 2 timestamps (so the sound releases publish a few
generalized trajectories with counts above the threshold); the candidate D' add one user far from everybody else
(8 km away, inside the public box) or a copy of an existing user. The claimed eps is the a-priori plan (`plan(...)`),
which every run checks the release's ledger equals, on both sides.

Power: for a deterministic leak (probability 1 vs 0) the bound with n runs per side and ALPHA = 1e-3 is
ln((1 - p) / p) with p = 1 - ALPHA**(1/n): 2.64 for n = 100, 3.06 for n = 150. Published modes are audited at claimed
eps = 1 with n_test = 100, the sound modes and the data-derived origin at eps = 2 with n_test = 150, all with the same
features (origin, number of
released records, extreme coordinates, counts): any of those features leaking (near) deterministically fails the test,
sound modes included. A leak through rarer events or subtler features is beyond this power. Run with `-s` to see the
`AUDIT` summary lines.
"""
import numpy as np
import pandas as pd
import pytest
from conftest import check_real, check_mutant

from trajstudy import dpr, hilbert_dp as hd
from trajstudy.audit import audit, n_released, release_origin
from trajstudy.core import PublicBox, make_points, unproject_local

ALPHA = 1e-3
LANDMARK = (31.2304, 121.4737)   # People's Square, Shanghai: a public point
HALF_M = 10_000
BOX = PublicBox.around(*LANDMARK, HALF_M, source="10 km around People's Square")
T, K = 2, 30
TIMES = pd.date_range("2026-01-05 08:00", periods=T, freq="10min", tz="Asia/Shanghai")


def base(n=120):
    g = np.random.default_rng(0)
    p0 = g.normal(0, 300, (n, 2))
    return np.stack([p0, p0 + g.normal(0, 30, (n, 2))], axis=1)


D = base()
D_FAR = np.vstack([D, np.full((1, T, 2), 8000.0)])   # one more user, alone far away
D_COPY = np.vstack([D, D[:1]])                       # one more user, where others are
PAIRS = [(D, D_FAR), (D, D_COPY)]


def _max_coord(r, i):
    return float(np.abs(r.paths[..., i]).max()) if len(r.paths) else np.nan


FEATURES = {
    "origin_lat": lambda r: release_origin(r, 0), "origin_lon": lambda r: release_origin(r, 1),
    "n_released": n_released, "n_published": lambda r: float(r.n_published),
    "max_abs_x": lambda r: _max_coord(r, 0), "max_abs_y": lambda r: _max_coord(r, 1),
    "total_count": lambda r: float(r.counts["count"].sum()),
    "first_count": lambda r: float(r.counts["count"].iat[0]) if len(r.counts) else np.nan,
}


def publisher(module, eps, k, mode, **kw):
    """mechanism(data, rng) for the audit; checks on every run that the ledger is the a-priori plan.

    It uses the reproducible study sampler (secure=False: numpy discrete Laplace and exponential choice, the same
    distributions as OpenDP's integer Laplace and Gumbel noisy max, about 8x faster here); the secure samplers
    themselves are audited in tests/test_audit.py."""
    expected = module.plan(eps, k, T, mode=mode, bounds=BOX, secure=False, **kw)
    def mech(data, rng):
        r = module.publish(data, eps, k, bounds=BOX, mode=mode, rng=rng, secure=False, **kw)
        assert r.ledger == expected, f"ledger differs from the plan: {r.ledger} vs {expected}"
        return r
    return mech, expected


# ---- published modes: caught ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_hilbert_published_is_caught():
    """Published Hilbert (k = 1, claimed eps = 1, the paper's total): the far user gets an area of their own whose centre
    is their exact position, and every generalized trajectory is published: max |x| >= 8000 with probability 1 vs 0."""
    mech, led = publisher(hd, 1.0, 1, "published")
    assert not led.sound
    res = audit(mech, pairs=PAIRS, features=FEATURES, claimed_eps=led.eps, n_select=20, n_test=100, alpha=ALPHA, seed=1)
    check_mutant("hilbert_dp published (k=1, eps=1)", res)


@pytest.mark.slow
def test_dpr_published_is_caught():
    """Published DPR (claimed eps = 1): fake trajectories are added until the release has exactly |D| of them, so the
    number of released records tells D (120) from D' (121) with certainty."""
    mech, led = publisher(dpr, 1.0, K, "published")
    res = audit(mech, pairs=PAIRS, features=FEATURES, claimed_eps=led.eps, n_select=20, n_test=100, alpha=ALPHA, seed=2)
    check_mutant("dpr published (k=30, eps=1)", res)


# ---- sound modes: within the plan ------------------------------------------------------------------------------------
SOUND_EPS, SOUND_DELTA = 2.0, 1e-3


@pytest.mark.slow
def test_hilbert_sound_within_plan():
    """Sound Hilbert (eps = 2, delta = 1e-3, public box, k = 30): within its plan on the worst of the
    candidate neighbours; the ledger equals `hilbert_dp.plan` on D and D'."""
    mech, led = publisher(hd, SOUND_EPS, K, "sound", delta=SOUND_DELTA)
    assert led.sound and led.total() == pytest.approx((SOUND_EPS, SOUND_DELTA))
    res = audit(mech, pairs=PAIRS, features=FEATURES, claimed_eps=led.eps, delta=led.delta, n_select=40, n_test=150,
                alpha=ALPHA, seed=3)
    check_real("hilbert_dp sound (k=30, eps=2, delta=1e-3)", res)


@pytest.mark.slow
def test_dpr_sound_within_plan():
    """Sound DPR (eps = 2, delta = 1e-3, public box, k = 30): within its plan; ledger = `dpr.plan`."""
    mech, led = publisher(dpr, SOUND_EPS, K, "sound", delta=SOUND_DELTA)
    assert led.sound
    res = audit(mech, pairs=PAIRS, features=FEATURES, claimed_eps=led.eps, delta=led.delta, n_select=40, n_test=150,
                alpha=ALPHA, seed=4)
    check_real("dpr sound (k=30, eps=2, delta=1e-3)", res)


# ---- mutant: the projection origin from the data's median (the old core.project_local default) ------------------------
def as_points(xy):
    "The trajectories as a lat/lon points table, projected about the landmark."
    n = len(xy)
    lat, lon = unproject_local(xy[..., 0].ravel(), xy[..., 1].ravel(), LANDMARK)
    return make_points(np.repeat(np.arange(n), T), np.tile(TIMES, n), lat, lon)


@pytest.mark.slow
@pytest.mark.parametrize("module", [hd, dpr], ids=["hilbert_dp", "dpr"])
def test_data_derived_origin_is_caught(module, monkeypatch):
    """Mutant: the release is projected about the median of the input (a box of the same size centred on the data),
    while the ledger still says sound. `Release.origin` then moves when a user is added: probability 1 vs 0. The audit is
    the sound tests' own (eps = 2, same pairs and features, n_test = 150: bound ~3.1), so those could fail."""
    real_grid, cache = hd.public_grid, {}
    def median_centred(trajs, bounds):   # deterministic in the data, so computed once per dataset
        if id(trajs) not in cache:
            centre = PublicBox.around(float(np.median(trajs["lat"])), float(np.median(trajs["lon"])), HALF_M)
            cache[id(trajs)] = real_grid(trajs, centre)
        return cache[id(trajs)]
    monkeypatch.setattr(module, "public_grid", median_centred)
    mech, led = publisher(module, SOUND_EPS, K, "sound", delta=SOUND_DELTA)
    assert led.sound
    pairs = [(as_points(D), as_points(D_FAR)), (as_points(D), as_points(D_COPY))]
    res = audit(mech, pairs=pairs, features=FEATURES, claimed_eps=led.eps, delta=led.delta, n_select=10, n_test=150,
                alpha=ALPHA, seed=5)
    check_mutant(f"{module.__name__.split('.')[-1]} sound, origin = data median", res)
    assert "origin" in str(res.event), res
