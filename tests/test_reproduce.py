"The reproduction engine: task seeds, atomic collection, Dask runs identical to serial ones, failures reported."
import json
from pathlib import Path
import nbformat, pytest
from conftest import ROOT, needs
from trajstudy.reproduce import (Experiment, reproduce, run_experiment, task_seed, execute_experiment, collect_outputs, main)

def _nb(folder, *sources, name="scratch"):
    cells = [nbformat.v4.new_code_cell("output_dir = ''\nprofile = ''\nseed = 0", metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}})
    p = Path(folder).resolve() / f"{name}.ipynb"; nbformat.write(nb, p)
    return str(p)

DRAWS = ("import numpy as np, pandas as pd\nfrom trajstudy.reproduce import save_table\n"
         "save_table(pd.DataFrame({'x': np.random.default_rng(seed).normal(size=8)}), output_dir, 'draws')")

def test_every_setting_is_a_parameter_papermill_finds_in_its_notebook():
    "A settings.ini key the notebook's parameters cell does not declare (or that papermill cannot parse) is a typo or a broken cell."
    from papermill.inspection import inspect_notebook
    from trajstudy.reproduce import load_settings
    study, exps = load_settings()
    for e in exps.values():
        declared = set(inspect_notebook(str(ROOT / "nbs" / e.notebook)))
        for profile in study["profiles"]:
            unknown = set(e.parameters(profile)) - declared
            assert not unknown, f"{e.name} ({profile}): {sorted(unknown)} not found in the parameters cell of {e.notebook}"

def test_task_seeds_depend_on_the_key_only():
    assert task_seed(5, "a") == 5                       # experiment tasks keep the study seed (published tables unchanged)
    s = [task_seed(5, e, i, j) for e in ("a", "b") for i in range(3) for j in range(50)]
    assert len(set(s)) == len(s)
    assert task_seed(5, "a", 1, 2) == task_seed(5, "a", 1, 2) != task_seed(6, "a", 1, 2)
    with pytest.raises(ValueError, match="cell indices"): task_seed(5, "a", -1)

def test_failed_rerun_keeps_the_earlier_results(tmp_path):
    good = Experiment("e", _nb(tmp_path, DRAWS, name="good"), outputs=["draws.csv"], params={"quick": {}})
    r = run_experiment(good, "quick", 3, tmp_path / "out")
    assert r.status == "ok" and r.seed == 3 and r.worker.startswith("local:") and r.started < r.finished
    before = (tmp_path / "out/e/draws.csv").read_bytes()
    bad = Experiment("e", _nb(tmp_path, "raise ValueError('eps must be > 0, got 0')", name="bad"), params={"quick": {}})
    r2 = run_experiment(bad, "quick", 3, tmp_path / "out")
    assert r2.status == "failed" and "eps must be > 0" in r2.error
    assert (tmp_path / "out/e/draws.csv").read_bytes() == before and (tmp_path / "out/e.failed/bad.ipynb").exists()
    assert not any(p.name.startswith(".") for p in (tmp_path / "out").iterdir())    # no partial folder left behind
    # missing outputs are a failure too
    r3 = collect_outputs(*execute_experiment(Experiment("m", good.notebook, outputs=["nope.csv"], params={"quick": {}}), "quick", 3), tmp_path / "out")
    assert r3.status == "missing outputs" and "nope.csv" in r3.error

@pytest.mark.slow
def test_a_running_scheduler_is_used_and_named_in_the_manifest(tmp_path):
    from distributed import LocalCluster
    ini = tmp_path / "settings.ini"
    ini.write_text(f"[study]\nseed = 11\nprofiles = quick\n[one]\nnotebook = {_nb(tmp_path, DRAWS, name='one')}\noutputs = draws.csv\n")
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        dist = reproduce("quick", settings=ini, out_root=tmp_path / "d", scheduler=cluster.scheduler_address, quiet=True)
        workers = set(cluster.scheduler_info["workers"])
    assert [(r.name, r.status) for r in dist] == [("one", "ok")] and dist[0].worker in workers
    man = json.loads((tmp_path / "d/manifest.json").read_text())
    assert man["engine"]["kind"] == "dask scheduler" and set(man["engine"]["workers"]) == workers
    assert man["engine"]["cells_on_cluster"] is False      # its workers offer no `notebook` resource: notebooks keep their cells
    assert man["experiments"]["one"]["seconds"] > 0 and man["experiments"]["one"]["worker"] in workers

@needs("shanghai-telecom")
@pytest.mark.slow
def test_quick_datasets_on_two_dask_workers_equals_serial_and_a_broken_notebook_is_reported(tmp_path, monkeypatch, capsys):
    "`trajstudy reproduce --profile quick --jobs 2` gives the tables and figures of `--jobs 1`, byte for byte; a broken notebook fails alone, reported."
    from trajstudy.reproduce import load_settings
    study, exps = load_settings()
    ds = exps["datasets"]
    quick = "".join(f"quick.{k} = {v!r}\n" for k, v in ds.parameters("quick").items())
    broken = _nb(tmp_path, "x = 1", "raise ValueError('eps must be > 0, got 0')", name="broken")
    ini = tmp_path / "settings.ini"
    ini.write_text(f"[study]\nseed = {study['seed']}\nprofiles = quick\n"
                   f"[datasets]\nnotebook = {ROOT / 'nbs' / ds.notebook}\noutputs = {' '.join(ds.outputs)}\n{quick}"
                   f"[broken]\nnotebook = {broken}\n")
    tables = {}
    for jobs in (1, 2):
        monkeypatch.setenv("TRAJSTUDY_RESULTS", str(tmp_path / f"jobs{jobs}"))
        assert main(["reproduce", "--settings", str(ini), "--profile", "quick", "--jobs", str(jobs)]) == 1   # one experiment failed
        said = capsys.readouterr().out
        assert "broken: failed" in said and "(cell 4): ValueError: eps must be > 0, got 0" in said and "datasets: ok" in said
        d = tmp_path / f"jobs{jobs}" / "quick"
        tables[jobs] = {p.name: p.read_bytes() for p in sorted((d / "datasets").iterdir()) if p.suffix in (".csv", ".md", ".png", ".pdf")}
        man = json.loads((d / "manifest.json").read_text())
        assert man["engine"]["kind"] == ("serial" if jobs == 1 else "dask LocalCluster") and len(man["engine"]["workers"]) == jobs
        runs = man["experiments"]
        assert runs["datasets"]["status"] == "ok" and runs["broken"]["status"] == "failed" and runs["broken"]["failing_cell"] == 4
        assert "eps must be > 0" in runs["broken"]["error"] and (d / "broken.failed").is_dir() and not (d / "broken").exists()
        if jobs == 2: assert all(r["worker"].startswith("tcp://") for r in runs.values())
    assert len(tables[1]) == len(ds.outputs) and tables[1] == tables[2], [n for n in tables[1] if tables[1][n] != tables[2].get(n)]

def _cell(n, eps, seed):
    "A grid cell of a Laplace-mean sweep; n = 0 fails."
    import numpy as np
    return float(np.random.default_rng(seed).laplace(0, 1 / (n * eps), size=3).sum())

GRID = [{"n": n, "eps": e} for n in (10, 0, 100) for e in (0.5, 1.0)]

def test_cells_get_their_own_stable_seeds_and_a_failing_cell_is_reported(tmp_path, monkeypatch):
    from trajstudy.reproduce import map_cells
    monkeypatch.delenv("TRAJSTUDY_SCHEDULER", raising=False)
    a = map_cells(_cell, GRID, "sweep", study_seed=7, timings=tmp_path / "t.json")
    b = map_cells(_cell, GRID, "sweep", study_seed=7)
    assert [r.seed for r in a] == [r.seed for r in b] == [task_seed(7, "sweep", i) for i in range(len(GRID))]
    assert len({r.seed for r in a}) == len(GRID) and [r.seed for r in map_cells(_cell, GRID, "other", 7)] != [r.seed for r in a]
    assert [r.value for r in a] == [r.value for r in b] and [r.cell for r in a] == GRID
    assert [r.error for r in a] == [None, None] + ["ZeroDivisionError: float division by zero"] * 2 + [None, None]
    assert all(isinstance(r.value, float) for r in a if r.error is None) and all(r.worker.startswith("local:") for r in a)
    t = json.loads((tmp_path / "t.json").read_text())
    assert t["engine"] == "serial" and [c["seed"] for c in t["cells"]] == [r.seed for r in a] and all(c["seconds"] >= 0 for c in t["cells"])

@pytest.mark.slow
def test_cells_on_two_dask_workers_equal_serial(monkeypatch):
    from distributed import LocalCluster
    from trajstudy.reproduce import map_cells
    serial = map_cells(_cell, GRID, "sweep", study_seed=7, scheduler="")
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        monkeypatch.setenv("TRAJSTUDY_SCHEDULER", cluster.scheduler_address)   # what reproduce sets for a notebook's kernel
        dist = map_cells(_cell, GRID, "sweep", study_seed=7)
        workers = set(cluster.scheduler_info["workers"])
    assert [(r.index, r.seed, r.value, r.error) for r in dist] == [(r.index, r.seed, r.value, r.error) for r in serial]
    assert {r.worker for r in dist} <= workers

CELLS_NB = ("import json\nfrom trajstudy.reproduce import map_cells\n"
            "def f(i, seed): import numpy as np, time; time.sleep(0.2); return float(np.random.default_rng(seed).normal())\n"
            "res = map_cells(f, list(range(4)), 'nested', 5, timings=f'{output_dir}/cell_timings.json')\n"
            "json.dump([[r.seed, r.value, r.worker] for r in res], open(f'{output_dir}/cells.json', 'w'))")

def _most_at_once(runs):
    "The largest number of runs whose [started, finished] intervals overlap."
    from datetime import datetime
    ev = sorted((datetime.fromisoformat(t), d) for r in runs for t, d in ((r.started, 1), (r.finished, -1)))
    n = most = 0
    for _, d in ev: n += d; most = max(most, n)
    return most

@pytest.mark.slow
def test_notebooks_on_every_worker_submitting_cells_do_not_deadlock(tmp_path):
    "Three notebooks on a 2-worker cluster each submit cells to it: the cells run (the notebook tasks secede) and still at most 2 notebooks run at a time."
    ini = tmp_path / "settings.ini"
    ini.write_text(f"[study]\nseed = 11\nprofiles = quick\n" +
                   "".join(f"[{n}]\nnotebook = {_nb(tmp_path, CELLS_NB, name=n)}\noutputs = cells.json\n" for n in "abc"))
    out = {}
    for jobs in (1, 2):
        rs = reproduce("quick", settings=ini, out_root=tmp_path / f"j{jobs}", jobs=jobs, quiet=True)
        assert sorted((r.name, r.status) for r in rs) == [("a", "ok"), ("b", "ok"), ("c", "ok")], [r.error for r in rs]
        assert _most_at_once(rs) <= jobs, [(r.name, r.started, r.finished) for r in rs]   # --jobs N: N notebooks at a time, not all of them
        out[jobs] = [json.loads((tmp_path / f"j{jobs}/{n}/cells.json").read_text()) for n in "abc"]
        man = json.loads((tmp_path / f"j{jobs}/manifest.json").read_text())
        assert [c["seed"] for c in man["experiments"]["a"]["cell_timings"]["cells"]] == [task_seed(5, "nested", i) for i in range(4)]
        assert man["engine"]["cells_on_cluster"] == (jobs == 2)
    assert [[c[:2] for c in o] for o in out[1]] == [[c[:2] for c in o] for o in out[2]]
    assert all(c[2].startswith("local:") for o in out[1] for c in o) and all(c[2].startswith("tcp://") for o in out[2] for c in o)
