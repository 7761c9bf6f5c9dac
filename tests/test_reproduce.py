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
