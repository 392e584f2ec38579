"""The coverage gate on real coverage data: tests/fixtures/covproject's own tests run under coverage.py.

The data is made once per session (line and branch runs, `coverage json`, Cobertura XML, a run in another
checkout, a `relative_files` run from another working directory); each test copies the fixture project to a
tmp dir and puts the data it needs beside it. coverage.py's own `coverage report` is the oracle for the totals.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from p21_lint.analysis import coverage_data as cd
from p21_lint.cli import main
from p21_lint.config import ConfigError, load_config
from p21_lint.files import discover
from p21_lint.gates.coverage import coverage_gate
from p21_lint.model import Status

FIXTURE = Path(__file__).parent / "fixtures" / "covproject"
UNITTEST = ["-m", "unittest", "discover", "-s", "tests", "-p", "check_*.py"]


def _coverage(*args: str, cwd: Path, check: bool = True, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")} | extra_env
    return subprocess.run(
        [sys.executable, "-m", "coverage", *args], cwd=cwd, env=env, capture_output=True, text=True, check=check
    )


def _copy_project(dest: Path) -> Path:
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("__pycache__", ".coverage*", ".p21_cache"))
    return dest


@dataclass
class Data:
    line: Path  # .coverage, statements only, recorded in its own checkout
    line_json: Path
    line_xml: Path
    branch: Path
    branch_json: Path
    branch_xml: Path
    relative: Path  # relative_files = true, tests run from the folder above the project
    relative_xml: Path
    report: dict[str, str]  # what `coverage report --format=total --precision=2 --include=app/*` prints
    per_file: dict[str, dict]  # `coverage json --include=app/*` files, line and branch runs
    fail_under_80: int  # `coverage report --fail-under=80` exit status on the line data (precision 0)
    fail_under_80_precision_1: int


@pytest.fixture(scope="session")
def data(tmp_path_factory) -> Data:
    base = tmp_path_factory.mktemp("covdata")
    out = base / "data"
    out.mkdir()
    run = _copy_project(base / "recorded" / "checkout")

    _coverage("run", "--data-file", str(out / "line.coverage"), *UNITTEST, cwd=run)
    _coverage("run", "--branch", "--data-file", str(out / "branch.coverage"), *UNITTEST, cwd=run)
    report, per_file = {}, {}
    for kind in ("line", "branch"):
        datafile = f"--data-file={out / f'{kind}.coverage'}"
        _coverage("json", datafile, "-q", "-o", str(out / f"{kind}.json"), cwd=run)
        _coverage("xml", datafile, "-q", "-o", str(out / f"{kind}.xml"), cwd=run)
        total = _coverage("report", datafile, "--format=total", "--precision=2", "--include=app/*", cwd=run)
        report[kind] = total.stdout.strip()
        only_app = _coverage("json", datafile, "-q", "--include=app/*", "-o", "-", cwd=run)
        per_file[kind] = json.loads(only_app.stdout)["files"]
    line = f"--data-file={out / 'line.coverage'}"
    fail_80 = _coverage("report", line, "--include=app/*", "--fail-under=80", cwd=run, check=False).returncode
    fail_80_p1 = _coverage("report", line, "--include=app/*", "--fail-under=80", "--precision=1", cwd=run, check=False).returncode

    outer = base / "outer"
    _copy_project(outer / "proj")
    (outer / "rc.toml").write_text("[tool.coverage.run]\nrelative_files = true\n")
    relative = ["run", "--rcfile=rc.toml", "--data-file", str(out / "relative.coverage")]
    _coverage(*relative, "-m", "unittest", "discover", "-s", "proj/tests", "-p", "check_*.py", cwd=outer, PYTHONPATH="proj")
    _coverage("xml", "--rcfile=rc.toml", f"--data-file={out / 'relative.coverage'}", "-q", "-o", str(out / "relative.xml"), cwd=outer)

    return Data(
        out / "line.coverage", out / "line.json", out / "line.xml",
        out / "branch.coverage", out / "branch.json", out / "branch.xml",
        out / "relative.coverage", out / "relative.xml",
        report, per_file, fail_80, fail_80_p1,
    )


@pytest.fixture
def project(tmp_path) -> Path:
    return _copy_project(tmp_path / "project")


def _gate(root: Path, data: Path | None = None, pyproject: str = "", **overrides):
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    if data is not None:
        overrides["coverage-data"] = str(data)
    config = load_config((root,), None, overrides)
    return coverage_gate(discover(config), config)


def _finding_codes(gate) -> list[tuple[str, str, int]]:
    return [(f.code, f.location.path, f.location.line) for f in gate.findings]


# ---- reading the three formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["line", "branch"])
@pytest.mark.parametrize("fmt", ["coverage", "json", "xml"])
def test_total_is_what_coverage_report_prints(data, project, kind, fmt):
    gate, errors = _gate(project, getattr(data, kind if fmt == "coverage" else f"{kind}_{fmt}"), **{"min-coverage": 1})
    assert errors == []
    total = gate.metrics["total"]
    assert f"{total['percent']:.2f}" == data.report[kind]
    oracle = data.per_file[kind]
    assert total["statements"] == sum(f["summary"]["num_statements"] for f in oracle.values())
    assert total["branches"] == sum(f["summary"].get("num_branches", 0) for f in oracle.values())
    assert gate.metrics["branch"] is (kind == "branch")
    assert gate.metrics["measured_files"] == 5 and gate.metrics["unmeasured"] == []


@pytest.mark.parametrize("kind", ["line", "branch"])
def test_dot_coverage_analysis_matches_coverage_per_file(data, project, kind):
    """For .coverage p21-lint runs coverage.py's analysis itself: every file's numbers equal coverage json's."""
    settings = cd.project_settings(project)
    dataset = cd.load(getattr(data, kind))
    rels = [f"app/{name}" for name in ("__init__.py", "utils.py", "services/__init__.py", "services/pricing.py", "services/billing.py")]
    matched = cd.match(dataset, rels, settings)
    assert set(matched) == set(rels)
    for rel in rels:
        fc = cd.measure(dataset, matched[rel], project / rel, rel, settings)
        summary = data.per_file[kind][rel]["summary"]
        assert fc.numbers.statements == summary["num_statements"]
        assert fc.numbers.missing == summary["missing_lines"]
        assert fc.numbers.branches == summary.get("num_branches", 0)
        assert fc.numbers.missing_branches == summary.get("missing_branches", 0)
        assert list(fc.missing) == data.per_file[kind][rel]["missing_lines"]


def test_missed_ranges_and_partial_branches(data, project):
    gate, _ = _gate(project, data.branch_xml, **{"min-coverage": 1})
    worst = {w["path"]: w for w in gate.metrics["worst_files"]}
    assert worst["app/services/billing.py"]["missing"] == "13, 16-18, 22-25"  # as `coverage report -m` shows
    assert worst["app/services/billing.py"]["partial_branches"] == [12, 14]
    assert worst["app/services/pricing.py"]["partial_branches"] == [18]
    assert list(worst) == ["app/services/billing.py", "app/services/pricing.py"]  # least covered first


def test_data_recorded_in_another_checkout_matches(data, project):
    """The data holds absolute paths of .../recorded/checkout; the project lives somewhere else."""
    assert str(project) not in data.line.read_bytes().decode("latin-1")
    gate, errors = _gate(project, data.line, **{"min-coverage": 1})
    assert errors == [] and f"{gate.metrics['total']['percent']:.2f}" == data.report["line"]


@pytest.mark.parametrize("source", ["relative", "relative_xml"])
def test_relative_files_from_another_working_directory(data, project, source):
    """Recorded as `proj/app/...` from the folder above the project (relative_files, XML <source> = that folder)."""
    gate, errors = _gate(project, getattr(data, source), **{"min-coverage": 1})
    assert errors == [] and f"{gate.metrics['total']['percent']:.2f}" == data.report["line"]


def test_paths_remapping_is_honoured(data, project):
    """[tool.coverage.paths] maps the recorded checkout onto this one, as `coverage combine/report` would."""
    recorded = str(data.line_xml.parent.parent / "recorded" / "checkout")
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text() + f'\n[tool.coverage.paths]\nsource = [".", "{recorded}"]\n'
    )
    settings = cd.project_settings(project)
    assert cd.remap(f"{recorded}/app/utils.py", settings) == (project / "app" / "utils.py").as_posix()
    assert cd.remap("/elsewhere/app/utils.py", settings) == "/elsewhere/app/utils.py"
    gate, errors = _gate(project, data.line, **{"min-coverage": 1})
    assert errors == [] and gate.metrics["measured_files"] == 5


def test_test_files_are_not_counted(data, project):
    """The data measured tests/check_app.py too; the gate counts only the checked non-test files."""
    assert any(name.endswith("check_app.py") for entry in cd.load(data.line_json).entries for name in entry.names)
    gate, _ = _gate(project, data.line_json, **{"min-coverage": 1})
    assert gate.metrics["checked_files"] == 5
    assert gate.metrics["total"]["statements"] == 44


def test_project_exclusions_are_honoured_for_dot_coverage(data, project):
    """`exclude_also` in [tool.coverage.report] changes the statements, exactly as in `coverage report`."""
    extra = '\n[tool.coverage.report]\nexclude_also = ["def reminder"]\n'
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + extra)
    oracle = _coverage("report", f"--data-file={data.line}", "--format=total", "--precision=2", "--include=*/app/*", cwd=project)
    gate, _ = _gate(project, data.line, **{"min-coverage": 1})
    assert f"{gate.metrics['total']['percent']:.2f}" == oracle.stdout.strip() != data.report["line"]


# ---- the threshold, rounded as coverage.py's fail_under ---------------------------------------------------


def test_rounding_matches_coverage_fail_under(data, project):
    """79.55% passes 80 at precision 0 (coverage.py says 80%) and fails it at precision 1, as `coverage report`."""
    assert data.report["line"] == "79.55"
    gate, _ = _gate(project, data.line, **{"min-coverage": 80})
    assert data.fail_under_80 == 0 and "COV001" not in [f.code for f in gate.findings]
    assert gate.note.startswith("total 80% >= 80% (35/44 lines)")

    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + "\n[tool.coverage.report]\nprecision = 1\n")
    gate, _ = _gate(project, data.line, **{"min-coverage": 80})
    assert data.fail_under_80_precision_1 == 2
    assert gate.status is Status.FAIL
    [finding] = [f for f in gate.findings if f.code == "COV001"]
    assert "79.5% (35/44 lines), below the 80.0% minimum" in finding.message
    # the least covered file, at its first missed line; its missed ranges are named
    assert (finding.location.path, finding.location.line) == ("app/services/billing.py", 13)
    assert "app/services/billing.py 57.9% (missed 13, 16-18, 22-25)" in finding.message


@pytest.mark.parametrize(("minimum", "fails"), [(79, False), (79.5, False), (79.6, None), (80, False), (81, True)])
def test_threshold_boundary(data, project, minimum, fails):
    """The verdict at the boundary is `coverage report --fail-under`'s own on the same data. coverage 7.17 compares
    a threshold with decimals at that many decimals (79.55 < 79.6 fails); 7.16, the last for Python 3.10, rounds
    to `precision` only (80 >= 79.6 passes): p21-lint follows the coverage.py it is installed with."""
    checkout = data.line.parent.parent / "recorded" / "checkout"
    oracle = _coverage("report", f"--data-file={data.line}", "--include=app/*", f"--fail-under={minimum}", cwd=checkout, check=False)
    assert oracle.returncode in (0, 2)
    if fails is not None:
        assert (oracle.returncode == 2) is fails
    gate, _ = _gate(project, data.line_json, **{"min-coverage": minimum})
    assert ("COV001" in [f.code for f in gate.findings]) is (oracle.returncode == 2)


def test_100_means_every_statement(data, project):
    (project / "app" / "services" / "billing.py").unlink()
    (project / "app" / "services" / "pricing.py").unlink()
    gate, _ = _gate(project, data.line_json, **{"min-coverage": 100})
    assert gate.status is Status.PASS and gate.metrics["total"]["percent"] == 100.0


# ---- business logic ----------------------------------------------------------------------------------------


def test_business_logic_fails_while_total_passes(data, project):
    gate, errors = _gate(project, data.line, **{"min-coverage": 75})
    assert errors == [] and gate.status is Status.FAIL
    assert _finding_codes(gate) == [("COV002", "app/services/billing.py", 13)]
    group = gate.metrics["business_logic"]
    assert (group["statements"], group["missing"], group["files"]) == (33, 9, 3)
    assert "below the 80% minimum" in gate.findings[0].message and "72.7" not in gate.findings[0].message
    assert "business logic 73% < 80%" in gate.note


def test_business_logic_per_file(data, project):
    pyproject = '[tool.p21-lint]\nsecurity = false\n[tool.p21-lint.coverage]\nbusiness-logic = ["app/services/**"]\nbusiness-logic-min = 90\nper-file = true\n'
    gate, _ = _gate(project, data.branch_json, pyproject)
    # with branches: billing 52% fails, pricing (13 + 5) / (14 + 6) = 90% passes, each on its own
    assert data.per_file["branch"]["app/services/pricing.py"]["summary"]["percent_covered"] == 90.0
    by_file = {f.location.path: f for f in gate.findings}
    assert list(by_file) == ["app/services/billing.py"] and gate.findings[0].code == "COV002"
    assert "write unit tests that run lines 13, 16-18, 22-25 and the untaken side of the branches on lines 12, 14" in by_file["app/services/billing.py"].message


def test_business_logic_file_never_imported_counts_as_missed(data, project):
    (project / "app" / "services" / "refunds.py").write_text("def refund(x):\n    if x:\n        return 1\n    return 0\n")
    gate, errors = _gate(project, data.line_xml)
    assert errors == []
    group = gate.metrics["business_logic"]
    assert group["unmeasured"] == ["app/services/refunds.py"]
    assert (group["statements"], group["missing"]) == (37, 13)  # 33/9 plus its 4 statements, all missed
    assert gate.metrics["unmeasured"] == ["app/services/refunds.py"]
    assert "min_coverage" not in gate.metrics  # only the business-logic check was asked for


def test_business_logic_globs_that_match_nothing_are_an_error(data, project):
    pyproject = '[tool.p21-lint]\nsecurity = false\n[tool.p21-lint.coverage]\nbusiness-logic = ["app/service/**"]\n'
    gate, errors = _gate(project, data.line_json, pyproject)
    assert gate.status is Status.ERROR
    assert "matches none of the 5 checked files" in errors[0].message


# ---- errors are never a pass --------------------------------------------------------------------------------


def test_no_data_exits_2_with_how_to(project):
    result = CliRunner().invoke(main, [str(project), "--min-coverage", "80", "--no-security", "--jobs", "1"])
    assert result.exit_code == 2
    assert f"no coverage data at {project}" in result.output
    assert "run your tests under coverage first, e.g. `coverage run -m pytest`" in result.output


def test_cli_runs_the_gate_end_to_end(data, project):
    shutil.copy(data.line_json, project / "coverage.json")
    result = CliRunner().invoke(main, [str(project), "--min-coverage", "80", "--format", "json", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    [gate] = [g for g in report["gates"] if g["name"] == "coverage"]
    assert gate["status"] == "fail" and gate["metrics"]["data"] == "coverage.json"
    assert [(f["code"], f["path"], f["line"]) for f in report["findings"]] == [("COV002", "app/services/billing.py", 13)]


def test_data_for_another_project_is_an_error(data, tmp_path):
    other = tmp_path / "other"
    (other / "lib").mkdir(parents=True)
    (other / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\n")
    (other / "lib" / "orders.py").write_text("def total(items):\n    return sum(items)\n")
    (other / "main.py").write_text("print('hi')\n")
    gate, errors = _gate(other, data.line, **{"min-coverage": 80})
    assert gate.status is Status.ERROR
    assert "matches none of the 2 checked files; was it made for this project?" in errors[0].message


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"SQLite format 3\x00" + b"\x00" * 200, "cannot be read as coverage.py data"),
        (b'{"coverage": 80}', "not a `coverage json` report"),
        (b'{"files": {"app/utils.py": {"summary": {}}}}', "is not in the `coverage json` format"),
        (b"<report><file/></report>", "not a Cobertura report"),
        (b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "aaaa">]><coverage>&a;</coverage>', "declares XML entities"),
        (b"TN:\nSF:app/utils.py\n", "not coverage data"),
    ],
)
def test_corrupt_or_foreign_data_is_an_error(project, content, says):
    (project / "data.bin").write_bytes(content)
    gate, errors = _gate(project, project / "data.bin", **{"min-coverage": 80})
    assert gate.status is Status.ERROR and says in errors[0].message


def test_truncated_dot_coverage_is_an_error(data, project):
    (project / ".coverage").write_bytes(data.line.read_bytes()[:4096])
    gate, errors = _gate(project, **{"min-coverage": 80})
    assert gate.status is Status.ERROR and errors[0].source == "coverage"


def test_found_at_the_root_in_order(data, project):
    shutil.copy(data.branch_xml, project / "coverage.xml")
    shutil.copy(data.line_json, project / "coverage.json")
    gate, _ = _gate(project, **{"min-coverage": 1})
    assert gate.metrics["data"] == "coverage.json"
    shutil.copy(data.line, project / ".coverage")
    gate, _ = _gate(project, **{"min-coverage": 1})
    assert gate.metrics["data"] == ".coverage"


# ---- config and selection ------------------------------------------------------------------------------------


def test_no_threshold_is_skipped_with_how_to(project):
    gate, errors = _gate(project, pyproject="[tool.p21-lint]\nsecurity = false\n")
    assert gate.status is Status.SKIPPED and errors == []
    assert "--min-coverage" in gate.note


def test_deselected_codes_do_not_run(data, project):
    gate, errors = _gate(project, data.line_json, ignore=["COV"], **{"min-coverage": 90})
    assert gate.status is Status.SKIPPED and errors == []
    assert "COV001 ignored by `COV`" in gate.note
    gate, _ = _gate(project, data.line_json, ignore=["COV002"], **{"min-coverage": 75})
    assert gate.status is Status.PASS and "business_logic" not in gate.metrics


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('business-logic = ["app/**"]\nbusiness-logik-min = 70', "unknown key `business-logik-min` in [tool.p21-lint.coverage]"),
        ('business-logic-min = "80"', "`coverage.business-logic-min` must be a number"),
        ("business-logic-min = 120", "`coverage.business-logic-min` must be between 0 and 100"),
        ('business-logic = "app/**"', "`coverage.business-logic` must be a list"),
        ("per-file = 1", "`coverage.per-file` must be a boolean"),
    ],
)
def test_coverage_table_is_validated(project, table, says):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(f"[tool.p21-lint]\n[tool.p21-lint.coverage]\n{table}\n")
    with pytest.raises(ConfigError) as exc:
        load_config((project,))
    assert says in str(exc.value) and str(pyproject) in str(exc.value)


def test_coverage_data_in_config_is_relative_to_the_project_root(data, project, monkeypatch, tmp_path):
    (project / "reports").mkdir()
    shutil.copy(data.line_xml, project / "reports" / "cov.xml")
    pyproject = '[tool.p21-lint]\nsecurity = false\nmin-coverage = 80\ncoverage-data = "reports/cov.xml"\n'
    monkeypatch.chdir(tmp_path)  # not the project root
    gate, errors = _gate(project, pyproject=pyproject)
    assert errors == [] and gate.metrics["data"] == "reports/cov.xml" and gate.status is Status.PASS


def test_reading_never_loads_the_projects_coverage_plugins(data, project):
    """A coverage.py plugin named in the project's config is code; reading the data must not import it."""
    (project / "p21_marker_plugin.py").write_text("raise SystemExit('the plugin was imported')\n")
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text() + '\n[tool.coverage.run]\nplugins = ["p21_marker_plugin"]\n'
    )
    sys.path.insert(0, str(project))
    try:
        gate, errors = _gate(project, data.branch, **{"min-coverage": 1})
    finally:
        sys.path.remove(str(project))
    assert errors == [] and gate.metrics["measured_files"] == 5 and "p21_marker_plugin" not in sys.modules
