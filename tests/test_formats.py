"Round trips of every format of trajstudy.formats, on small generated tables (the lessons run them on the Shanghai day)."
import json
import numpy as np, pandas as pd, pytest
from hypothesis import given, settings, strategies as st
from trajstudy import evaluate as ev
from trajstudy.formats import (write_adatrace, read_adatrace, points_to_geojson, geojson_to_points, boxes_to_geojson,
                               read_points_csv, to_movingpandas, from_movingpandas, to_skmob_frame, from_skmob_frame)

def _points(n_users=4, T=6, seed=0, tz="Asia/Shanghai"):
    r = np.random.default_rng(seed)
    t = pd.date_range("2014-06-14 06:00", periods=T, freq="10min", tz=tz)
    rows = [dict(uid=f"u{u}", t=ti, lat=31.2 + r.normal(0, .05), lon=121.4 + r.normal(0, .05), x=r.normal(0, 1e3), y=r.normal(0, 1e3))
            for u in range(n_users) for ti in t]
    return pd.DataFrame(rows)

@settings(max_examples=30, deadline=None)
@given(trajs=st.lists(st.lists(st.tuples(st.floats(-1e7, 1e7), st.floats(-1e7, 1e7)), min_size=1, max_size=8), min_size=1, max_size=6))
def test_adatrace_round_trip_exact(trajs, tmp_path_factory):
    path = tmp_path_factory.mktemp("ada") / "t.dat"
    back = read_adatrace(write_adatrace([np.array(t) for t in trajs], path))
    assert len(back) == len(trajs) and all((b == np.array(t)).all() for b, t in zip(back, trajs))

def test_adatrace_reader_tolerates_lf_and_no_trailing_semicolon_and_names_bad_lines(tmp_path):
    (tmp_path / "a.dat").write_text("#0:\n>0:1,2;3,4\n\n#1:\n>0:5.5,6e3;\n")
    a, b = read_adatrace(tmp_path / "a.dat")
    assert a.tolist() == [[1, 2], [3, 4]] and b.tolist() == [[5.5, 6000.0]]
    (tmp_path / "b.dat").write_text("#0:\n>0:1,2;\nhello\n")
    with pytest.raises(ValueError, match="line 3"): read_adatrace(tmp_path / "b.dat")
    with pytest.raises(ValueError, match="NaN"): write_adatrace([np.array([[np.nan, 0.0]])], tmp_path / "c.dat")

def test_geojson_and_csv_round_trips(tmp_path):
    p = _points()
    back = geojson_to_points(points_to_geojson(p, tmp_path / "p.geojson"))
    ref = p.sort_values(["uid", "t"]).reset_index(drop=True)
    assert (back["lat"] == ref["lat"]).all() and (back["lon"] == ref["lon"]).all() and (back["t"] == ref["t"]).all()
    assert json.loads((tmp_path / "p.geojson").read_text())["features"][0]["geometry"]["type"] == "LineString"
    p.to_csv(tmp_path / "p.csv", index=False)
    c = read_points_csv(tmp_path / "p.csv")
    assert (c["t"] == p["t"]).all() and np.allclose(c["lon"], p["lon"], rtol=0, atol=1e-12)

def test_boxes_to_geojson_corners():
    b = pd.DataFrame({"uid": [7], "t_min": [0], "t_max": [5], "x_min": [0.0], "x_max": [2000.0], "y_min": [-1000.0], "y_max": [0.0]})
    ring = boxes_to_geojson(b, (31.2, 121.4))["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    assert np.isclose(ring[0][1], 31.2 - 1000 / 111_195, atol=1e-5) and np.isclose(ring[2][1], 31.2)   # south-west, then north-east

def test_movingpandas_round_trip_and_reprojection():
    pytest.importorskip("movingpandas", reason="movingpandas is an optional extra (in trajstudy's dev extra): pip install movingpandas")
    p = _points(n_users=3)
    tc = to_movingpandas(p)
    assert len(tc) == 3 and tc.trajectories[0].df.index.tz is None   # movingpandas keeps naive (UTC) times
    back = from_movingpandas(tc, tz="Asia/Shanghai")
    ref = p.sort_values(["uid", "t"], kind="stable").reset_index(drop=True)
    assert back["uid"].tolist() == ref["uid"].tolist() and (back["t"] == ref["t"]).all()
    for c in ("lat", "lon", "x", "y"): assert (back[c].to_numpy() == ref[c].to_numpy()).all(), c
    import movingpandas as mpd
    merc = mpd.TrajectoryCollection(tc.to_point_gdf().to_crs("EPSG:3857"), traj_id_col="uid")
    m = from_movingpandas(merc)
    assert np.allclose(m["lat"], ref["lat"], rtol=0, atol=1e-9) and str(m["t"].dt.tz) == "UTC"
    with pytest.raises(ValueError, match="timezone-aware"): to_movingpandas(p.assign(t=p["t"].dt.tz_localize(None)))

def test_skmob_columns_round_trip(tmp_path):
    p = _points()
    sk = to_skmob_frame(p, tz="Asia/Shanghai")
    assert sk.columns.tolist()[:4] == ["uid", "datetime", "lat", "lng"] and sk["datetime"].dt.tz is None
    assert str(sk["datetime"].iat[0]) == "2014-06-14 06:00:00"
    sk.to_csv(tmp_path / "sk.csv", index=False)
    back = from_skmob_frame(pd.read_csv(tmp_path / "sk.csv"), tz="Asia/Shanghai")
    ref = p.sort_values(["uid", "t"], kind="stable").reset_index(drop=True)
    assert (back["t"] == ref["t"]).all() and np.allclose(back["lon"], ref["lon"], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="missing"): from_skmob_frame(sk.drop(columns="datetime"))

def test_peer_output_scores_like_the_release(tmp_path):
    r = np.random.default_rng(3)
    paths = r.uniform(0, 10_000, (5, 8, 2)); copies = np.array([1, 0, 3, 2, 1])
    D = r.uniform(0, 10_000, (20, 8, 2))
    S = read_adatrace(write_adatrace(np.repeat(paths, copies, axis=0), tmp_path / "peer.dat"))
    g = ev.CellGrid(0, 10_000, 0, 10_000, 2000.0); rects = ev.random_rectangles(50, g, r)
    a, b = ev.utility_suite(D, S, g, rects), ev.utility_suite(D, paths, g, rects, wS=copies)
    assert a.keys() == b.keys() and all(np.isclose(a[k], b[k], rtol=0, atol=1e-12) for k in a)
