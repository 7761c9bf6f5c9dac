import io, lzma, os, shutil, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest
from conftest import needs, ROOT
from trajstudy import data as D
from trajstudy.data import (load, datasets, read_shanghai_telecom, read_tdrive, read_plt, resample_grid, shanghai_grid, snap, download,
                            ChecksumError, REGISTRY, tree_sha256)

def test_registry_is_complete():
    t = datasets()
    for col in ("source", "citation", "license", "stands_in_for", "description"):
        assert (t[col].str.len() > 5).all(), col
    for ds in REGISTRY.values():
        for f in ds.files: assert len(f.sha256) == 64 and (f.original is None or len(f.original_sha256) == 64)

def test_data_readme_lists_every_dataset_and_checksum():
    text = (ROOT / "data" / "README.md").read_text()
    for ds in REGISTRY.values():
        assert f"`{ds.name}`" in text
        for f in ds.files: assert f.sha256 in text

def test_tdrive_parser_on_original_format(tmp_path):
    (tmp_path / "1.txt").write_text("1,2008-02-02 15:36:08,116.51172,39.92123\n1,2008-02-02 15:46:08,116.51135,39.93883\n")
    (tmp_path / "2.txt").write_text("2,2008-02-02 13:33:52,116.36422,39.88781\n")
    p = read_tdrive(tmp_path)
    assert len(p) == 3 and str(p["t"].dt.tz) == "Asia/Shanghai" and p["lat"].between(39, 40).all()
    (tmp_path / "3.txt").write_text("3,2008-02-02 13:33:52,116.36422\n")
    with pytest.raises(ValueError, match="3.txt: line 1"): read_tdrive(tmp_path)
    (tmp_path / "3.txt").write_text("3,2008-02-02 13:33:52,116.3,95.0\n")
    with pytest.raises(ValueError, match="outside"): read_tdrive(tmp_path)

def test_shanghai_parser_rules(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text("3.23\t3.30\t31.2\t121.4\tu1\n23.50\t0.10\t31.3\t121.5\tu1\n5.00\t5.00\t31.2\t121.4\tu2\n"
                 "6.00\t6.05\t0.0\t0.0\tu2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                   # counted in attrs, never warned
        p = read_shanghai_telecom(f, "2014-06-14")
    assert p.attrs["n_zero_coords_dropped"] == 1 and p.attrs["n_records"] == 4
    u1 = p[p.uid == "u1"]["t"].dt.strftime("%d %H:%M").tolist()
    assert u1 == ["14 03:23", "14 03:30", "14 23:50", "15 00:10"]      # midnight crossing goes to the next day
    assert (p.uid == "u2").sum() == 1                                    # zero-length session: one sample
    with pytest.raises(ValueError, match="0,0"): read_shanghai_telecom(f, "2014-06-14", zero_coords="error")
    f.write_text("3.75\t3.80\t31.2\t121.4\tu1\n")
    with pytest.raises(ValueError, match="not H.MM"): read_shanghai_telecom(f, "2014-06-14")

@needs("shanghai-telecom")
def test_shanghai_counts_match_data_readme(shanghai):
    # data README: 40,960 records, 3,131 at 0,0, 3,285 users with positions on 14 June
    assert shanghai.attrs["n_records"] == 40_960 and shanghai.attrs["n_zero_coords_dropped"] == 3131
    assert shanghai["uid"].nunique() == 3285
    # nothing lost: every sample of every kept record is in the table or an exact duplicate of one that is
    raw = pd.read_csv(REGISTRY["shanghai-telecom"].root / "data_6_14.txt.xz", sep="\t", header=None, dtype=str)
    raw = raw[~((raw[2].astype(float) == 0) & (raw[3].astype(float) == 0))]
    n_samples = 2 * len(raw) - int((raw[0] == raw[1]).sum())
    assert len(shanghai) + shanghai.attrs["n_duplicates_dropped"] == n_samples
    assert str(shanghai["t"].dt.tz) == "Asia/Shanghai"

@needs("shanghai-telecom")
def test_resample_grid_against_brute_force(shanghai):
    g = resample_grid(shanghai)
    assert g.groupby("uid").size().eq(36).all() and g["t"].dt.strftime("%H:%M").min() == "06:00"
    # brute force for a few users: last sample at or before each grid time, at most 2 h old
    grid_t = pd.date_range("2014-06-14 06:00", "2014-06-14 11:50", freq="10min", tz="Asia/Shanghai")
    users = list(g["uid"].unique()[:5]) + list(set(shanghai["uid"]) - set(g["uid"]))[:20]
    for u in users:
        s = shanghai[shanghai.uid == u]
        complete, pos = True, []
        for t in grid_t:
            prev = s[s["t"] <= t]
            if len(prev) == 0 or t - prev["t"].iloc[-1] > pd.Timedelta("2h"): complete = False; break
            pos.append((prev["x"].iloc[-1], prev["y"].iloc[-1]))
        assert complete == (u in set(g["uid"])), u
        if complete: assert np.allclose(g[g.uid == u][["x", "y"]].to_numpy(), pos)
    assert g.attrs["n_users_incomplete"] + g["uid"].nunique() == g.attrs["n_users_seen"]

@needs("shanghai-telecom")
def test_snap(shanghai):
    s = snap(shanghai, cell_m=100, time_bin="1min")
    assert np.allclose((s["x"] / 100 - 0.5) % 1, 0) and (s["t"].dt.second == 0).all()
    assert len(s) + s.attrs["n_merged"] == len(shanghai)

@needs("los-loop")
def test_los_loop():
    s = load("los-loop")
    assert s.shape == (2016, 207) and s.values.min() == 1.0 and s.values.max() == 70.0
    assert s.timestamps[0] == pd.Timestamp("2012-03-01", tz="America/Los_Angeles")
    assert np.allclose(np.diag(s.adjacency), 1) and (s.adjacency > 0).sum() == 1722
    assert s.node_ids[:3].tolist() == ["773869", "767541", "767542"]
    assert load("los-loop", adjacency="los").adjacency.shape == (207, 207)

@needs("geolife")
def test_geolife():
    g = load("geolife")
    assert g["uid"].nunique() == 11 and g["trip"].nunique() == 111
    assert len(g) + g.attrs["n_duplicates_dropped"] == 164_531     # the data README's count of fixes

@pytest.mark.parametrize("name", ["melbourne-parking", "sdwpf", "montevideo-bus"])
def test_other_sensor_series(name):
    if not REGISTRY[name].present(): pytest.skip(f"dataset {name} is not in the data directory")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Melbourne parking")   # areas without a bay in the snapshots (counted)
        s = load(name)
    expect = {"melbourne-parking": (66, 29), "sdwpf": (288, 134), "montevideo-bus": (744, 675)}[name]
    assert s.shape == expect and np.isfinite(s.values[s.mask]).all()
    if name == "sdwpf": assert (~s.mask).sum() == 160            # the 160 empty Patv cells of the data README
    if name == "montevideo-bus": assert s.values.sum() == 374_595 and s.values.max() == 101

def _fake_data_dir(tmp_path, name):
    dst = tmp_path / REGISTRY[name].folder
    shutil.copytree(REGISTRY[name].root, dst)
    return dst

@needs("metr-la")
def test_checksum_mismatch_names_file_and_sums(tmp_path, monkeypatch):
    dst = _fake_data_dir(tmp_path, "metr-la")
    p = dst / "graph_sensor_locations.csv"
    p.write_text(p.read_text().replace("34.15497", "34.15498"))
    monkeypatch.setenv("TRAJSTUDY_DATA", str(tmp_path))
    with pytest.raises(ChecksumError, match=r"graph_sensor_locations.csv: expected sha256 eb8ea96e.*got [0-9a-f]{64}"):
        load("metr-la")

@needs("los-loop")
def test_original_uncompressed_file_is_accepted_and_checked(tmp_path, monkeypatch):
    dst = _fake_data_dir(tmp_path, "los-loop")
    raw = lzma.decompress((dst / "los_speed.csv.xz").read_bytes())
    (dst / "los_speed.csv.xz").unlink(); (dst / "los_speed.csv").write_bytes(raw)
    shutil.copytree(REGISTRY["metr-la"].root, tmp_path / "metr-la")
    monkeypatch.setenv("TRAJSTUDY_DATA", str(tmp_path))
    assert load("los-loop").shape == (2016, 207)

@needs("metr-la")
def test_download_verifies_checksums(tmp_path, monkeypatch):
    src = REGISTRY["metr-la"].root
    monkeypatch.setenv("TRAJSTUDY_DATA", str(tmp_path / "data")); (tmp_path / "data").mkdir()
    out = download("metr-la", base_url=src.as_uri() + "/")
    assert sorted(p.name for p in out.iterdir()) == sorted(f.path for f in REGISTRY["metr-la"].files)
    bad = tmp_path / "bad"; shutil.copytree(src, bad); (bad / "adj_mx.pkl").write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match="nothing was kept"):
        download("metr-la", force=True, base_url=bad.as_uri() + "/")
    assert not (out / "adj_mx.pkl.part").exists()

def test_missing_dataset_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJSTUDY_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="download"): load("los-loop")
    with pytest.raises(FileNotFoundError, match="read_tdrive"): load("tdrive")
    with pytest.raises(KeyError, match="unknown dataset"): load("nope")
    with pytest.raises(RuntimeError, match="no public URL"): download("melbourne-parking")

def test_synthetic_city_is_cached_by_its_parameters_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJSTUDY_DATA", str(tmp_path))
    t = datasets()
    assert t.loc["synthetic-city", "synthetic"] and t.loc["synthetic-city-speeds", "synthetic"] and not t.loc["geolife", "synthetic"]
    assert t.loc["synthetic-city", "description"].startswith("SYNTHETIC")
    pts = load("synthetic-city", vehicles=150, days=1, seed=2)
    files = sorted(p.name for p in (tmp_path / "synthetic-city").iterdir())
    assert len(files) == 2 and files[0].endswith(".npz") and files[1].endswith(".sha256")
    again = load("synthetic-city", vehicles=150, days=1, seed=2)                    # from the cache
    pd.testing.assert_frame_equal(pts, again)
    fresh = load("synthetic-city", vehicles=150, days=1, seed=2, cache=False)       # generated again: the same city
    pd.testing.assert_frame_equal(pts, fresh)
    sp = load("synthetic-city-speeds", vehicles=150, days=1, seed=2)
    assert sp.shape == (288, 360) and "SYNTHETIC" in sp.name and len(list((tmp_path / "synthetic-city").iterdir())) == 2
    assert pts.attrs["synthetic"] and REGISTRY["synthetic-city"].public_box.contains(pts["lat"], pts["lon"]).all()
    assert D.synthetic_cache_key(D._city_params(150, 1, 2)) != D.synthetic_cache_key(D._city_params(150, 1, 3))
    with pytest.raises(TypeError, match="no parameter"): load("synthetic-city", vehicles=10, colour="red")
    npz = tmp_path / "synthetic-city" / files[0]
    b = bytearray(npz.read_bytes()); b[300] ^= 0xFF; npz.write_bytes(bytes(b))
    with pytest.raises(ChecksumError, match="generated again"): load("synthetic-city", vehicles=150, days=1, seed=2)


@needs("shanghai-telecom")
def test_shanghai_grid_is_the_studys_grid():
    g = resample_grid(load("shanghai-telecom", day="2014-06-14"))
    full = shanghai_grid()
    pd.testing.assert_frame_equal(full[g.columns], g)
    assert full.attrs["n_zero_coords_dropped"] == 3131 and full.attrs["n_users_seen"] == g.attrs["n_users_seen"]
    box30 = shanghai_grid(half_box_m=30_000)
    assert box30["uid"].nunique() + box30.attrs["n_users_outside_box"] == g["uid"].nunique()
    assert box30.attrs["public_box"].contains(box30["lat"], box30["lon"]).all()
    assert shanghai_grid(half_box_m=3_000)["uid"].nunique() < box30["uid"].nunique()   # a smaller square keeps fewer users
