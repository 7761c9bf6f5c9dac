"""Tests of trajstudy.forecast (forecasters, errors, TSTR/TRTR, fidelity) and trajstudy.sensor_formats."""
import json, math, sys
import numpy as np
import pandas as pd
import pytest
import torch

from trajstudy import forecast as fc


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _waves(W=150, T=8, N=4, seed=0):
    "Windows of sinusoids with a per-node phase: predictable from their past."
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 50, W)[:, None, None]
    t = start + np.arange(T)[None, :, None]
    return 10 + 5 * np.sin(t / 2 + np.arange(N)[None, None, :])


def _chain(N=4):
    a = np.zeros((N, N))
    for i in range(N - 1): a[i, i + 1] = a[i + 1, i] = 1.0
    return a


def test_split_and_sliding_windows():
    v = np.arange(30.).reshape(10, 3)
    w, m = fc.sliding_windows(v, 4)
    assert w.shape == (7, 4, 3) and m.all()
    np.testing.assert_array_equal(w[2], v[2:6])
    x, y, mx, my = fc.split_windows(w, 3)
    assert x.shape == (7, 3, 3) and y.shape == (7, 1, 3)
    with pytest.raises(ValueError, match="t_in must be in"):
        fc.split_windows(w, 4)


@pytest.mark.parametrize("kind", ["gru", "graph"])
def test_forecasters_learn_a_predictable_signal(kind):
    w = _waves()
    f = fc.fit_forecaster(w, t_in=6, kind=kind, adjacency=_chain(), epochs=60, lr=1e-2, rng=np.random.default_rng(0))
    test = _waves(40, seed=1)
    err = fc.forecast_errors(f, test)
    naive = np.abs(test[:, 6:] - test[:, 5:6]).mean()          # last value carried forward
    mean_pred = np.abs(test[:, 6:] - w.mean()).mean()
    assert err.set_index("horizon").loc[0, "mae"] < 0.5 * naive < mean_pred


def test_forecast_errors_match_numpy_and_respect_mask():
    w = _waves(60)
    f = fc.fit_forecaster(w, t_in=6, kind="gru", epochs=2, rng=np.random.default_rng(0))
    test = _waves(30, seed=2)
    mask = np.ones(test.shape, bool); mask[:10, 7, :] = False; mask[0, 6, 0] = False
    err = fc.forecast_errors(f, test, mask, mape_min_abs=0.0).set_index("horizon")
    p = f.predict(test[:, :6])
    y, m = test[:, 6:], mask[:, 6:]
    for h in range(2):
        d = np.abs(y[:, h] - p[:, h])[m[:, h]]
        assert err.loc[h + 1, "mae"] == pytest.approx(d.mean())
        assert err.loc[h + 1, "rmse"] == pytest.approx(np.sqrt((d ** 2).mean()))
        assert err.loc[h + 1, "mape"] == pytest.approx(100 * (d / np.abs(y[:, h][m[:, h]])).mean())
    assert err.loc[0, "mae"] == pytest.approx(np.abs(y - p)[m].mean())


def test_tstr_on_noise_is_worse_than_trtr():
    w, test = _waves(150), _waves(40, seed=3)
    junk = np.random.default_rng(0).uniform(5, 15, w.shape)
    r = fc.tstr_trtr(w, junk, test, t_in=6, adjacency=_chain(), kinds=("gru",), epochs=40, lr=1e-2, rng=np.random.default_rng(0))
    a = r[r.horizon == 0].set_index("setting").mae
    assert a["TSTR"] > 2 * a["TRTR"]
    with pytest.raises(ValueError, match="do not match"):
        fc.tstr_trtr(w, junk[:, :5], test, t_in=4, rng=np.random.default_rng(0))


def test_fidelity_against_closed_forms():
    rng = np.random.default_rng(0)
    phi, W, T, N = 0.8, 40, 400, 3
    x = np.zeros((W, T, N))
    e = rng.normal(size=(W, T, N))
    x[:, 0] = e[:, 0] / np.sqrt(1 - phi ** 2)
    for t in range(1, T): x[:, t] = phi * x[:, t - 1] + e[:, t]
    f = fc.fidelity(x, x[::-1].copy(), max_lag=3)
    np.testing.assert_allclose(f["acf"].real, [phi, phi ** 2, phi ** 3], atol=0.03)   # AR(1): rho_k = phi^k
    np.testing.assert_allclose(f["nodes"].real_mean, x.mean(axis=(0, 1)))
    np.testing.assert_allclose(f["nodes"].real_std, x.std(axis=(0, 1)))
    np.testing.assert_allclose(f["corr_real"], np.corrcoef(x.reshape(-1, N).T), atol=1e-12)
    assert f["summary"]["mean_abs_diff"] == pytest.approx(0, abs=1e-12)


def test_graph_mismatch():
    with pytest.raises(ValueError, match="graph has 5 nodes"):
        fc.fit_forecaster(_waves(20), t_in=6, kind="graph", adjacency=_chain(5), epochs=1, rng=np.random.default_rng(0))


# ---------------------------------------------------------------- sensor_formats
from trajstudy import sensor_formats as sf


def _frame():
    idx = pd.date_range("2012-03-01", periods=10, freq="5min")
    rng = np.random.default_rng(0)
    v = rng.uniform(0, 70, (10, 3)); v[2, 1] = 0.0
    return pd.DataFrame(v, index=idx, columns=["773869", "767541", "767542"])


def test_h5py_parser_matches_pandas_reader(tmp_path):
    pytest.importorskip("tables"); pytest.importorskip("h5py")
    df = _frame()
    df["count"] = np.arange(10)                      # a second block (int64)
    df.to_hdf(tmp_path / "a.h5", key="df")
    ref = pd.read_hdf(tmp_path / "a.h5", "df")
    got = sf.read_pandas_h5_h5py(tmp_path / "a.h5", "df")
    pd.testing.assert_frame_equal(got, ref, check_freq=False, check_index_type=False)
    df2 = _frame(); df2.columns = [1, 2, 3]; df2.index = df2.index.tz_localize("America/Los_Angeles")
    df2.to_hdf(tmp_path / "b.h5", key="speed")
    got2 = sf.read_pandas_h5_h5py(tmp_path / "b.h5", "speed")
    pd.testing.assert_frame_equal(got2, pd.read_hdf(tmp_path / "b.h5", "speed"), check_freq=False, check_index_type=False)


def test_read_pandas_h5_without_pytables(tmp_path, monkeypatch):
    pytest.importorskip("tables"); pytest.importorskip("h5py")
    _frame().to_hdf(tmp_path / "m.h5", key="df")
    monkeypatch.setitem(sys.modules, "tables", None)       # import tables -> ImportError: the h5py path runs
    got = sf.read_pandas_h5(tmp_path / "m.h5")
    np.testing.assert_array_equal(got.to_numpy(), _frame().to_numpy())


def test_read_metr_la_h5(tmp_path):
    pytest.importorskip("tables")
    from types import SimpleNamespace
    _frame().to_hdf(tmp_path / "m.h5", key="df")
    g = SimpleNamespace(node_ids=np.array(["767542", "773869", "767541"]), coords=np.zeros((3, 2)), adjacency=np.eye(3))
    s = sf.read_metr_la_h5(tmp_path / "m.h5", g, tz="America/Los_Angeles")
    assert list(s.node_ids) == ["767542", "773869", "767541"]
    np.testing.assert_array_equal(s.values[:, 1], _frame()["773869"].to_numpy())
    assert not s.mask[2, 2] and np.isnan(s.values[2, 2]) and s.mask.sum() == 29   # the zero is missing
    assert str(s.timestamps.tz) == "America/Los_Angeles"
    dst = _frame(); dst.index = pd.date_range("2012-03-11 01:30", periods=10, freq="10min")   # 02:00-02:59 does not exist
    dst.to_hdf(tmp_path / "dst.h5", key="df")
    assert sf.read_metr_la_h5(tmp_path / "dst.h5", g).timestamps.tz is None
    with pytest.raises(ValueError, match="daylight saving"):
        sf.read_metr_la_h5(tmp_path / "dst.h5", g, tz="America/Los_Angeles")
    g2 = SimpleNamespace(node_ids=np.array(["767542", "999"]), coords=np.zeros((2, 2)), adjacency=np.eye(2))
    with pytest.raises(ValueError, match="graph does not match"):
        sf.read_metr_la_h5(tmp_path / "m.h5", g2)


def test_read_windmill_json(tmp_path):
    block = np.arange(12.).reshape(4, 3)
    (tmp_path / "w.json").write_text(json.dumps({"block": block.tolist(), "edges": [[0, 1], [2, 1]], "weights": [0.5, 2.0]}))
    s = sf.read_windmill_json(tmp_path / "w.json")
    np.testing.assert_array_equal(s.values, block)
    assert s.adjacency[0, 1] == 0.5 and s.adjacency[2, 1] == 2.0 and s.adjacency.sum() == 2.5
    assert s.timestamps[1] - s.timestamps[0] == pd.Timedelta("1h")
    (tmp_path / "x.json").write_text(json.dumps({"block": block.tolist(), "edges": [[0, 1]], "weights": [0.5, 1.0]}))
    with pytest.raises(ValueError, match="1 edges but 2 weights"):
        sf.read_windmill_json(tmp_path / "x.json")
    (tmp_path / "y.json").write_text(json.dumps({"block": block.tolist(), "edges": [[0, 1]]}))
    with pytest.raises(ValueError, match="no 'weights' field"):
        sf.read_windmill_json(tmp_path / "y.json")


def test_persistence_is_the_last_observed_value_brute_force():
    rng = np.random.default_rng(0)
    x = rng.normal(50, 5, (6, 4, 3)); m = rng.random(x.shape) > 0.3
    p = fc.persistence_forecast(x, m, horizon=2)
    for b in range(6):
        for n in range(3):
            obs = [t for t in range(4) if m[b, t, n]]
            want = x[b, obs[-1], n] if obs else (x[b][m[b]].mean() if m[b].any() else 0.0)
            assert p[b, 0, n] == pytest.approx(want) and p[b, 1, n] == pytest.approx(want)


def test_historical_average_table_and_errors_brute_force():
    rng = np.random.default_rng(1)
    v = rng.normal(40, 3, (48, 2)); slots = np.arange(48) % 4
    tab = fc.historical_average_table(v, slots, 5)
    for s in range(4): np.testing.assert_allclose(tab[s], v[slots == s].mean(0))
    np.testing.assert_allclose(tab[4], v.mean(0))                      # an unseen slot takes the sensor's mean
    w, wm = fc.sliding_windows(v, 4)
    ws, _ = fc.sliding_windows(slots[:, None].astype(float), 4)
    e = fc.baseline_errors(w, 2, wm, ws[:, :, 0].astype(int), tab)
    ha = e[(e.forecaster == "historical average") & (e.horizon == 0)].mae.item()
    ref = np.mean([abs(w[i, t, n] - tab[slots[i + t], n]) for i in range(len(w)) for t in (2, 3) for n in range(2)])
    assert ha == pytest.approx(ref)
    pe = e[(e.forecaster == "persistence") & (e.horizon == 0)].mae.item()
    assert pe == pytest.approx(np.mean(np.abs(w[:, 2:] - w[:, 1:2])))


def test_fit_forecaster_takes_exactly_the_given_gradient_steps():
    w = np.random.default_rng(0).normal(50, 5, (100, 6, 3))
    calls = []
    import torch
    orig = torch.optim.Adam.step
    def counting(self, *a, **k):
        calls.append(1); return orig(self, *a, **k)
    torch.optim.Adam.step = counting
    try:
        fc.fit_forecaster(w, t_in=4, rng=np.random.default_rng(0), steps=7, batch_size=32, hidden=4)
        n7 = len(calls); calls.clear()
        fc.fit_forecaster(w[:10], t_in=4, rng=np.random.default_rng(0), steps=7, batch_size=32, hidden=4)
        n7b = len(calls); calls.clear()
        fc.fit_forecaster(w, t_in=4, rng=np.random.default_rng(0), epochs=2, batch_size=32, hidden=4)
        ne = len(calls)
    finally:
        torch.optim.Adam.step = orig
    assert n7 == n7b == 7 and ne == 2 * 4                                # same steps whatever the set size; epochs as before


def test_wasserstein_and_congested_share_against_closed_forms():
    rng = np.random.default_rng(0)
    r = rng.normal(50, 5, (400, 4, 2)); s = r + 3.0                     # a shift by 3: W1 is exactly 3
    np.testing.assert_allclose(fc.wasserstein_per_sensor(r, s), [3.0, 3.0], atol=1e-9)
    w = np.array([[[30.], [45.], [39.9], [np.nan]]])
    assert fc.congested_share(w, 40) == pytest.approx(2 / 3)


def test_discriminative_score_tells_collapse_and_noise_apart_but_not_same_distribution():
    rng = np.random.default_rng(0)
    real = 50 + 10 * np.sin(np.arange(8)[None, :, None] / 2 + rng.uniform(0, 6, (300, 1, 3))) + rng.normal(0, 1, (300, 8, 3))
    same = 50 + 10 * np.sin(np.arange(8)[None, :, None] / 2 + rng.uniform(0, 6, (300, 1, 3))) + rng.normal(0, 1, (300, 8, 3))
    collapsed = np.repeat(real[:1], 300, axis=0) + rng.normal(0, 0.1, (300, 8, 3))   # one mode only
    assert fc.discriminative_score(real, same, np.random.default_rng(1)) < 0.65
    assert fc.discriminative_score(real, collapsed, np.random.default_rng(1)) > 0.9
    assert math.isnan(fc.discriminative_score(real[:2], same[:2], np.random.default_rng(1)))
