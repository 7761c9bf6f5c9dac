"""Documentation counts of issue 10, for the whole package: share of exported notebook cells holding more than one
top-level definition, exported functions over 60 lines, and docment coverage of user-facing functions.
Run: .venv/bin/python benchmarks/doc_stats.py"""
import ast, importlib, inspect, json, pathlib
from fastcore.docments import docments

ROOT = pathlib.Path(__file__).resolve().parents[1]

def cell_defs(src):
    "Number of top-level definitions (def, class, async def) in cell source `src`."
    try: tree = ast.parse(src)
    except SyntaxError: return 0
    return sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in tree.body)

def exported_cells():
    "Top-level definition counts of every exported code cell of nbs/ (not nbs/eval)."
    out = []
    for nb in sorted((ROOT/"nbs").glob("*.ipynb")):
        for c in json.loads(nb.read_text())["cells"]:
            src = "".join(c["source"])
            if c["cell_type"] == "code" and any(l.strip().startswith("#| export") for l in src.splitlines()):
                n = cell_defs(src)
                if n: out.append((nb.name, n))
    return out

def long_functions(limit=60):
    "Functions and methods in trajstudy/*.py longer than `limit` lines."
    out = []
    for f in sorted((ROOT/"trajstudy").glob("*.py")):
        if f.name.startswith("_"): continue
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > limit:
                out.append((f"{f.stem}.{n.name}", n.end_lineno - n.lineno + 1))
    return out

def docment_coverage():
    "Per user-facing function (in a module's __all__, not starting with _): documented params / all params."
    tot = doc = 0; missing = []
    for f in sorted((ROOT/"trajstudy").glob("*.py")):
        if f.name.startswith("_"): continue
        mod = importlib.import_module(f"trajstudy.{f.stem}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if not inspect.isfunction(obj) or name.startswith("_"): continue
            try: d = docments(obj)
            except Exception: continue
            ps = [k for k in inspect.signature(obj).parameters if k not in ("self", "cls")]
            n_doc = sum(d.get(k) is not None for k in ps)
            tot += len(ps); doc += n_doc
            if n_doc < len(ps): missing.append((f"{f.stem}.{name}", len(ps) - n_doc))
    return tot, doc, missing

if __name__ == "__main__":
    cells = exported_cells()
    multi = [c for c in cells if c[1] > 1]
    print(f"exported cells with definitions: {len(cells)}; with >1 definition: {len(multi)} "
          f"({100*len(multi)/max(len(cells),1):.1f}%); definitions per cell: {sum(n for _,n in cells)/max(len(cells),1):.2f}")
    lf = long_functions()
    print(f"functions > 60 lines: {len(lf)}: " + ", ".join(f"{n} ({l})" for n, l in sorted(lf, key=lambda x: -x[1])))
    tot, doc, missing = docment_coverage()
    print(f"docment coverage of user-facing function parameters: {doc}/{tot} ({100*doc/max(tot,1):.1f}%); "
          f"functions with undocumented parameters: {len(missing)}")
    for n, k in sorted(missing, key=lambda x: -x[1])[:15]: print(f"  {n}: {k} undocumented")
