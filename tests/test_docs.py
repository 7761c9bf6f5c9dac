"The documentation site: `trajstudy docs` builds it, and headless Chromium renders its home, a module and an evaluation page."
import os, re, shutil, subprocess
from pathlib import Path
import pytest
from trajstudy.docs import build_site, broken_links, page_leaks
from trajstudy.reproduce import load_settings, run_experiment

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)", allow_module_level=True)

def _chromium(*args, timeout=90):
    assert CHROMIUM, "chromium is required in CI (.ci/run installs it)"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=10000", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "The site, built with the results of a real quick run of the `datasets` experiment (figures for its evaluation page)."
    tmp = tmp_path_factory.mktemp("docs")
    r = run_experiment(load_settings()[1]["datasets"], "quick", 0, tmp / "results")
    assert r.status == "ok", r.error
    build_site(tmp / "site", results=tmp / "results", progress=False)
    return tmp / "site"

def _render(site, page, shots):
    dom = _chromium("--dump-dom", (site / page).as_uri())
    if shots: _chromium(f"--screenshot={Path(shots) / page.replace('.html', '.png')}", "--window-size=1280,1500", (site / page).as_uri())
    return dom

def _links_work(site, dom, page):
    "Every internal link of the rendered page leads to a page of the site holding its anchor."
    links = re.findall(r"""<a\s[^>]*href=["']([^"':]*?\.html)?(?:#([^"']*))?["']""", dom)
    assert len(links) > 20
    for target, anchor in links:
        assert (site / (target or page)).exists(), f"{page}: {target}"
        text = (site / (target or page)).read_text()
        if anchor: assert re.search(rf"""\bid=["']{re.escape(anchor)}["']""", text), f"{page}: {target}#{anchor}"

@pytest.mark.parametrize("page, headings, figure", [
    ("index.html", ["trajstudy", "How to use", "Results"], True),
    ("hilbert_dp.html", ["API reference", "hilbert_dp.publish"], False),
    ("eval_datasets.html", ["Results (results/quick/datasets)"], True)])
def test_page_renders_in_chromium(site, page, headings, figure, tmp_path):
    shots = os.environ.get("TRAJSTUDY_SCREENSHOTS") or tmp_path
    dom = _render(site, page, shots)
    assert "<main>" in dom and re.search(r"<h1", dom)
    for h in headings: assert h in dom, h
    m = re.search(r'data-images="(\w+):(\d+)"', dom)
    assert m and m.group(1) == "ok", m and m.group(0)                 # every figure of the page loaded in the browser
    if figure: assert int(m.group(2)) >= 1
    _links_work(site, dom, page)
    assert (Path(shots) / page.replace(".html", ".png")).stat().st_size > 20_000       # a screenshot with content

def test_module_pages_link_their_own_publish(site):
    assert "href='hilbert_dp.html#publish'" in (site / "hilbert_dp.html").read_text()
    assert "href='dpr.html#publish'" in (site / "dpr.html").read_text()
    assert "id='publish'" in (site / "dpr.html").read_text()
    assert broken_links(site) == []

def test_evaluation_pages_say_when_results_are_absent(site):
    text = (site / "eval_kte.html").read_text()
    assert "is absent" in text and "trajstudy reproduce --profile quick" in text

def test_pages_show_no_directives_and_no_local_paths(site):
    "Shown code carries no nbdev directive line (`#| export`, `#| hide`...), `#| hide` cells are left out, and no page cites a paper by its local copy or links a file outside the site."
    assert page_leaks(site) == []
    assert broken_links(site) == []
    privacy = (site / "privacy.html").read_text()
    assert "default_exp" not in privacy and "from fastcore.test import" not in privacy     # 03_privacy's #| hide cell
    assert "https://doi.org/10.1155/2018/4248092" in (site / "hilbert_dp.html").read_text()
    assert "https://doi.org/10.1155/2018/4248092" in (site / "eval_hilbert_dp.html").read_text()

def test_leak_and_link_checks_catch_blemishes(tmp_path):
    "The two checks the site is held to fail on the blemishes they exist for."
    (tmp_path / "a.html").write_text("<pre><span class='c1'>#| export</span>\n<span>x = 1</span></pre>"
                                     "<p>The paper (../shared/papers/003_f560acb69c04348d.txt)</p>\n"
                                     "<a href='../shared/papers/003_f560acb69c04348d.txt'>paper</a><a href='nope.html'>x</a>")
    assert page_leaks(tmp_path) == ["a.html: #| export", "a.html: The paper (../shared/papers/003_f560acb69c04348d.txt)"]
    assert broken_links(tmp_path) == ["a.html -> ../shared/papers/003_f560acb69c04348d.txt", "a.html -> nope.html"]
