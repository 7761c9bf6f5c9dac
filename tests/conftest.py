"Shared pytest helpers: dataset availability and the repository root."
import os, warnings
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from trajstudy.data import load
        return load("shanghai-telecom")
