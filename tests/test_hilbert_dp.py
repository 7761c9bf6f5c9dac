"""Properties of trajstudy.hilbert_dp and trajstudy.dpr against independent references (brute force, closed forms)."""
import math
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from trajstudy import hilbert_dp as hd
from trajstudy import dpr
from trajstudy.privacy import PrivacyLedger


# ---------- an independent scalar Hilbert curve (d -> (x, y), the classic d2xy) ----------
def d2xy(n, d):
    x = y = 0
    s, t = 1, d
    while s < n:
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        if ry == 0:
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        x += s * rx
        y += s * ry
        t //= 4
        s *= 2
    return x, y


@pytest.mark.parametrize("order", [1, 2, 3, 4, 6])
def test_hilbert_index_inverts_reference_d2xy(order):
    n = 1 << order
    d = np.arange(n * n)
    xy = np.array([d2xy(n, int(i)) for i in d])
    np.testing.assert_array_equal(hd.hilbert_index(xy[:, 0], xy[:, 1], order), d)


@settings(max_examples=30, deadline=None)
@given(order=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_hilbert_index_random_cells_match_reference(order, seed):
    n = 1 << order
    rng = np.random.default_rng(seed)
    d = rng.integers(0, n * n, 50)
    xy = np.array([d2xy(n, int(i)) for i in d])
    np.testing.assert_array_equal(hd.hilbert_index(xy[:, 0], xy[:, 1], order), d)


def test_four_curves_are_bijective_continuous_and_distinct():
    n = 16
    gx, gy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    H = hd.hilbert_curves(gx.ravel(), gy.ravel(), 4)
    starts = set()
    for c in range(4):
        np.testing.assert_array_equal(np.sort(H[c]), np.arange(n * n))
        o = np.argsort(H[c])
        assert (np.abs(np.diff(gx.ravel()[o])) + np.abs(np.diff(gy.ravel()[o])) == 1).all()
        starts.add((gx.ravel()[o[0]], gy.ravel()[o[0]]))
    assert len(starts) == 4  # one curve starts in each corner


def test_hilbert_index_rejects_out_of_range():
    with pytest.raises(ValueError, match="cell coordinates"):
        hd.hilbert_index([4], [0], 2)


# ---------- location entropy and radii against brute force ----------
def brute_entropy(xy, cell):
    N, T, _ = xy.shape
    visits = defaultdict(Counter)
    for u in range(N):
        for t in range(T):
            visits[tuple(np.floor(xy[u, t] / cell).astype(int))][u] += 1
    H = {}
    for loc, c in visits.items():
        tot = sum(c.values())
        H[loc] = -sum(v / tot * math.log(v / tot) for v in c.values())
    return np.array([[H[tuple(np.floor(xy[u, t] / cell).astype(int))] for t in range(T)] for u in range(N)])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), N=st.integers(1, 12), T=st.integers(1, 6))
def test_location_entropy_matches_brute_force(seed, N, T):
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 4, (N, T, 2)) * 100.0 + 50 * rng.random((N, T, 2))
    np.testing.assert_allclose(hd.location_entropy(xy, 100.0), brute_entropy(xy, 100.0), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), A=st.integers(1, 6))
def test_area_radii_match_loop(seed, n, A):
    rng = np.random.default_rng(seed)
    xy = rng.normal(0, 1000, (n, 2)) + 5e4
    w = rng.random(n) + 0.1
    lab = rng.integers(0, A, n)
    got = hd.area_radii(xy, w, lab, A)
    for a in range(A):
        m = lab == a
        if not m.any():
            assert np.isnan(got[a])
            continue
        mu = (w[m, None] * xy[m]).sum(0) / w[m].sum()
        ref = math.sqrt((w[m] * ((xy[m] - mu) ** 2).sum(1)).sum() / w[m].sum())
        assert got[a] == pytest.approx(ref, rel=1e-6, abs=1e-6)


# ---------- partitions ----------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 200), k=st.integers(1, 30))
def test_partitions_are_contiguous_runs_of_at_least_k(seed, n, k):
    if k > n:
        return
    rng = np.random.default_rng(seed)
    xy = rng.normal(0, 3000, (n, 2))
    L = hd.hilbert_partitions(xy, k)
    order = hd.paper_order(n)
    b = (xy[:, 0].min(), xy[:, 0].max(), xy[:, 1].min(), xy[:, 1].max())
    H = hd.hilbert_curves(*hd.grid_cells(xy, b, order), order)
    for c in range(4):
        cnt = np.bincount(L[c])
        assert len(cnt) == n // k and cnt.min() >= k and cnt.max() - cnt.min() <= 1
        lab_along = L[c][np.lexsort((xy[:, 1], xy[:, 0], H[c]))]
        assert (np.diff(lab_along) >= 0).all()  # runs along the curve


def test_cut_by_mass_balances_mass():
    mass = np.ones(100)
    a = hd.cut_by_mass(mass, 10)
    assert a.max() + 1 == 10 and (np.bincount(a) == 10).all()
    assert (hd.cut_by_mass(np.zeros(5), 3) == 0).all()


def test_partition_utility_normalized():
    u = hd.partition_utility([5, 8, 10, 5])
    np.testing.assert_allclose(u, [1, 5 / 8, 1 / 2, 1])
    np.testing.assert_allclose(hd.partition_utility([0, 3, 0, 1]), [1, 0, 1, 0])


# ---------- Algorithms 2-4 ----------
def test_tra_division_budget_and_contiguity():
    rng = np.random.default_rng(0)
    v = np.sort(rng.integers(1, 100, 60))[::-1].astype(float)
    led = PrivacyLedger()
    gid = hd.tra_division(v, v, eps_div=1.0, eps_count=1.0, rng=rng, ledger=led)
    assert (np.diff(gid) >= 0).all()  # groups are runs of the sorted list
    assert led.eps < 1.0  # geometric series: < eps_div
    # the exact claim: depth d costs eps_div / 2**(d+1) once (parallel over groups)
    depths = sorted({c.block for c in led.charges})
    assert led.eps == pytest.approx(sum(1.0 / 2 ** (int(d.removeprefix("alg3_depth")) + 1) for d in depths))


def test_group_count_noise_has_laplace_scale():
    """All users identical: one generalized trajectory, one group; published count = N + Lap(1/eps_count)."""
    N = 50
    lab = np.zeros((N, 3), dtype=np.int64)
    centers = [np.zeros((1, 2))] * 3
    rng = np.random.default_rng(1)
    vals = [hd.release_counts(lab, centers, 1.0, 1.0, 0.5, rng, PrivacyLedger(), "published")[1]["count"].iat[0]
            for _ in range(3000)]
    assert np.mean(vals) == pytest.approx(N, abs=0.15)
    assert np.std(vals) == pytest.approx(math.sqrt(2) / 0.5, rel=0.06)


def test_support_threshold_survival_is_delta():
    """A count-1 generalized trajectory survives the sound threshold with probability delta."""
    rng = np.random.default_rng(2)
    delta, eps = 0.05, 1.0
    kept = sum(len(hd.count_sort(np.array([1]), eps, rng, mode="sound", delta=delta)[0]) for _ in range(20000))
    assert kept / 20000 == pytest.approx(delta, abs=0.006)


# ---------- publish ----------
def grid_points(N=40, T=6, seed=0):
    rng = np.random.default_rng(seed)
    home = rng.normal(0, 3000, (N, 2))
    xy = home[:, None] + rng.normal(0, 300, (N, T, 2))
    times = pd.date_range("2014-06-14 06:00", periods=T, freq="10min", tz="Asia/Shanghai")
    df = pd.DataFrame({"uid": np.repeat([f"u{i}" for i in range(N)], T), "t": np.tile(times, N),
                       "x": xy[..., 0].ravel(), "y": xy[..., 1].ravel()})
    from trajstudy.core import unproject_local
    df["lat"], df["lon"] = unproject_local(df["x"], df["y"], (31.2, 121.4))
    df.attrs["origin"] = (31.2, 121.4)
    return df, xy


@pytest.mark.parametrize("mod", [hd, dpr])
@pytest.mark.parametrize("mode", ["published", "sound"])
def test_publish_contract(mod, mode):
    df, xy = grid_points()
    box = (-2e4, 2e4, -2e4, 2e4)
    r = mod.publish(df, 20.0, 5, rng=np.random.default_rng(0), mode=mode, bounds=box)
    r2 = mod.publish(df, 20.0, 5, rng=np.random.default_rng(0), mode=mode, bounds=box)
    pd.testing.assert_frame_equal(r.counts, r2.counts)  # reproducible from the seed
    assert r.ledger.eps <= 20.0 + 1e-9
    assert r.ledger.sound == (mode == "sound")
    assert r.ledger.delta == (1e-5 if mode == "sound" else 0)
    assert r.paths.shape == (len(r.counts), 6, 2)
    pts = r.to_points()
    assert len(pts) == r.n_published * 6 and pts["uid"].nunique() == r.n_published
    assert set(r.counts.columns) >= {"gid", "count", "group", "n_copies", "fake"}
    # the same from a bare array
    ra = mod.publish(xy, 20.0, 5, rng=np.random.default_rng(0), mode=mode, bounds=box)
    assert ra.paths.shape[1:] == (6, 2)


def test_published_centres_are_exact_means_and_every_user_is_published():
    """Published mode with k=1 publishes every (distinct) trajectory exactly: the leak in one line."""
    df, xy = grid_points(N=12, T=3)
    r = hd.publish(xy, 1.0, 1, rng=np.random.default_rng(0), mode="published")
    got = {tuple(np.round(p.ravel(), 6)) for p in r.paths}
    want = {tuple(np.round(p.ravel(), 6)) for p in xy}
    assert got == want


def test_sound_mode_without_bounds_is_flagged():
    df, xy = grid_points()
    r = hd.publish(xy, 5.0, 5, rng=np.random.default_rng(0), mode="sound")
    assert not r.ledger.sound


def test_bad_inputs():
    df, xy = grid_points()
    rng = np.random.default_rng(0)
    for mod in (hd, dpr):
        with pytest.raises(ValueError, match="eps must be > 0"):
            mod.publish(df, 0, 5, rng=rng)
        with pytest.raises(ValueError, match="larger than the 40 points"):
            mod.publish(df, 1.0, 41, rng=rng)
        with pytest.raises(ValueError, match="unequal lengths"):
            mod.publish(df.iloc[1:], 1.0, 5, rng=rng)
        with pytest.raises(ValueError, match="positive integer"):
            mod.publish(df, 1.0, 0, rng=rng)
        with pytest.raises(TypeError, match="Generator"):
            mod.publish(df, 1.0, 5, rng=0)
    bad = df.copy()
    bad.loc[bad["uid"] == "u3", "t"] += pd.Timedelta("3min")
    with pytest.raises(ValueError, match="not on a common grid"):
        hd.publish(bad, 1.0, 5, rng=rng)
    irregular = df[df["t"] != df["t"].unique()[2]]
    with pytest.raises(ValueError, match="evenly spaced"):
        hd.publish(irregular, 1.0, 5, rng=rng)
    with pytest.raises(ValueError, match=r"shape \(N, T, 2\)"):
        hd.publish(xy[..., 0], 1.0, 5, rng=rng)


def test_dpr_fakes_fill_to_true_size():
    df, xy = grid_points(N=60, T=8)
    r = dpr.publish(xy, 1.0, 5, rng=np.random.default_rng(0), mode="published")
    assert r.info["n_fakes"] > 0
    assert len(r.counts) == 60  # the stopping rule reveals |D| exactly
    assert (r.counts.loc[r.counts["fake"], "n_copies"] >= 1).all()


@pytest.mark.parametrize("mod", [hd, dpr])
def test_secure_sampler_is_recorded(mod):
    df, xy = grid_points(N=30, T=3)
    r = mod.publish(xy, 20.0, 5, rng=np.random.default_rng(0), mode="sound", bounds=(-2e4, 2e4, -2e4, 2e4), secure=True)
    assert set(r.ledger.frame()["sampler"]) == {"opendp"}
