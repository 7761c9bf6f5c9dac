import numpy as np, pandas as pd, pytest
from scipy.spatial.distance import directed_hausdorff, cdist
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
