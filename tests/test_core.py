import numpy as np, pandas as pd, pytest
from hypothesis import given, settings, strategies as st
from trajstudy.core import (make_points, validate_points, TrajArrays, SensorSeries, project_local, unproject_local,
                            gaussian_kernel_adjacency, pairwise_distances_m, validate_boxes, epoch_ns)

GOOD = dict(uid=["a", "a", "b"], t=["2014-06-14 08:00", "2014-06-14 08:10", "2014-06-14 09:00"],
            lat=[31.2, 31.21, 31.3], lon=[121.4, 121.41, 121.5], tz="Asia/Shanghai")

@pytest.mark.parametrize("field,value,match", [
    ("lat", [31.2, float("nan"), 31.3], "column lat has NaN"),
    ("lon", [121.4, float("inf"), 121.5], "column lon has NaN"),
    ("lat", [95.0, 31.2, 31.3], r"outside \[-90, 90\]"),
    ("lon", [121.4, 181.0, 121.5], r"outside \[-180, 180\]"),
    ("t", ["2014-06-14 08:00", "yesterday-ish", "2014-06-14 09:00"], "unparseable"),
    ("uid", ["a", None, "b"], "uid has missing"),
])
def test_bad_points_are_refused_with_the_column_named(field, value, match):
    with pytest.raises(ValueError, match=match):
        make_points(**{**GOOD, field: value})

def test_bad_row_is_named():
    with pytest.raises(ValueError, match=r"index \[1\]"):
        make_points(**{**GOOD, "lat": [31.2, 95.0, 31.3]})

def test_empty_and_missing_columns_and_naive_times():
    with pytest.raises(ValueError, match="empty"):
        validate_points(pd.DataFrame(columns=["uid", "t", "lat", "lon"]))
    with pytest.raises(ValueError, match="missing column"):
        validate_points(pd.DataFrame({"uid": [1], "t": [pd.Timestamp("2020-01-01", tz="UTC")], "lat": [1.0]}))
    with pytest.raises(ValueError, match="timezone-naive"):
        make_points(**{**GOOD, "tz": None})

def test_only_exact_duplicates_are_dropped_and_counted():
    d = make_points(uid=["a", "a", "a"], t=["2014-06-14 08:00"] * 3, lat=[31.2, 31.2, 31.3], lon=[121.4] * 3, tz="UTC")
    assert len(d) == 2 and d.attrs["n_duplicates_dropped"] == 1

def test_projection_against_haversine():
    lat = np.array([31.20, 31.25, 31.10]); lon = np.array([121.40, 121.45, 121.55])
    x, y, o = project_local(lat, lon)
    d_proj = np.hypot(x[:, None] - x[None], y[:, None] - y[None])
    d_true = pairwise_distances_m(lat, lon)
    assert np.allclose(d_proj, d_true, rtol=2e-3, atol=1)
    la, lo = unproject_local(x, y, o)
    assert np.allclose(la, lat) and np.allclose(lo, lon)

@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 10_000), st.floats(-60, 60), st.floats(-170, 170)),
                min_size=1, max_size=40))
def test_trajarrays_round_trip_is_lossless(rows):
    uid, t, lat, lon = zip(*rows)
    pts = make_points(uid=list(uid), t=pd.to_datetime(list(t), unit="s", utc=True), lat=list(lat), lon=list(lon))
    ta = TrajArrays.from_points(pts)
    assert ta.n_points == len(pts) and list(ta.lengths) == pts.groupby("uid", sort=True).size().tolist()
    back = ta.to_points()
    pd.testing.assert_frame_equal(back, pts[["uid", "t", "lat", "lon", "x", "y"]])
    assert np.all(np.diff(ta.t[ta.user_index == 0]) >= 0)

def test_epoch_ns_refuses_naive():
    with pytest.raises(ValueError, match="naive"):
        epoch_ns(pd.date_range("2020-01-01", periods=2))
    assert epoch_ns(pd.date_range("1970-01-01", periods=2, freq="s", tz="UTC")).tolist() == [0, 10**9]

def test_gaussian_kernel_matches_closed_form():
    d = np.array([[0, 1, 2], [1, 0, np.inf], [2, np.inf, 0.]])
    w = gaussian_kernel_adjacency(d, sigma=2.0, threshold=0.5)
    expect = np.exp(-(np.array([[0, 1, 2], [1, 0, 99], [2, 99, 0.]]) / 2) ** 2)
    expect[expect < 0.5] = 0
    assert np.allclose(w, expect)

def test_sensor_series_windows_and_errors():
    T, N = 10, 3
    v = np.arange(T * N, dtype=float).reshape(T, N)
    s = SensorSeries(v, np.ones((T, N), bool), pd.date_range("2020", periods=T, freq="5min"), np.arange(N), np.zeros((N, 2)), np.eye(N))
    w, m = s.windows(4)
    assert w.shape == (2, 4, 3) and (w[1, 0] == v[4]).all()
    w, _ = s.windows(4, stride=3)
    assert w.shape == (3, 4, 3) and (w[2, 0] == v[6]).all()
    with pytest.raises(ValueError, match="exceeds"): s.windows(11)
    with pytest.raises(ValueError, match="adjacency shape"):
        SensorSeries(v, np.ones((T, N), bool), s.timestamps, np.arange(N), np.zeros((N, 2)), np.eye(N + 1))
    with pytest.raises(ValueError, match="mask shape"):
        SensorSeries(v, np.ones((T, N + 1), bool), s.timestamps, np.arange(N), np.zeros((N, 2)), np.eye(N))

def test_boxes_contract():
    b = pd.DataFrame({"uid": [1], "t_min": [5], "t_max": [3], "x_min": [0.], "x_max": [1.], "y_min": [0.], "y_max": [1.]})
    with pytest.raises(ValueError, match="t_max < t_min"): validate_boxes(b)
    with pytest.raises(ValueError, match="missing"): validate_boxes(b.drop(columns="y_max"))
