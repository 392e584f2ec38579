"""The security gate runs the real bandit on small fixture projects (tests/fixtures/security, copied to a tmp dir)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from p21_lint import installed_version
from p21_lint.cli import main
from p21_lint.config import load_config
from p21_lint.engine import pool
from p21_lint.engine.pool import check_files
from p21_lint.engine.runner import FileSettings
from p21_lint.files import discover
from p21_lint.gates import bandit_scan, security
from p21_lint.model import Level, Status

FIXTURES = Path(__file__).parent / "fixtures" / "security"


def project(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def run_gate(root: Path, overrides: dict | None = None, **start_options):
    """The security gate alone: bandit's checks in the per-file pass (no rules), then the gate."""
    config = load_config((root,), overrides=overrides)
    run = security.start(config, **start_options)
    check_files(discover(config), FileSettings(rules=()), config.jobs, None, run)
    return security.finish(run, config)


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def located(gate) -> set[tuple[str, str, int, int]]:
    return {(f.code, f.location.path, f.location.line, f.location.column) for f in gate.findings}


def test_results_become_findings_with_repo_relative_paths_lines_and_bandit_metadata(tmp_path):
    gate, errors = run_gate(project(tmp_path, "mixed"))

    assert errors == []
    assert gate.status is Status.FAIL
    # generated/ (our `exclude`) and .tox/ (a default exclude) hold os.system calls bandit's -r would have reported
    assert located(gate) == {
        ("B101", "app/checks.py", 2, 5),
        ("B608", "app/db.py", 2, 20),
        ("B608", "app/db.py", 7, 12),
        ("B602", "app/run.py", 5, 12),
    }
    shell = next(f for f in gate.findings if f.code == "B602")
    assert (shell.source, shell.severity, shell.confidence, shell.cwe) == ("bandit", Level.HIGH, Level.HIGH, 78)
    assert shell.rule_name == "subprocess_popen_with_shell_equals_true"
    assert shell.message == "subprocess call with shell=True identified, security issue."
    assert shell.help_url.startswith("https://bandit.readthedocs.io/")
    assert (shell.location.end_line, shell.location.end_column) == (5, 53)
    assert not shell.sensitive
    m = gate.metrics
    assert m["files"] == 4  # app/__init__.py, checks.py, db.py, run.py
    assert m["by_severity"] == {"high": 1, "medium": 2, "low": 1}
    assert m["skipped_tests"] == 2  # `# nosec B404` and `# nosec B307` kept working
    assert m["bandit_version"] == installed_version("bandit") != "unknown"
    assert gate.note == f"4 findings (1 high, 2 medium, 1 low) in 4 files; 2 # nosec; bandit {m['bandit_version']}"


@pytest.mark.parametrize(
    ("severity", "confidence", "kept"),
    [
        ("medium", "low", {"B602", "B608@2", "B608@7"}),  # drops the low-severity assert
        ("low", "medium", {"B602", "B608@2", "B101"}),  # drops the low-confidence string-built query
        ("medium", "medium", {"B602", "B608@2"}),
        ("high", "high", {"B602"}),
    ],
)
def test_thresholds_apply_on_both_axes_and_are_counted(tmp_path, severity, confidence, kept):
    gate, _ = run_gate(project(tmp_path, "mixed"), {"bandit-severity": severity, "bandit-confidence": confidence})

    assert {f.code if f.code != "B608" else f"B608@{f.location.line}" for f in gate.findings} == kept
    assert gate.metrics["below_threshold"] == 4 - len(kept)
    assert f"{4 - len(kept)} below {severity}/{confidence} thresholds" in gate.note
    assert gate.status is Status.FAIL


def test_a_clean_project_passes(tmp_path):
    root = tmp_path / "clean"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.p21-lint]\n")
    (root / "app" / "math.py").write_text("def add(a, b):\n    return a + b\n")

    gate, errors = run_gate(root)

    assert (gate.status, errors, gate.findings, gate.metrics["files"]) == (Status.PASS, [], (), 1)


def test_fingerprints_survive_line_moves_and_tell_repeats_apart(tmp_path):
    root = project(tmp_path, "mixed")
    db = root / "app" / "db.py"
    db.write_text(db.read_text() + "\n\ndef again(cursor, name):\n    cursor.execute(\"SELECT * FROM users WHERE name = '%s'\" % name)\n")
    before, _ = run_gate(root)
    db.write_text('"""Queries."""\n\n\n' + db.read_text())
    after, _ = run_gate(root)

    def prints(gate):
        return sorted((f.code, f.location.path, f.fingerprint) for f in gate.findings)

    assert prints(before) == prints(after)
    assert {f.location.line for f in before.findings if f.code == "B608"} != {f.location.line for f in after.findings if f.code == "B608"}
    assert len({f.fingerprint for f in before.findings}) == len(before.findings)  # the two identical queries differ


def test_tool_bandit_skips_and_exclude_dirs_are_passed_to_bandit(tmp_path):
    root = project(tmp_path, "configured")
    configured, _ = run_gate(root)
    (root / "pyproject.toml").write_text("[tool.p21-lint]\n")
    unconfigured, _ = run_gate(root)

    assert located(configured) == {("B324", "app.py", 6, 12)}
    assert configured.metrics["excluded_by_bandit_config"] == 1
    assert "1 excluded by bandit config" in configured.note
    # the same files without [tool.bandit]: the assert and the vendored shell call are back
    assert {(code, path) for code, path, _, _ in located(unconfigured)} == {("B324", "app.py"), ("B101", "app.py"), ("B605", "vendor/shell.py")}


def test_a_dot_bandit_ini_file_at_the_root_is_passed_to_bandit(tmp_path):
    root = project(tmp_path, "configured")
    (root / "pyproject.toml").write_text("[tool.p21-lint]\n")
    (root / ".bandit").write_text("[bandit]\nskips = B101,B324\n")

    gate, errors = run_gate(root)

    assert errors == []
    assert {f.code for f in gate.findings} == {"B605"}


def test_per_file_ignores_suppress_bandit_codes(tmp_path):
    root = project(tmp_path, "mixed")
    (root / "pyproject.toml").write_text('[tool.p21-lint]\nexclude = ["generated/**"]\n[tool.p21-lint.per-file-ignores]\n"app/db.py" = ["B608"]\n"app/checks.py" = ["B1"]\n')

    gate, _ = run_gate(root)

    assert {(f.code, f.suppressed) for f in gate.findings} == {("B608", True), ("B101", True), ("B602", False)}
    assert gate.metrics["findings"] == 1 and gate.metrics["suppressed"] == 3
    assert gate.status is Status.FAIL


def test_bandit_in_pool_workers_answers_as_in_this_process(tmp_path, monkeypatch):
    root = project(tmp_path, "mixed")
    inline, inline_errors = run_gate(root, {"cache": False, "jobs": 1})
    monkeypatch.setattr(pool, "INLINE_BELOW", 1)  # four files, as if a large project: a pool of two workers
    pooled, pooled_errors = run_gate(root, {"cache": False, "jobs": 2})

    assert pooled_errors == inline_errors == []
    assert pooled == inline and pooled.findings


SECRETS = ("hunter2", "correct-horse-battery", "tr0ub4dor&3")


def test_hardcoded_secrets_are_reported_but_never_echoed(tmp_path):
    root = project(tmp_path, "secrets")
    out_file = tmp_path / "report.json"

    # SEC002 reports these lines too, and then bandit's repeats are dropped: ignore it to see bandit's own
    text = cli(str(root), "--format", "text", "--ignore", "SEC")
    as_json = cli(str(root), "--format", "json", "--ignore", "SEC", "--output", f"text:{tmp_path / 'report.txt'}", "--output", f"json:{out_file}")

    assert text.exit_code == as_json.exit_code == 1
    outputs = [text.output, as_json.output, out_file.read_text(), (tmp_path / "report.txt").read_text()]
    for output in outputs:
        for secret in SECRETS:
            assert secret not in output
    findings = [f for f in json.loads(as_json.stdout)["findings"] if f["source"] == "bandit"]
    assert [(f["code"], f["line"], f["message"]) for f in findings] == [
        ("B105", 1, "Possible hardcoded password: '***'"),
        ("B106", 5, "Possible hardcoded password: '***'"),
        ("B107", 8, "Possible hardcoded password: '***'"),
    ]
    assert "B105" in text.output and "settings.py" in text.output


def test_a_secret_does_not_feed_the_fingerprint(tmp_path):
    root = project(tmp_path, "secrets")
    gate, _ = run_gate(root)
    settings = root / "settings.py"
    settings.write_text(settings.read_text().replace("hunter2", "something-else"))
    changed, _ = run_gate(root)

    assert all(f.sensitive for f in gate.findings)
    assert [f.fingerprint for f in gate.findings] == [f.fingerprint for f in changed.findings]


def test_redaction_blanks_the_quoted_value_and_unfamiliar_messages_lose_every_literal():
    assert bandit_scan.redact("Possible hardcoded password: 'it's \"odd\"'", {}) == "Possible hardcoded password: '***'"
    assert bandit_scan.redact("Token sk_live_123 found", {3: 'API_TOKEN = "sk_live_123"'}) == "Token *** found"


def test_a_file_bandit_cannot_parse_is_a_tool_error_and_exit_2(tmp_path):
    root = project(tmp_path, "broken")

    result = cli(str(root), "--format", "json")

    report = json.loads(result.stdout)
    assert result.exit_code == 2
    assert report["verdict"] == "error"
    [bandit_error] = [e for e in report["errors"] if e["source"] == "bandit"]
    assert bandit_error["path"] == "bad.py"
    assert bandit_error["message"].startswith("bandit could not check this file: syntax error while parsing AST from file")
    assert "bandit parses with this Python" in bandit_error["message"]
    security_gate = next(g for g in report["gates"] if g["name"] == "security")
    assert security_gate["status"] == "error"
    # the other file is still checked and reported
    assert [(f["code"], f["path"]) for f in report["findings"]] == [("B324", "good.py")]


def test_no_security_skips_the_gate(tmp_path):
    result = cli(str(project(tmp_path, "secrets")), "--no-security", "--format", "json")

    report = json.loads(result.stdout)
    assert next(g for g in report["gates"] if g["name"] == "security")["status"] == "skipped"
    assert [f for f in report["findings"] if f["source"] == "bandit"] == []


def test_bandit_missing_is_a_tool_error_not_a_pass(tmp_path):
    gate, errors = run_gate(project(tmp_path, "mixed"), module="no_such_bandit")

    assert gate.status is Status.ERROR and gate.findings == ()
    assert len(errors) == 1
    assert errors[0].source == "bandit"
    assert errors[0].message.startswith("bandit is not installed in this environment") and "pip install bandit" in errors[0].message


def test_bandit_rejecting_the_project_config_is_a_tool_error_with_its_reason(tmp_path):
    root = project(tmp_path, "configured")
    (root / "pyproject.toml").write_text('[tool.p21-lint]\n\n[tool.bandit]\ntests = ["B999"]\n')

    result = cli(str(root), "--format", "json")

    report = json.loads(result.stdout)
    assert result.exit_code == 2
    assert next(g for g in report["gates"] if g["name"] == "security")["status"] == "error"
    [error] = [e for e in report["errors"] if e["source"] == "bandit" and e["path"] == ""]
    assert "selects no test that bandit has" in error["message"] and "`B999` is not a bandit test id" in error["message"]


def test_an_unknown_test_id_in_the_bandit_config_is_refused_not_ignored(tmp_path):
    root = project(tmp_path, "configured")
    (root / "pyproject.toml").write_text('[tool.p21-lint]\n\n[tool.bandit]\nskips = ["B10l"]\n')  # l for 1: bandit skips nothing

    gate, errors = run_gate(root)

    assert [(e.source, e.path) for e in errors] == [("bandit", "pyproject.toml")]
    assert "`B10l`" in errors[0].message
    assert gate.status is Status.ERROR
    assert "B101" in {f.code for f in gate.findings}  # the findings are still reported


def test_bandit_repeats_of_a_p21_finding_are_reported_once(tmp_path):
    """B105/B106/B107 beside SEC002 on the same lines: the p21 finding (which says what to write instead) stays."""
    root = project(tmp_path, "secrets")
    report = json.loads(cli(str(root), "--format", "json").stdout)
    codes = sorted((f["line"], f["code"]) for f in report["findings"] if f["code"].startswith(("B10", "SEC002")))
    assert [code for _, code in codes] == ["SEC002"] * len(codes) and codes
    gate = next(g for g in report["gates"] if g["name"] == "security")
    assert gate["metrics"]["repeats_of_p21"] == 3
    for secret in SECRETS:
        assert secret not in json.dumps(report)


def test_asserts_in_test_files_are_how_tests_are_written(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\n")
    (tmp_path / "app.py").write_text("def f(x):\n    assert x\n    return x\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text("from app import f\n\n\ndef test_f():\n    assert f(1) == 1\n")
    gate, errors = run_gate(tmp_path)
    assert errors == []
    assert [(f.code, f.location.path) for f in gate.findings] == [("B101", "app.py")]
    assert gate.metrics["asserts_in_tests"] == 1
