"The notebooks are the source: their lessons pass, the package and README are exported from them, and the batch runs."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT, needs

BIN = Path(sys.executable).parent

def _tool(name):
    p = BIN / name
    return str(p) if p.exists() else shutil.which(name)

@pytest.mark.slow
def test_nbdev_test_all_notebooks():
    r = subprocess.run([_tool("nbdev-test"), "--n-workers", "2", "--skip-folder-re", "^eval$"], cwd=ROOT,
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0 and "Success" in r.stdout + r.stderr, (r.stdout + r.stderr)[-6000:]

def test_export_and_clean_change_nothing(tmp_path):
    work = tmp_path / "repo"
    for p in ("nbs", "trajstudy"): shutil.copytree(ROOT / p, work / p, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for p in ("pyproject.toml", "settings.ini"): shutil.copy(ROOT / p, work / p)
    for cmd in ("nbdev-export", "nbdev-clean"):
        r = subprocess.run([_tool(cmd)], cwd=work, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
    changed = []
    for f in sorted(list((work / "nbs").rglob("*.ipynb")) + list((work / "trajstudy").glob("*.py"))):
        rel = f.relative_to(work)
        orig = ROOT / rel
        if not orig.exists() or orig.read_bytes() != f.read_bytes(): changed.append(str(rel))
    stale = [str(p.relative_to(ROOT)) for p in (ROOT / "trajstudy").glob("*.py") if not (work / p.relative_to(ROOT)).exists()]
    assert not changed, f"run nbdev-export and nbdev-clean, then commit: these differ: {changed}"
    assert not stale, f"generated modules with no notebook: {stale}"

def test_readme_is_rendered_from_index():
    from trajstudy.reproduce import render_readme
    assert (ROOT / "README.md").read_text() == render_readme(), "README.md is stale: run `trajstudy readme`"

def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = next(l for l in readme.splitlines() if "pytest" in l and l.startswith("python3 -m venv"))
    assert test_cmd.strip() in ci

def test_settings_experiments_have_notebooks_with_parameters():
    from trajstudy.reproduce import load_settings
    study, exps = load_settings()
    assert study["profiles"] == ["quick", "full"]
    for e in exps.values():
        nb = json.loads((ROOT / "nbs" / e.notebook).read_text())
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{e.notebook} needs exactly one cell tagged 'parameters'"
        src = "".join(tagged[0]["source"])
        for p in ("output_dir", "profile", "seed", *e.parameters("quick")):
            assert f"{p} =" in src, f"{e.notebook}: parameter {p} is not in its parameters cell"
        assert "nbdev_export" not in json.dumps(nb), f"{e.notebook} must not call nbdev_export"

@needs("shanghai-telecom")
@pytest.mark.slow
def test_quick_reproduction_of_datasets(tmp_path):
    from trajstudy.reproduce import reproduce
    res = reproduce("quick", only=["datasets"], out_root=tmp_path, quiet=True)
    assert res[0].status == "ok", res[0].error
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["experiments"]["datasets"]["status"] == "ok" and man["environment"]["trajstudy"]
    assert man["data"]["sha256"]["los-loop"]["los_speed.csv.xz"].startswith("0eb0df46")
    import pandas as pd
    t = pd.read_csv(tmp_path / "datasets" / "datasets.csv")
    assert {"shanghai-telecom", "los-loop", "geolife"} <= set(t["dataset"])
    for f in ("extents.png", "sampling_intervals.pdf", "graph_degree.png", "00_datasets.ipynb"):
        assert (tmp_path / "datasets" / f).stat().st_size > 1000

def test_failing_notebook_is_reported_with_its_cell(tmp_path):
    from trajstudy.reproduce import load_settings, run_experiment, Experiment
    nbdir = ROOT / "nbs" / "eval"
    bad = nbdir / "_test_failing.ipynb"
    nb = {"cells": [{"id": "p", "cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "output_dir = ''\nprofile = ''\nseed = 0", "outputs": [], "execution_count": None},
                    {"id": "a", "cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [], "execution_count": None},
                    {"id": "b", "cell_type": "code", "metadata": {}, "source": "raise ValueError('eps must be > 0, got 0')", "outputs": [], "execution_count": None}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    bad.write_text(json.dumps(nb))
    try:
        r = run_experiment(Experiment("bad", "eval/_test_failing.ipynb", params={"quick": {}}), "quick", 0, tmp_path)
    finally: bad.unlink()
    assert r.status == "failed" and "eps must be > 0" in r.error and r.failing_cell is not None
    assert (tmp_path / "bad.failed").is_dir() and not (tmp_path / "bad").exists()
