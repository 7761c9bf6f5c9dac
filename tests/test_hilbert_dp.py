"""Properties of trajstudy.hilbert_dp and trajstudy.dpr against independent references (brute force, closed forms)."""
import math
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from trajstudy import hilbert_dp as hd
from trajstudy import dpr
from trajstudy.privacy import PrivacyLedger, count_threshold
from trajstudy.core import PublicBox, unproject_local


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
def test_tra_division_contiguity_and_a_priori_charge():
    rng = np.random.default_rng(0)
    v = np.sort(rng.integers(1, 100, 60))[::-1]
    gid = hd.tra_division(v, v.astype(float), eps_div=1.0, eps_count=1.0, rng=rng, secure=False)
    assert (np.diff(gid) >= 0).all()  # groups are runs of the sorted list
    # the plan charges depth d at eps_div / 2**(d+1) for every depth up to max_depth (parallel over the groups)
    led = hd.plan(10.0, 5, 6, bounds=PublicBox.around(31.2, 121.4, 2e4), max_depth=7)
    alg3 = led.frame().query("mechanism == 'exponential: Alg 3 split points'")["eps"].to_numpy()
    np.testing.assert_allclose(alg3, 10.0 * 0.1 / 2 ** np.arange(1, 8))


def test_group_count_noise_has_discrete_laplace_scale():
    """All users identical: one generalized trajectory, one group; published count = N + discrete Laplace(1/eps_count)."""
    N = 50
    lab = np.zeros((N, 3), dtype=np.int64)
    centers = [np.zeros((1, 2))] * 3
    rng = np.random.default_rng(1)
    vals = np.array([hd.release_counts(lab, centers, 1.0, 1.0, 0.5, rng, "published", secure=False)[1]["count"].iat[0]
                     for _ in range(3000)])
    a = math.exp(-0.5)
    assert (vals == np.round(vals)).all()   # integer noise on an integer sum
    assert np.mean(vals) == pytest.approx(N, abs=0.15)
    assert np.std(vals) == pytest.approx(math.sqrt(2 * a) / (1 - a), rel=0.06)


def test_support_threshold_survival_is_at_most_delta():
    """A count-1 generalized trajectory survives the sound threshold with probability <= delta (and not far below)."""
    rng = np.random.default_rng(2)
    delta, eps = 0.05, 1.0
    kept = sum(len(hd.count_sort(np.array([1]), eps, rng, mode="sound", delta=delta, secure=False)[0]) for _ in range(20000))
    tau, _, d = count_threshold(eps, delta)
    assert kept / 20000 == pytest.approx(d, abs=0.006) and d <= delta


# ---------- publish ----------
def grid_points(N=40, T=6, seed=0):
    """Trajectories on a grid around (31.2, 121.4); the public box is a 40 km square centred there."""
    rng = np.random.default_rng(seed)
    home = rng.normal(0, 3000, (N, 2))
    xy = home[:, None] + rng.normal(0, 300, (N, T, 2))
    times = pd.date_range("2014-06-14 06:00", periods=T, freq="10min", tz="Asia/Shanghai")
    df = pd.DataFrame({"uid": np.repeat([f"u{i}" for i in range(N)], T), "t": np.tile(times, N),
                       "x": xy[..., 0].ravel(), "y": xy[..., 1].ravel()})
    df["lat"], df["lon"] = unproject_local(df["x"], df["y"], (31.2, 121.4))
    df.attrs["origin"] = (31.2, 121.4)
    return df, xy


def box():
    return PublicBox.around(31.2, 121.4, 2e4, source="test")


@pytest.mark.parametrize("mod", [hd, dpr])
@pytest.mark.parametrize("mode", ["published", "sound"])
def test_publish_contract(mod, mode):
    df, xy = grid_points()
    b = box()
    r = mod.publish(df, 20.0, 5, bounds=b, rng=np.random.default_rng(0), secure=False, mode=mode)
    r2 = mod.publish(df, 20.0, 5, bounds=b, rng=np.random.default_rng(0), secure=False, mode=mode)
    pd.testing.assert_frame_equal(r.counts, r2.counts)  # reproducible from the seed
    assert r.ledger.eps <= 20.0 + 1e-9
    assert r.ledger.sound == (mode == "sound") and not r.ledger.release_ready
    assert r.ledger.delta == (1e-5 if mode == "sound" else 0)
    assert r.paths.shape == (len(r.counts), 6, 2)
    assert r.origin == b.centre
    pts = r.to_points()
    assert len(pts) == r.n_published * 6 and pts["uid"].nunique() == r.n_published
    assert set(r.counts.columns) == {"gid", "count", "group", "n_copies"}   # released values only
    assert not hasattr(r, "info")
    # the same from a bare array of metres about the box centre
    ra = mod.publish(xy, 20.0, 5, bounds=b, rng=np.random.default_rng(0), secure=False, mode=mode)
    assert ra.paths.shape[1:] == (6, 2)
    assert ra.ledger == r.ledger


@pytest.mark.parametrize("mod", [hd, dpr])
def test_neighbours_get_the_same_origin_and_ledger_and_integer_opendp_counts(mod):
    """Done-means of the privacy issue: D and D' (one more user, far away) at the same public parameters."""
    df, xy = grid_points(N=40)
    far, _ = grid_points(N=1, seed=9)
    far["uid"] = "extra"
    far["lat"] += 0.1; far["lon"] += 0.1   # ~11 km away: it would move a median origin and a data bounding box
    Dp = pd.concat([df, far], ignore_index=True)
    b = box()
    r, diag = mod.publish(df, 50.0, 5, bounds=b, return_diagnostics=True)
    rp, diagp = mod.publish(Dp, 50.0, 5, bounds=b, return_diagnostics=True)
    assert r.origin == rp.origin == b.centre
    assert r.ledger == rp.ledger == mod.plan(50.0, 5, 6, bounds=b)
    assert r.ledger.total() == rp.ledger.total()
    assert r.ledger.release_ready and set(r.ledger.frame()["sampler"]) == {"opendp"}
    assert diag["n_trajectories"] == 40 and diagp["n_trajectories"] == 41
    # counts are integers drawn by OpenDP (sound DPR counts directly; Hilbert's shared group counts are
    # noisy integer sums divided by the public group sizes)
    if mod is dpr:
        assert (r.counts["count"] == np.round(r.counts["count"])).all()
    else:
        sizes = r.counts.groupby("group")["count"].transform("size")
        assert np.allclose(r.counts["count"] * sizes, np.round(r.counts["count"] * sizes))
    # without a public box the origin moves with the data, and the ledger says so
    raw, rawp = (d.drop(columns=["x", "y"]) for d in (df, Dp))   # as loaded: x, y about the input's median
    raw.attrs, rawp.attrs = {}, {}
    u, up = mod.publish(raw, 50.0, 5, bounds=None), mod.publish(rawp, 50.0, 5, bounds=None)
    assert u.origin != up.origin and not u.ledger.sound


def test_two_composed_releases_cost_the_sum_of_their_plans():
    b = box()
    p1, p2 = hd.plan(2.0, 5, 6, bounds=b), dpr.plan(3.0, 5, 6, bounds=b)
    df, _ = grid_points()
    both = PrivacyLedger(hd.UNIT).extend(hd.publish(df, 2.0, 5, bounds=b).ledger).extend(dpr.publish(df, 3.0, 5, bounds=b).ledger)
    assert both.total()[0] == pytest.approx(p1.eps + p2.eps)
    assert both.total()[1] == pytest.approx(p1.delta + p2.delta)
    again = PrivacyLedger(hd.UNIT).extend(p1).extend(p1)   # the same release twice is charged twice
    assert again.eps == pytest.approx(2 * p1.eps)


def test_published_centres_are_exact_means_and_every_user_is_published():
    """Published mode with k=1 publishes every (distinct) trajectory exactly: the leak in one line."""
    df, xy = grid_points(N=12, T=3)
    r = hd.publish(xy, 1.0, 1, bounds=None, rng=np.random.default_rng(0), secure=False, mode="published")
    got = {tuple(np.round(p.ravel(), 6)) for p in r.paths}
    want = {tuple(np.round(p.ravel(), 6)) for p in xy}
    assert got == want


def test_sound_mode_without_bounds_is_flagged():
    df, xy = grid_points()
    r = hd.publish(xy, 5.0, 5, bounds=None, rng=np.random.default_rng(0), secure=False)
    assert not r.ledger.sound
    assert "geometry from the data" in set(r.ledger.frame()["mechanism"])


def test_bad_inputs():
    df, xy = grid_points()
    rng = np.random.default_rng(0)
    b = box()
    for mod in (hd, dpr):
        with pytest.raises(ValueError, match="eps must be > 0"):
            mod.publish(df, 0, 5, bounds=b)
        with pytest.raises(ValueError, match="larger than the 40 points"):
            mod.publish(df, 1.0, 41, bounds=b, rng=rng, secure=False, mode="published")
        with pytest.raises(ValueError, match="unequal lengths"):
            mod.publish(df.iloc[1:], 1.0, 5, bounds=b)
        with pytest.raises(ValueError, match="positive integer"):
            mod.publish(df, 1.0, 0, bounds=b)
        with pytest.raises(TypeError, match="Generator"):
            mod.publish(df, 1.0, 5, bounds=b, rng=0, secure=False)
        with pytest.raises(TypeError, match="PublicBox"):
            mod.publish(df, 1.0, 5, bounds=(-2e4, 2e4, -2e4, 2e4))
        with pytest.raises(TypeError):
            mod.publish(df, 1.0, 5)   # bounds must be said, even if None
    bad = df.copy()
    bad.loc[bad["uid"] == "u3", "t"] += pd.Timedelta("3min")
    with pytest.raises(ValueError, match="not on a common grid"):
        hd.publish(bad, 1.0, 5, bounds=b)
    irregular = df[df["t"] != df["t"].unique()[2]]
    with pytest.raises(ValueError, match="evenly spaced"):
        hd.publish(irregular, 1.0, 5, bounds=b)
    with pytest.raises(ValueError, match=r"shape \(N, T, 2\)"):
        hd.publish(xy[..., 0], 1.0, 5, bounds=b)


def test_dpr_fakes_fill_to_true_size():
    df, xy = grid_points(N=60, T=8)
    r, diag = dpr.publish(xy, 1.0, 5, bounds=None, rng=np.random.default_rng(0), secure=False, mode="published", return_diagnostics=True)
    assert diag["n_fakes"] > 0
    assert len(r.counts) == 60  # the stopping rule reveals |D| exactly
    assert (r.counts.loc[diag["fake"], "n_copies"] >= 1).all()
    assert "Diagnostics(NOT PRIVATE" in repr(diag)


@pytest.mark.parametrize("mod", [hd, dpr])
def test_plan_needs_no_data_and_shows_noise_scales(mod):
    led = mod.plan(5.0, 20, 36, bounds=box())
    f = led.frame()
    assert led.release_ready and (f["scale"].notna() | (f["eps"] == 0)).all()
    hist = f[f["mechanism"].str.contains("cell histogram")]
    assert len(hist) == 36 and np.allclose(hist["scale"], 1 / hist["eps"])
    assert (f["opendp_eps"].dropna() <= f.loc[f["opendp_eps"].notna(), "eps"] + 1e-12).all()
    assert "Privacy ledger" in led._repr_markdown_() and "release ready" in repr(led)
