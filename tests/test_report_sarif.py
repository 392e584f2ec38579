"""SARIF 2.1.0: valid against the official schema, and shaped the way GitHub code scanning reads it."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from p21_lint.check import run_check
from p21_lint.cli import main
from p21_lint.config import load_config
from p21_lint.engine.registry import all_rules
from p21_lint.model import (
    Finding,
    GateResult,
    Level,
    Location,
    Report,
    Status,
    ToolError,
)
from p21_lint.pages import all_pages
from p21_lint.report import RENDERERS, sarif

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)

MAIN = """\
    import subprocess


    def run(cmd):
        try:
            subprocess.call(cmd, shell=True)
        except Exception:
            pass


    def quiet():
        try:
            run("ls")
        except Exception:  # p21: ignore[ERR001]
            pass
"""


def make_project(root: Path, files: dict[str, str], config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[tool.p21-lint]\ncache = false\n" + config, encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def check(root: Path) -> Report:
    return run_check(load_config((root,), root / "pyproject.toml", {"jobs": 1}))


def valid(doc: dict) -> dict:
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return doc


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Report, dict]:
    root = make_project(tmp_path_factory.mktemp("sarif") / "proj", {"app/main.py": MAIN})
    report = check(root)
    return root, report, json.loads(RENDERERS["sarif"](report, root=root))


def test_the_vendored_schema_is_the_official_one():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert SCHEMA["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")


def test_report_with_p21_and_bandit_findings_is_valid_sarif(project):
    _, report, doc = project
    valid(doc)
    assert doc["version"] == "2.1.0" and doc["$schema"] == sarif.SCHEMA_URI
    # one run per tool: code scanning rejects two runs with the same tool and category
    assert [r["tool"]["driver"]["name"] for r in doc["runs"]] == ["p21-lint", "bandit"]
    p21, bandit = doc["runs"]
    assert {r["ruleId"] for r in p21["results"]} == {"ERR001"}
    assert {r["ruleId"] for r in bandit["results"]} == {"B404", "B602"}  # B110 repeats ERR001: shown once
    security = next(g for g in report.gates if g.name == "security")
    assert bandit["tool"]["driver"]["version"] == security.metrics["bandit_version"]
    # every finding is a result, in exactly one run
    assert sum(len(r["results"]) for r in doc["runs"]) == len(report.findings)


def test_every_rule_is_described_from_its_page(project):
    _, _, doc = project
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    by_id = {r["id"]: r for r in rules}
    assert {r.code for r in all_rules()} <= set(by_id)
    assert [r["id"] for r in rules] == sorted(by_id)
    pages = all_pages()
    err = by_id["ERR001"]
    page = pages["ERR001"]
    assert err["name"] == "swallowed-exception"
    assert err["shortDescription"]["text"] == page.summary()
    assert err["fullDescription"]["text"].startswith("Flags an `except:`")
    assert err["helpUri"] == "https://github.com/p21-lint/p21-lint/blob/main/rules/ERR001.md"
    assert "## Why is this bad?" in err["help"]["markdown"] and err["help"]["text"]
    assert err["defaultConfiguration"]["level"] == "warning"  # ERR001 is medium
    assert "external/cwe/cwe-390" in err["properties"]["tags"]
    for rule in rules:
        assert len(rule["name"]) <= sarif.MAX_NAME
        assert 0 < len(rule["shortDescription"]["text"]) <= sarif.MAX_TEXT
        assert 0 < len(rule["fullDescription"]["text"]) <= sarif.MAX_TEXT


def test_results_point_at_their_rule_file_and_fingerprint(project):
    root, report, doc = project
    expected = {(f.code, f.location.line, f.fingerprint) for f in report.findings}
    seen = set()
    for run in doc["runs"]:
        rules = run["tool"]["driver"]["rules"]
        assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.resolve().as_uri() + "/"
        assert run["columnKind"] == "unicodeCodePoints"
        for result in run["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            location = result["locations"][0]["physicalLocation"]
            assert location["artifactLocation"] == {"uri": "app/main.py", "uriBaseId": "%SRCROOT%"}
            seen.add((result["ruleId"], location["region"]["startLine"], result["partialFingerprints"]["p21/v1"]))
    assert seen == expected


def test_levels_follow_severity_and_suppressed_findings_say_so(project):
    _, _, doc = project
    results = [r for run in doc["runs"] for r in run["results"]]
    level = {r["ruleId"]: r["level"] for r in results}
    assert level["B602"] == "error" and level["ERR001"] == "warning" and level["B404"] == "note"
    err = sorted((r for r in results if r["ruleId"] == "ERR001"), key=lambda r: r["locations"][0]["physicalLocation"]["region"]["startLine"])
    assert "suppressions" not in err[0]
    assert err[1]["suppressions"] == [{"kind": "inSource"}]  # `# p21: ignore[ERR001]`
    bandit_rules = {r["id"]: r for r in doc["runs"][1]["tool"]["driver"]["rules"]}
    assert "security" in bandit_rules["B602"]["properties"]["tags"]
    assert bandit_rules["B602"]["properties"]["security-severity"] == "8.0"
    assert bandit_rules["B602"]["helpUri"].startswith("https://bandit.readthedocs.io/")


def test_a_clean_bandit_run_is_still_present_and_no_security_drops_it(tmp_path):
    root = make_project(tmp_path / "clean", {"app/ok.py": "def add(a, b):\n    return a + b\n"})
    doc = valid(json.loads(RENDERERS["sarif"](check(root), root=root)))
    # an empty bandit run is how code scanning learns that earlier bandit alerts were fixed
    assert [(r["tool"]["driver"]["name"], len(r["results"])) for r in doc["runs"]] == [("p21-lint", 0), ("bandit", 0)]
    (root / "pyproject.toml").write_text("[tool.p21-lint]\ncache = false\nsecurity = false\n", encoding="utf-8")
    doc = valid(json.loads(RENDERERS["sarif"](check(root), root=root)))
    assert [r["tool"]["driver"]["name"] for r in doc["runs"]] == ["p21-lint"]


def test_paths_are_relative_to_the_repository_root_in_a_monorepo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    root = make_project(repo / "services" / "api", {"app/main.py": MAIN}, "security = false\n")
    doc = valid(json.loads(RENDERERS["sarif"](check(root), root=root)))
    run = doc["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"services/api/app/main.py"}


def test_tool_errors_become_notifications_and_an_unsuccessful_run(tmp_path):
    root = make_project(tmp_path / "broken", {"app/bad.py": "def broken(:\n    pass\n", "app/good.py": "x = 1\n"},
                        "security = false\n")
    report = check(root)
    assert report.errors, "a file that does not parse is a tool error"
    doc = valid(json.loads(RENDERERS["sarif"](report, root=root)))
    invocation = doc["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    note = invocation["toolExecutionNotifications"][0]
    assert note["level"] == "error"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/bad.py"


def _finding(i: int, severity: Level, suppressed: bool = False, source: str = "p21") -> Finding:
    return Finding(code="ERR001" if source == "p21" else "B101", message=f"finding {i}",
                   location=Location(f"app/m{i:05}.py", 1, 1, 1, 2), severity=severity, source=source,
                   fingerprint=f"{i:020}", suppressed=suppressed, suppressed_by="comment" if suppressed else "")


def test_past_the_result_limit_the_most_severe_are_kept_with_a_notification(monkeypatch, tmp_path):
    assert sarif.MAX_RESULTS == 25_000  # GitHub rejects a run with more results
    monkeypatch.setattr(sarif, "MAX_RESULTS", 4)
    findings = (_finding(0, Level.LOW), _finding(1, Level.HIGH, suppressed=True), _finding(2, Level.MEDIUM),
                _finding(3, Level.HIGH), _finding(4, Level.LOW), _finding(5, Level.MEDIUM))
    report = Report((GateResult("rules", Status.FAIL, findings),))
    run = valid(sarif.to_dict(report, root=tmp_path))["runs"][0]
    kept = [r["message"]["text"] for r in run["results"]]
    # out go the suppressed one (high as it is), then the later of the two lows; report order is kept
    assert kept == ["finding 0", "finding 2", "finding 3", "finding 5"]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True  # truncation is not a failure of the analysis
    assert invocation["toolExecutionNotifications"][0]["message"]["text"].startswith("2 of 6 results left out")


def test_long_texts_are_clipped_to_githubs_limits(tmp_path):
    long_name = "n" * 400
    message = "😀" * 2000  # astral characters count twice in UTF-16
    finding = Finding(code="B999", message=message, location=Location("a.py", 1), source="bandit", rule_name=long_name)
    report = Report((GateResult("security", Status.FAIL, (finding,)),))
    run = valid(sarif.to_dict(report, root=tmp_path))["runs"][1]
    rule = run["tool"]["driver"]["rules"][0]
    assert len(rule["name"]) == sarif.MAX_NAME and rule["name"].endswith("…")
    text = run["results"][0]["message"]["text"]
    assert len(text.encode("utf-16-le")) // 2 <= sarif.MAX_TEXT and text.endswith("…")
    assert sarif.clip("short", 10) == "short"


def test_project_wide_findings_and_errors_without_a_path_stay_valid(tmp_path):
    finding = Finding(code="COV001", message="total coverage 50% < 80%", location=Location("", 0), source="coverage")
    report = Report((GateResult("coverage", Status.FAIL, (finding,)),), (ToolError("coverage", "", "no data"),))
    run = valid(sarif.to_dict(report, root=tmp_path))["runs"][0]
    assert "locations" not in run["results"][0]
    assert run["invocations"][0]["toolExecutionNotifications"][0]["descriptor"]["id"] == "coverage"


def test_cli_writes_several_formats_from_one_run(tmp_path):
    root = make_project(tmp_path / "cli", {"app/main.py": MAIN}, "security = false\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "check", str(root), "--format", "json", "--output", f"sarif:{out / 'r.sarif'}",
        "--output", f"junit:{out / 'r.xml'}", "--output", f"{out / 'r.json'}",
    ])
    assert result.exit_code == 1, result.output
    assert json.loads((out / "r.json").read_text()) == json.loads(result.stdout)  # no FORMAT: the --format one
    doc = valid(json.loads((out / "r.sarif").read_text()))
    assert [r["ruleId"] for r in doc["runs"][0]["results"]] == ["ERR001", "ERR001"]
    assert (out / "r.xml").read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>')
    again = CliRunner().invoke(main, ["check", str(root), "--format", "sarif"])
    assert again.stdout == (out / "r.sarif").read_text()  # deterministic, and --format sarif prints the same


def test_ruff_findings_get_their_own_run_with_flake8_bandit_rules_as_security(tmp_path):
    def ruff(code: str, line: int) -> Finding:
        return Finding(code=code, message=f"{code} message", location=Location("app/a.py", line, 1, line, 4),
                       severity=Level.LOW, source="ruff", help_url=f"https://docs.astral.sh/ruff/rules/{code}/")
    style = GateResult("style", Status.FAIL, (ruff("E501", 1), ruff("S608", 2)))
    security = GateResult("security", Status.SKIPPED)
    doc = valid(sarif.to_dict(Report((GateResult("rules", Status.PASS), security, style)), root=tmp_path))
    assert [r["tool"]["driver"]["name"] for r in doc["runs"]] == ["p21-lint", "ruff"]
    rules = {r["id"]: r for r in doc["runs"][1]["tool"]["driver"]["rules"]}
    assert "security" in rules["S608"]["properties"]["tags"] and "security" not in rules["E501"]["properties"]["tags"]
    assert [r["ruleId"] for r in doc["runs"][1]["results"]] == ["E501", "S608"]
