import numpy as np, pandas as pd, pytest
from scipy.spatial.distance import directed_hausdorff, cdist, jensenshannon
from hypothesis import given, settings, strategies as st, HealthCheck
from trajstudy.metrics import (hausdorff, dataset_hausdorff, trajectory_distance_matrix, range_query_counts, range_query_distortion,
                               random_range_queries, granularity, mae, rmse, mape, points_to_array)

@settings(max_examples=50, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 10_000))
def test_hausdorff_against_scipy(n, m, seed):
    r = np.random.default_rng(seed)
    a, b = r.normal(size=(n, 2)) * 1000, r.normal(size=(m, 2)) * 1000
    ref = max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0])
    assert np.isclose(hausdorff(a, b), ref)

def test_dataset_hausdorff_brute_force():
    r = np.random.default_rng(0)
    D, E = r.normal(size=(7, 5, 2)), r.normal(size=(4, 5, 2))
    M = np.array([[np.mean(np.linalg.norm(d - e, axis=1)) for e in E] for d in D])
    assert np.allclose(trajectory_distance_matrix(D, E, chunk=3), M)
    assert np.isclose(dataset_hausdorff(D, E), max(M.min(1).max(), M.min(0).max()))
    assert np.isclose(dataset_hausdorff(D, E, how="mean"), (M.min(1).mean() + M.min(0).mean()) / 2)
    with pytest.raises(ValueError, match="same time grid"): dataset_hausdorff(D, E[:, :3])

def test_range_queries_brute_force():
    r = np.random.default_rng(1)
    times = pd.date_range("2014-06-14 06:00", periods=12, freq="10min", tz="Asia/Shanghai")
    X = r.uniform(0, 3000, size=(40, 12, 2)); w = r.integers(1, 4, 40)
    Q = random_range_queries(200, X, times, radius=800, window="1h", rng=r)
    for kind, agg in (("psi", any), ("dai", all)):
        got = range_query_counts(X, times, Q, kind, weights=w)
        for qi in range(0, 200, 7):
            q = Q.iloc[qi]
            exp = 0
            for i in range(40):
                ins = [np.hypot(X[i, j, 0] - q.cx, X[i, j, 1] - q.cy) <= q.r for j, t in enumerate(times) if q.t0 <= t <= q.t1]
                exp += w[i] * (bool(ins) and agg(ins))
            assert got[qi] == exp

def test_distortion_and_errors():
    d = range_query_distortion([10, 0, 100], [12, 3, 100], sanity_bound=5)
    assert np.allclose(d, [0.2, 0.6, 0.0])
    with pytest.raises(ValueError, match="sanity_bound"): range_query_distortion([1], [1], 0)

def test_granularity_numeric_and_datetime():
    # half-open boxes: a raw 1-minute, 100 m sample spans 1 min and 0.1 + 0.1 km
    b = pd.DataFrame({"uid": [1, 2], "t_min": [0, 10], "t_max": [1, 20], "x_min": [0., 0.], "x_max": [100., 1000.],
                      "y_min": [0., 0.], "y_max": [200., 100.]})
    g = granularity(b)
    assert g["temporal_min"].tolist() == [1.0, 10.0] and np.allclose(g["spatial_km"], [0.3, 1.1])
    assert granularity(b, time_unit="10min")["temporal_min"].tolist() == [10.0, 100.0]

def test_forecast_errors_with_mask():
    y = np.array([[1., 2.], [3., 4.]]); yh = np.array([[2., 2.], [3., 0.]]); m = np.array([[True, True], [True, False]])
    assert np.isclose(mae(y, yh, m), 1 / 3) and np.isclose(rmse(y, yh, m), np.sqrt(1 / 3))
    assert np.isclose(mape(y, yh, m), 100 * (1 / 1) / 3)
    assert np.allclose(mae(y, yh, axis=0), [0.5, 2.0])
    with pytest.raises(ValueError, match="no observed"): mae(y, yh, np.zeros_like(m))

def test_points_to_array_refuses_ragged():
    from trajstudy.core import make_points
    p = make_points(uid=["a", "a", "b"], t=["2020-01-01 00:00", "2020-01-01 00:10", "2020-01-01 00:00"], lat=[1., 1, 1], lon=[1., 1, 1], tz="UTC")
    with pytest.raises(ValueError, match="not on the common grid"): points_to_array(p)

def test_hausdorff_readings_against_scipy_and_brute_force():
    from trajstudy.metrics import hausdorff_readings
    r = np.random.default_rng(4)
    D, E = r.normal(size=(9, 6, 2)) * 1000, r.normal(size=(5, 6, 2)) * 1000
    w = np.array([2, 0, 1, 1, 3])
    h = hausdorff_readings(D, E, w)
    Ek = E[w > 0]
    dv, ev_ = D.reshape(9, -1), Ek.reshape(len(Ek), -1)
    assert np.isclose(h["hausdorff_vector_max"], max(directed_hausdorff(dv, ev_)[0], directed_hausdorff(ev_, dv)[0]))
    V = cdist(dv, ev_)
    assert np.isclose(h["hausdorff_vector_mean"], (V.min(1).mean() + V.min(0).mean()) / 2)
    M = np.array([[np.linalg.norm(d - e, axis=1).mean() for e in Ek] for d in D])
    assert np.isclose(h["hausdorff_mean_step_max"], max(M.min(1).max(), M.min(0).max()))
    assert np.isclose(h["hausdorff_mean_step_mean"], (M.min(1).mean() + M.min(0).mean()) / 2)
    assert h["hausdorff_vector_max"] >= np.sqrt(6) * h["hausdorff_mean_step_max"] - 1e-9   # ||v|| = sqrt(T) RMS >= sqrt(T) mean
    assert all(np.isnan(v) for v in hausdorff_readings(D, E, np.zeros(5)).values())
    with pytest.raises(ValueError, match="one entry per path"): hausdorff_readings(D, E, np.ones(3))

def _grid_toy():
    from trajstudy.evaluate import CellGrid
    return CellGrid(0, 3000, 0, 3000, 1000.0)   # 3 x 3 cells, ids row by row

def test_suite_metrics_against_hand_computed_values():
    from trajstudy import evaluate as ev
    g = _grid_toy()
    D = [np.array([[500, 500], [1500, 500], [1500, 1500]]), np.array([[500, 500], [500, 1500]])]   # cells 0,1,4 and 0,3
    S = [np.array([[500, 500], [1500, 500]]), np.array([[2500, 2500], [2500, 2600]])]               # cells 0,1 and 8,8
    assert np.isclose(ev.density_error(D, S, g), jensenshannon([2, 1, 0, 1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0, 2], base=2) ** 2)
    # trips: D (0,4), (0,3); S (0,1), (8,8): disjoint supports
    assert np.isclose(ev.trip_error(D, S, g), 1.0)
    assert dict(ev.pattern_supports(D, g)) == {(0, 1): 1.0, (1, 4): 1.0, (0, 3): 1.0}
    assert dict(ev.pattern_supports(S, g)) == {(0, 1): 1.0}   # (8, 8) collapses to one cell: no pattern
    fp = ev.frequent_pattern_scores(D, S, g, top=3)
    assert np.isclose(fp["f1"], 2 * 1 / (3 + 1))
    # support error of D's top 3 in S (S rescaled by |D|/|S| = 1): (0,1): 0, (0,3): 1, (1,4): 1
    assert np.isclose(fp["support_error"], 2 / 3)
    rect = np.array([[0, 1000, 0, 1000]])   # cell 0, closed: D has 2 trajectories / 2 points there, S 1 / 1
    assert np.isclose(ev.query_avre(D, S, rect), 0.5)                                   # |2 - 1 * 2/2| / 2
    assert np.isclose(ev.query_avre(D, S, rect, count="points", bound="points"), 0.375)   # S rescaled to 5 points: |2 - 1 * 5/4| / 2
    # sanity bound dominates a query with a tiny true answer: Q(D) = 0, Q(S) = 2 points, b = 1% of 5 points
    far = np.array([[2000, 3000, 2000, 3000]])
    assert np.isclose(ev.query_avre(D, S, far, count="points", bound="points", normalize=False), 2 / 0.05)
    assert np.isclose(ev.query_avre(D, S, far, count="points", bound="trajectories", normalize=False), 2 / 0.02)

def test_zero_copy_trajectories_count_for_nothing():
    from trajstudy import evaluate as ev
    g = _grid_toy()
    r = np.random.default_rng(5)
    D = r.uniform(0, 3000, (12, 5, 2)); S = r.uniform(0, 3000, (6, 5, 2)); w = np.array([1, 0, 2, 0, 1, 3.0])
    rects = ev.random_rectangles(30, g, r)
    a = ev.utility_suite(D, S, g, rects, wS=w)
    b = ev.utility_suite(D, np.repeat(S, w.astype(int), axis=0), g, rects)
    assert a.keys() == b.keys() and all(np.isclose(a[k], b[k]) for k in a)

def test_coverage_kendall_and_ndcg_against_scipy_and_formula():
    from scipy.stats import kendalltau
    from trajstudy import evaluate as ev
    g = _grid_toy()
    r = np.random.default_rng(6)
    D = r.uniform(0, 3000, (30, 4, 2)); S = r.uniform(0, 3000, (20, 4, 2))
    cov = lambda X: np.array([sum(c in set(g.cells(t).tolist()) for t in X) for c in range(9)], float)
    cd, cs = cov(D), cov(S)
    assert np.isclose(ev.coverage_kendall(D, S, g), kendalltau(cd[cd > 0], cs[cd > 0]).statistic)
    hd = np.bincount(g.cells(D.reshape(-1, 2)), minlength=9); hs = np.bincount(g.cells(S.reshape(-1, 2)), minlength=9)
    order = np.argsort(-hs, kind="stable")[:3]
    dcg = sum(hd[c] / np.log2(i + 2) for i, c in enumerate(order)); idcg = sum(v / np.log2(i + 2) for i, v in enumerate(sorted(hd)[::-1][:3]))
    assert np.isclose(ev.hotspot_ndcg(D, S, g, k=3), dcg / idcg)
