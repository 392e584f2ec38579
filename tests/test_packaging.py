"""The wheel a user installs: the package, the rule catalogue (`rules/*.md` as `p21_lint/catalogue/`), the console
script and exactly the runtime dependencies the job needs.

Installing this wheel into a fresh virtualenv and running `p21-lint explain ERR001` from it is done once per CI run,
by .ci/run (through scripts/run-sample.sh, which is `pip install .` in a new venv), not here: it downloads every
dependency and would double the suite's time.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_DEPENDENCIES = {"libcst", "bandit", "coverage", "sqlglot", "click", "tomli"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"python -m build --wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    [path] = out.glob("p21_lint-*.whl")
    with zipfile.ZipFile(path) as zf:
        yield zf


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    [member] = [n for n in wheel.namelist() if re.fullmatch(rf"p21_lint-[^/]+\.dist-info/{name}", n)]
    return wheel.read(member).decode("utf-8")


def test_every_rule_page_is_in_the_wheel_as_the_catalogue(wheel):
    pages = sorted(ROOT.glob("rules/*.md"))
    assert pages, "no rules/*.md in the checkout"
    names = set(wheel.namelist())
    missing = [p.name for p in pages if f"p21_lint/catalogue/{p.name}" not in names]
    assert not missing, f"rule pages missing from the wheel: {missing} (pyproject.toml force-include)"
    for page in pages:
        assert wheel.read(f"p21_lint/catalogue/{page.name}") == page.read_bytes()
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("p21_lint/catalogue/")}
    assert shipped == {p.name for p in pages}


def test_the_wheel_holds_the_package_and_nothing_else(wheel):
    tops = {n.split("/", 1)[0] for n in wheel.namelist()}
    assert "p21_lint" in tops
    assert all(t == "p21_lint" or re.fullmatch(r"p21_lint-[^/]+\.dist-info", t) for t in tops), sorted(tops)
    sources = {n for n in wheel.namelist() if n.endswith(".py")}
    package = ROOT / "src" / "p21_lint"
    expected = {f"p21_lint/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
    assert sources == expected


def test_the_console_script_and_python_requirement(wheel):
    entry_points = _dist_info(wheel, "entry_points.txt")
    assert re.search(r"^\[console_scripts\]\s*^p21-lint = p21_lint\.cli:main$", entry_points, re.MULTILINE)
    meta = Parser().parsestr(_dist_info(wheel, "METADATA"))
    assert meta["Name"] == "p21-lint"
    assert meta["Requires-Python"] == ">=3.10"


def test_runtime_dependencies_are_exactly_what_the_job_needs(wheel):
    meta = Parser().parsestr(_dist_info(wheel, "METADATA"))
    runtime = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in runtime}
    assert names == RUNTIME_DEPENDENCIES, (
        f"runtime dependencies changed: {sorted(names)}; a new one belongs in an extra unless every user needs it"
    )
    [tomli] = [r for r in runtime if r.lower().startswith("tomli")]
    assert re.search(r"""python_version\s*<\s*["']3\.11["']""", tomli), "tomli is only needed before 3.11 (tomllib)"
