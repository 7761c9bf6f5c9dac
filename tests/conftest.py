"Shared pytest helpers: dataset availability, the repository root, and the verdicts of privacy audits."
import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def have(name: str) -> bool:
    from trajstudy.data import REGISTRY
    return REGISTRY[name].present()

def needs(name: str):
    "Skip a test, with the reason, when a dataset is not in the data directory."
    from trajstudy.paths import data_dir
    return pytest.mark.skipif(not have(name), reason=f"dataset {name!r} is not in the data directory {data_dir()} "
                                                     "(set TRAJSTUDY_DATA or place ../shared/data beside the checkout)")

@pytest.fixture(scope="session")
def shanghai():
    from trajstudy.data import load
    return load("shanghai-telecom")          # its 0,0 records are counted in attrs, not warned


def report(kind, name, res):
    "Print an audit's result (pytest -s shows every bound, for the note)."
    print(f"AUDIT {kind:7s} {name}: {res}")
    return res

def check_real(name, res):
    "A real mechanism must stay within its ledger's (a-priori) eps."
    report("real", name, res)
    assert not res.violated, f"{name}: the audit proves more than the ledger's eps: {res}"

def check_mutant(name, res):
    "A broken mechanism must be caught: the audit's bound exceeds the eps it claims."
    report("mutant", name, res)
    assert res.violated, f"{name}: mutant NOT caught (bound {res.bound:.3f} <= claimed {res.claimed_eps:.3g}): {res}"
