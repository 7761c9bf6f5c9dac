"The synthetic city: individual trajectories (no platoon duplicates), T-Drive-like sampling, the public box, physics, link speeds."
import numpy as np, pandas as pd, pytest
from trajstudy.core import validate_points, SensorSeries
from trajstudy.synthetic import synthetic_city, city_grid, line_graph, commuters

@pytest.fixture(scope="module")
def city():
    return synthetic_city(300, days=1, seed=5, gps_noise_m=0.0)

def _on_grid(pts, step_s=600):
    "Noise-free positions of every car on a common 10-minute grid (05:30-22:30), by linear interpolation of its fixes."
    t0 = pts["t"].min().normalize()
    grid = np.arange(5.5 * 3600, 22.5 * 3600, step_s)
    out = {}
    for u, g in pts.groupby("uid"):
        s = (g["t"] - t0).dt.total_seconds().to_numpy()
        out[u] = np.column_stack([np.interp(grid, s, g["x"]), np.interp(grid, s, g["y"])])
    return out

def test_every_vehicle_has_its_own_trajectory(city):
    assert city.info["simulated_vehicles"] == city.info["trips"] == 600     # platoon size 1: one uxsim vehicle per trip
    tr = _on_grid(city.points)
    keys = {np.round(a).astype(np.int64).tobytes() for a in tr.values()}
    assert len(tr) == 300 and len(keys) == 300                               # no two cars share a trajectory
    # not only the parked positions differ: the times at which cars are on the road differ too
    moving = {u: tuple(np.flatnonzero(np.hypot(*np.diff(a, axis=0).T) > 1)) for u, a in tr.items()}
    assert len(set(moving.values())) > 150

def test_sampling_box_and_validity(city):
    p = city.points
    assert p.attrs["synthetic"] is True and str(p["t"].dt.tz) == "Asia/Shanghai"
    again = validate_points(p)
    assert len(again) == len(p) and again.attrs["n_duplicates_dropped"] == 0
    gap = p.groupby("uid")["t"].diff().dt.total_seconds().dropna()
    assert gap.min() >= 179 and gap.max() <= 601 and 300 < gap.median() < 480
    assert city.box.contains(p["lat"], p["lon"]).all()
    assert p["t"].dt.hour.min() >= 5 and p["t"].dt.hour.max() <= 22

def test_no_car_is_faster_than_the_roads(city):
    p = city.points
    d = p.groupby("uid")[["x", "y"]].diff().dropna()
    dt = p.groupby("uid")["t"].diff().dt.total_seconds().loc[d.index]
    v = np.hypot(d["x"], d["y"]) / dt
    assert v.max() <= 50 / 3.6 * 1.02                 # straight-line speed between fixes never beats 50 km/h (fix times are whole seconds)
    assert (v > 5).mean() > 0.02                      # but cars do drive (commutes of ~10-30 min twice a day)

def test_link_speeds_are_a_sensor_series(city):
    s = city.speeds
    assert isinstance(s, SensorSeries) and s.shape == (288, 360) and s.missing_rate == 0
    assert np.isfinite(s.values).all() and s.values.max() <= 50 + 1e-9 and s.values.min() > 0
    night = s.values[:5 * 12]                           # 00:00-05:00: empty roads
    np.testing.assert_allclose(night, 50.0)
    assert s.values[6 * 12:10 * 12].min() < 50          # the morning peak slows some link
    A = line_graph(city_grid())
    deg = (A > 0).sum(1) - 1
    assert set(deg) == {1, 2, 3}                      # corner, edge, interior successors without U-turns

def test_generation_is_reproducible_and_seeded(city):
    same = synthetic_city(300, days=1, seed=5, gps_noise_m=0.0)
    pd.testing.assert_frame_equal(same.points, city.points)
    np.testing.assert_array_equal(same.speeds.values, city.speeds.values)
    other = commuters(300, city_grid(), np.random.default_rng(6))
    mine = commuters(300, city_grid(), np.random.default_rng(5))
    assert not np.array_equal(other.home_xy, mine.home_xy)

def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="days must be >= 1"): synthetic_city(10, days=0)
    with pytest.raises(ValueError, match="hours"): synthetic_city(10, hours=(20, 5))
    with pytest.raises(ValueError, match="at least 1 vehicle"): synthetic_city(0)

def test_bulk_entry_log_reads_the_same_trips_as_the_vehicle_logs():
    "enter_log_trips (uxsim's C++ link-entry log) against vehicle_log_trips (the documented per-vehicle logs), trip by trip."
    from trajstudy.synthetic import uxsim_world, enter_log_trips, vehicle_log_trips
    net = city_grid(4, 1000)
    rng = np.random.default_rng(9)
    o = rng.integers(0, 16, 300); d = (o + rng.integers(1, 16, 300)) % 16
    W, _, vs = uxsim_world(net, o, d, np.sort(rng.uniform(3600, 4000, 300)), 3500.0, seed=2, max_hours=3, keep_vehicle_logs=True)
    W.exec_simulation()
    assert all(v.state == "end" for v in vs)
    (ta, na), (tb, nb) = vehicle_log_trips(vs, o, d, net, 3500.0), enter_log_trips(W, vs, o, d, net, 3500.0)
    assert len(tb) == 300 and sum(len(x) > 3 for x in nb) > 200            # most trips cross several links
    for x, y in zip(ta + na, tb + nb): np.testing.assert_array_equal(x, y)
    for n in nb:                                                            # consecutive waypoints are neighbouring intersections
        steps = np.abs(np.diff(net.node_xy[n], axis=0)).sum(1)
        assert steps[0] == 0 and np.allclose(steps[1:], 1000)               # the first link starts at the origin

def test_generating_leaves_matplotlib_rcparams_unchanged():
    "uxsim's World sets the process-wide font.family to HackGen; generating must not leak it into later figures."
    import matplotlib as mpl
    with mpl.rc_context({"font.family": ["DejaVu Sans"]}):   # a known value, whatever ran before in this process
        before = mpl.rcParams.copy()
        synthetic_city(30, days=1, seed=1)
        after = mpl.rcParams.copy()
    # "backend" aside: matplotlib resolves its automatic backend on the first use of pyplot, and rc_context keeps that
    assert {k: (before[k], after[k]) for k in before if before[k] != after[k] and k != "backend"} == {}
