"""Documentation counts of issue 10, for the whole package: share of exported notebook cells holding more than one
top-level definition, exported functions over 60 lines, and docment coverage of user-facing functions (in total, and
per module: the callables lacking docments).
Run: .venv/bin/python benchmarks/doc_stats.py"""
import ast, importlib, inspect, json, pathlib, re
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

def user_facing(mod):
    """(name, callable) of the user-facing callables of module `mod`: every public name of its `__all__` defined in it
    (re-exports are counted where they are defined) that is a function (lru_cache'd ones unwrapped) or a class (its
    constructor), and every public method of those classes (`@patch`ed ones included; properties are not called)."""
    out = []
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name, None)
        if name.startswith("_") or obj is None or getattr(obj, "__module__", None) != mod.__name__: continue
        fn = inspect.unwrap(obj) if callable(obj) and not inspect.isclass(obj) else obj
        if inspect.isfunction(fn): out.append((name, fn))
        elif inspect.isclass(obj):
            out.append((name, obj))
            out += [(f"{name}.{m}", v) for m, v in vars(obj).items() if not m.startswith("_") and inspect.isfunction(v)]
    return out

def undocumented(obj):
    "(parameters, undocumented ones) of callable `obj` (`self`/`cls` not counted); None when it has no readable signature or source."
    try: ps = [k for k in inspect.signature(obj).parameters if k not in ("self", "cls")]
    except (TypeError, ValueError): return None
    if not ps: return [], []
    try: d = docments(obj, args_kwargs=True)          # a `**kwargs` docment counts too (fastcore skips it by default)
    except Exception: return ps, ps
    return ps, [k for k in ps if d.get(k) is None]

def module_docment_gaps():
    "Per module: (user-facing callables with parameters, those lacking a docment for some parameter, params, undocumented params, names lacking)."
    rows = {}
    for f in sorted((ROOT/"trajstudy").glob("*.py")):
        if f.name.startswith("_"): continue
        mod = importlib.import_module(f"trajstudy.{f.stem}")
        n = lack = ps_n = und_n = 0; names = []
        for name, obj in user_facing(mod):
            r = undocumented(obj)
            if r is None or not r[0]: continue
            n += 1; ps_n += len(r[0]); und_n += len(r[1])
            if r[1]: lack += 1; names.append(f"{name} ({len(r[1])}/{len(r[0])})")
        rows[f.stem] = (n, lack, ps_n, und_n, names)
    return rows

def _shows_value(src):
    "Whether a code cell's source ends in an expression that shows a value (not a bare assertion call) or prints."
    try: tree = ast.parse(src)
    except SyntaxError: return False
    if "print(" in src: return True
    if not tree.body or not isinstance(tree.body[-1], ast.Expr): return False
    v = tree.body[-1].value
    return not (isinstance(v, ast.Call) and getattr(v.func, "id", "") in ("test_eq", "test_close", "test_fail", "test_ne"))

def lessons_missing(nb):
    """Public definitions of notebook `nb` not followed by a lesson: the code cells after a definition's exported cell, up
    to the next exported definition (an exported statement between, such as a registry entry, does not end the lesson),
    must name it, assert something and show a value."""
    cells, out = json.loads(pathlib.Path(nb).read_text())["cells"], []
    is_exp = lambda c: c["cell_type"] == "code" and any(l.strip().startswith("#| export") for l in "".join(c["source"]).splitlines())
    for i, c in enumerate(cells):
        if not is_exp(c): continue
        try: tree = ast.parse("".join(c["source"]))
        except SyntaxError: continue
        names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
        lesson = []
        for c2 in cells[i + 1:]:
            if is_exp(c2) and cell_defs("".join(c2["source"])): break
            if c2["cell_type"] == "code" and not is_exp(c2): lesson.append("".join(c2["source"]))
        code = "\n".join(lesson)
        asserts = bool(re.search(r"\bassert\b|test_(eq|close|fail|ne)\(", code))
        out += [n for n in names if not (re.search(rf"\b{n}\b", code) and asserts and any(_shows_value(l) for l in lesson))]
    return out


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
    rows = module_docment_gaps()
    t = [sum(r[i] for r in rows.values()) for i in range(4)]
    print(f"\nuser-facing callables (exported functions, classes' constructors, public methods of exported classes) with parameters: "
          f"{t[0]}; lacking a docment for some parameter: {t[1]} ({100*t[1]/max(t[0],1):.1f}%); parameters documented: "
          f"{t[2]-t[3]}/{t[2]} ({100*(t[2]-t[3])/max(t[2],1):.1f}%)")
    print(f"{'module':<16}{'callables':>10}{'lacking':>9}{'params':>8}{'undoc':>7}  lacking (undocumented/params)")
    for m, (n, lack, ps_n, und_n, names) in rows.items():
        print(f"{m:<16}{n:>10}{lack:>9}{ps_n:>8}{und_n:>7}  {', '.join(names)}")
    print("\npublic definitions without a lesson right after them (a code cell that names it, asserts and shows a value):")
    for nb in sorted((ROOT/"nbs").glob("[0-9]*.ipynb")):
        miss = lessons_missing(nb)
        print(f"  {nb.name:<24}{len(miss):>3}  {', '.join(miss)}")
