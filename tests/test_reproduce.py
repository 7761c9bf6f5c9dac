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
def test_dask_scheduler_run_matches_serial_and_reports_a_failure(tmp_path):
    from distributed import LocalCluster
    ini, bad = tmp_path / "settings.ini", _nb(tmp_path, "x = 1", "raise RuntimeError('boom in a cell')", name="bad")
    ini.write_text(f"[study]\nseed = 11\nprofiles = quick\n[one]\nnotebook = {_nb(tmp_path, DRAWS, name='one')}\noutputs = draws.csv\n"
                   f"[two]\nnotebook = {_nb(tmp_path, DRAWS, name='two')}\noutputs = draws.csv\n"
                   f"[bad]\nnotebook = {bad}\n")
    serial = {r.name: r for r in reproduce("quick", settings=ini, out_root=tmp_path / "s", quiet=True)}
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        dist = {r.name: r for r in reproduce("quick", settings=ini, out_root=tmp_path / "d", scheduler=cluster.scheduler_address, quiet=True)}
    assert {n: r.status for n, r in dist.items()} == {"one": "ok", "two": "ok", "bad": "failed"}
    assert "RuntimeError: boom in a cell" in dist["bad"].error and dist["bad"].failing_cell == 4
    assert (tmp_path / "d/bad.failed").is_dir() and not (tmp_path / "d/bad").exists()
    for n in ("one", "two"):
        assert (tmp_path / f"s/{n}/draws.csv").read_bytes() == (tmp_path / f"d/{n}/draws.csv").read_bytes()
        assert dist[n].worker.startswith("tcp://") and serial[n].worker.startswith("local:")
    man = json.loads((tmp_path / "d/manifest.json").read_text())
    assert man["engine"]["kind"] == "dask scheduler" and len(man["engine"]["workers"]) == 2
    assert set(man["experiments"]) == {"one", "two", "bad"} and all(e["seconds"] > 0 for e in man["experiments"].values())

@needs("shanghai-telecom")
@pytest.mark.slow
def test_quick_datasets_on_two_dask_workers_equals_serial(tmp_path, monkeypatch):
    tables = {}
    for jobs in (1, 2):
        monkeypatch.setenv("TRAJSTUDY_RESULTS", str(tmp_path / f"jobs{jobs}"))
        assert main(["reproduce", "--profile", "quick", "--only", "datasets", "--jobs", str(jobs)]) == 0
        d = tmp_path / f"jobs{jobs}" / "quick"
        tables[jobs] = {p.name: p.read_bytes() for p in sorted((d / "datasets").iterdir()) if p.suffix in (".csv", ".md")}
        man = json.loads((d / "manifest.json").read_text())
        assert man["engine"]["kind"] == ("serial" if jobs == 1 else "dask LocalCluster")
        assert len(man["engine"]["workers"]) == jobs
    assert tables[1] and tables[1] == tables[2], [n for n in tables[1] if tables[1][n] != tables[2].get(n)]
