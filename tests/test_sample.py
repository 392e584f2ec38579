"""The bundled sample backend (sample/) breaks every standard on purpose, and p21-lint must say so, exactly.

Each deliberate violation carries a `deliberate:` comment naming the codes it must produce. As the README's first
command does, the sample's own tests run under coverage (in a copy, so the repository stays clean), then the full
gate runs on it: every gate fails, and p21's findings are exactly the marked ones — a marked code that is missing
is a false negative, an unmarked finding is a false alarm (or a marker to add).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from p21_lint.cli import main
from p21_lint.engine.registry import all_rules

SAMPLE = Path(__file__).resolve().parents[1] / "sample"
# "ERR001 (and bandit B110)": a code, with the tool that reports it when that is not p21-lint itself
CODE = re.compile(r"\b(?:(?P<tool>bandit|ruff) )?(?P<code>[A-Z][A-Z0-9]*[0-9]{3})\b")


def markers(tool: str = "p21") -> set[tuple[str, str]]:
    """(path, code) for every code of `tool` named in a `deliberate:` comment of the sample."""
    out = set()
    for path in sorted(SAMPLE.rglob("*.py")):
        rel = path.relative_to(SAMPLE).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            if "deliberate:" in line:
                for m in CODE.finditer(line.split("deliberate:", 1)[1]):
                    if (m.group("tool") or "p21") == tool:
                        out.add((rel, m.group("code")))
    return out


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory) -> dict:
    copy = tmp_path_factory.mktemp("sample") / "sample"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns(".coverage*", "__pycache__", ".*_cache", "*.db"))
    tests = subprocess.run(
        [sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=copy, capture_output=True, text=True, timeout=300,
    )
    assert tests.returncode == 0, f"the sample's own tests fail:\n{tests.stdout}\n{tests.stderr}"
    assert (copy / ".coverage").is_file()

    result = CliRunner().invoke(main, [str(copy), "--min-coverage", "80", "--format", "json"], catch_exceptions=False)
    report = json.loads(result.stdout)
    report["exit"] = result.exit_code
    return report


def test_the_sample_marks_a_violation_of_every_standard():
    codes = {code for _, code in markers()}
    # SQL, auth, error handling, endpoint tests, security (bandit), style (ruff)
    assert {"SQL001", "AUTH001", "ERR001", "TEST001"} <= codes
    assert "B602" in {code for _, code in markers("bandit")}
    assert "F401" in {code for _, code in markers("ruff")}
    coverage_note = (SAMPLE / "app/services/imports.py").read_text(encoding="utf-8")
    assert "deliberate: coverage gate" in coverage_note


def test_every_gate_fails_on_the_sample_and_nothing_errors(sample_report):
    assert sample_report["errors"] == [], "the sample must be fully checked"
    gates = {g["name"]: g for g in sample_report["gates"]}
    assert {"rules", "endpoints", "security", "coverage", "style"} <= set(gates)
    for name, gate in gates.items():
        assert gate["status"] == "fail", f"the {name} gate should fail on the sample: {gate}"
    assert sample_report["verdict"] == "fail"
    assert sample_report["exit"] == 1


def test_the_coverage_gate_reads_the_sample_data_below_80(sample_report):
    [gate] = [g for g in sample_report["gates"] if g["name"] == "coverage"]
    metrics = gate["metrics"]
    assert metrics["unmeasured"] == [], "every app/ file is in the sample's coverage data"
    assert 60 < metrics["total"]["percent"] < 80, metrics["total"]
    business = metrics["business_logic"]
    assert business["patterns"] == ["app/services/**"] and business["percent"] < 60, business
    assert "app/services/imports.py" in business["failing_files"]
    codes = {f["code"] for f in sample_report["findings"]}
    assert {"COV001", "COV002"} <= codes


def test_p21_findings_on_the_sample_are_exactly_the_deliberate_ones(sample_report):
    registered = {r.code for r in all_rules()}
    expected = {(path, code) for path, code in markers("p21") if code in registered}
    found = {(f["path"], f["code"]) for f in sample_report["findings"] if f["source"] == "p21" and not f["suppressed"]}
    missed = sorted(expected - found)
    unmarked = sorted(found - expected)
    assert not missed, f"deliberate violations in sample/ that p21-lint no longer finds: {missed}"
    assert not unmarked, (
        f"p21-lint findings in sample/ that no `deliberate:` comment names: {unmarked}. If the finding is right, "
        "name its code in the `# deliberate: ...` comment on that line; if not, it is a false alarm to fix."
    )


@pytest.mark.parametrize("tool", ["bandit", "ruff"])
def test_the_marked_bandit_and_ruff_findings_are_reported(sample_report, tool):
    expected = markers(tool)
    found = {(f["path"], f["code"]) for f in sample_report["findings"] if f["source"] == tool}
    assert expected and expected <= found, f"missing: {sorted(expected - found)}"


def test_the_tests_are_kept_out_of_the_security_gate(sample_report):
    assert not any(f["path"].startswith("tests/") for f in sample_report["findings"] if f["source"] == "bandit"), (
        "[tool.bandit] exclude_dirs in sample/pyproject.toml keeps the tests' asserts out of the security gate"
    )
