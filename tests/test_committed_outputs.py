"Committed notebook outputs carry no machine-specific absolute paths (a warning's file name, a traceback's frames, a repr of a local path)."
import json, re, sys
from pathlib import Path
import pytest
from conftest import ROOT

NBS = ROOT / "nbs"

# What a leaked path looks like. Each is anchored so that it only matches at the start of an absolute path
# (not after a letter, digit, '.', '_', '-' or '~'), hence relative paths such as `../shared/data`,
# `tests/data/...` or `<data dir>/metr-la/...` pass, and http(s) URLs are removed before matching.
_START = r"(?<![\w.~-])"
PATTERNS = {
    "/work/": _START + r"/work/",
    "/root/": _START + r"/root/",
    "/home/": _START + r"/home/",
    "/Users/": _START + r"/Users/",
    "/tmp/": _START + r"/tmp/",
    "/private/var/": _START + r"/private/var/",
    "/var/folders/": _START + r"/var/folders/",
    "/opt/conda": _START + r"/opt/conda",
    "/usr/lib/python": _START + r"/usr/(?:local/)?lib/python",
    "C:\\Users\\": r"\b[A-Za-z]:[\\/]+Users[\\/]",
    ".venv/lib/python": r"\.venv[\\/]+lib[\\/]+python",
    "site-packages": r"site-packages",
    "dist-packages": r"dist-packages",
}
_PATTERNS = {name: re.compile(rx) for name, rx in PATTERNS.items()}
_URL = re.compile(r"https?://[^\s'\"<>)\]]+")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Outputs known to leak that this test cannot fix, keyed by (notebook relative to the repository, cell id),
# each with its reason. Empty: every committed output passes. Add an entry only with the owner's agreement.
KNOWN = {}

def _machine_paths():
    "This machine's own checkout, home and interpreter prefix, whatever they are called (beyond the fixed list)."
    out = {}
    for label, p in (("checkout", ROOT), ("home", Path.home()), ("sys.prefix", Path(sys.prefix))):
        s = str(p)
        if len(Path(s).parts) > 2: out[label] = s        # not '/' or '/root' alone (the list has those)
    return out

def _texts(output):
    "The text an output shows: stream text, every text/* (and svg/json/javascript) mimetype, an error's name, value and traceback."
    def j(v): return "".join(v) if isinstance(v, list) else (v if isinstance(v, str) else json.dumps(v))
    kind = output.get("output_type")
    if kind == "stream": yield f"stream:{output.get('name', '')}", j(output.get("text", ""))
    elif kind in ("execute_result", "display_data"):
        for mime, v in output.get("data", {}).items():
            if mime.startswith("text/") or mime in ("image/svg+xml", "application/json", "application/javascript"):
                yield mime, j(v)
    elif kind == "error":
        yield "error", "\n".join([output.get("ename", ""), output.get("evalue", "")] + list(output.get("traceback", [])))

def scan_notebook(path, extra=None):
    "Every leak in a notebook's outputs: (cell id, output index, where, pattern, snippet)."
    pats = dict(_PATTERNS)
    for label, s in (extra if extra is not None else _machine_paths()).items():
        pats[f"{label} {s}"] = re.compile(re.escape(s))
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    found = []
    for n, cell in enumerate(nb.get("cells", [])):
        for k, out in enumerate(cell.get("outputs", [])):
            for where, text in _texts(out):
                clean = _URL.sub("<url>", _ANSI.sub("", text))
                for name, rx in pats.items():
                    for m in rx.finditer(clean):
                        a, b = max(0, m.start() - 60), min(len(clean), m.end() + 60)
                        found.append((cell.get("id", f"#{n}"), k, where, name, clean[a:b].replace("\n", "\\n")))
    return found

NOTEBOOKS = sorted(p for p in NBS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)

def test_notebooks_are_found():
    assert len(NOTEBOOKS) >= 20 and (NBS / "eval") in {p.parent for p in NOTEBOOKS}, NOTEBOOKS

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: str(p.relative_to(NBS)))
def test_outputs_carry_no_machine_paths(nb):
    rel = str(nb.relative_to(ROOT))
    leaks = [f for f in scan_notebook(nb) if (rel, f[0]) not in KNOWN]
    assert not leaks, f"{rel}: machine-specific paths in committed outputs (clear or re-run these cells):\n" + "\n".join(
        f"  cell {cid} output {k} [{where}] matches {name!r}: ...{snip}..." for cid, k, where, name, snip in leaks)

def test_known_leaks_still_exist():
    "An entry in KNOWN whose leak is gone must be removed, so the list stays true."
    stale = [key for key in KNOWN if not any(f[0] == key[1] for f in scan_notebook(ROOT / key[0]))]
    assert not stale, f"these KNOWN leaks are fixed; delete them from KNOWN: {stale}"

def _nb(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}

def _code(cid, outputs):
    return {"cell_type": "code", "id": cid, "metadata": {}, "execution_count": 1, "source": "", "outputs": outputs}

def test_scanner_finds_planted_leaks_and_passes_clean_outputs(tmp_path):
    "A planted leak in each output kind is found with its cell id; relative paths and URLs in real outputs are not."
    warn = ("/work/main/.venv/lib/python3.12/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found. "
            "Please update jupyter and ipywidgets.\n  from .autonotebook import tqdm as notebook_tqdm\n")
    bad = _nb([
        _code("w1", [{"output_type": "stream", "name": "stderr", "text": [warn]}]),
        _code("p1", [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"text/plain": ["PosixPath('/home/alice/trajstudy/data')"]}}]),
        _code("h1", [{"output_type": "display_data", "metadata": {},
                      "data": {"text/html": ["<td>/tmp/pytest-of-bob/x.csv</td>"], "text/markdown": ["`/root/data`"]}}]),
        _code("e1", [{"output_type": "error", "ename": "ValueError", "evalue": "bad",
                      "traceback": ["\x1b[0;32m/opt/conda/lib/python3.11/dist-packages/x.py\x1b[0m in f()"]}]),
        _code("m1", [{"output_type": "stream", "name": "stdout", "text": ["wrote /srv/ci/checkout/out.csv\n"]}]),
    ])
    f = tmp_path / "bad.ipynb"; f.write_text(json.dumps(bad))
    found = scan_notebook(f, extra={"checkout": "/srv/ci/checkout"})
    assert {c for c, *_ in found} == {"w1", "p1", "h1", "e1", "m1"}, found
    names = {(c, w, p) for c, _, w, p, _ in found}
    assert {("w1", "stream:stderr", ".venv/lib/python"), ("w1", "stream:stderr", "site-packages"),
            ("p1", "text/plain", "/home/"), ("h1", "text/html", "/tmp/"), ("h1", "text/markdown", "/root/"),
            ("e1", "error", "/opt/conda"), ("e1", "error", "dist-packages"),
            ("m1", "stream:stdout", "checkout /srv/ci/checkout")} <= names, names
    assert any("TqdmWarning" in s for c, *_, s in found if c == "w1")
    good = _nb([_code("ok", [
        {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": [
            "PosixPath('../shared/data') tests/data/geolife <data dir>/metr-la/adj_mx.pkl nbs/eval/tmp/x data/home/y "
            "https://example.org/home/user/work/tmp/site-packages/ http://host/root/ TRAJSTUDY_DATA=/nonexistent/trajstudy"]}},
        {"output_type": "stream", "name": "stdout", "text": ["km/h 5:50:00 written to out/tables/a.csv\n"]}])])
    g = tmp_path / "good.ipynb"; g.write_text(json.dumps(good))
    assert scan_notebook(g, extra={"checkout": "/srv/ci/checkout"}) == []
