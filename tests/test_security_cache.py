"""The security gate's cache: bandit runs only on the files whose answer is not cached, and a warm run reports
exactly what a cold one does. Real bandit, real cache files in tmp dirs (fixtures: tests/fixtures/security)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from p21_lint.cli import main
from p21_lint.config import load_config
from p21_lint.engine.pool import check_files
from p21_lint.engine.runner import FileSettings
from p21_lint.files import discover
from p21_lint.gates import security
from p21_lint.model import Status

FIXTURES = Path(__file__).parent / "fixtures" / "security"
SECRETS = ("hunter2", "correct-horse-battery", "tr0ub4dor&3")


def project(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "project"
    for name in names:
        shutil.copytree(FIXTURES / name, root, dirs_exist_ok=True)
    return root


def gate_run(root: Path, overrides: dict | None = None):
    """The security gate alone: bandit's checks in the per-file pass (no rules), then the gate."""
    config = load_config((root,), overrides=overrides)
    run = security.start(config)
    check_files(discover(config), FileSettings(rules=()), config.jobs, None, run)
    gate, errors = security.finish(run, config)
    return run, gate, errors


def given(run: security.BanditRun) -> list[str]:
    """The files bandit checked in this run (its answer was not cached)."""
    return run.checked_now


def entries(root: Path) -> list[Path]:
    return sorted((root / ".p21_cache").rglob("*.bandit"))


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_a_warm_run_starts_no_bandit_and_reports_byte_identical_json_without_storing_secrets(tmp_path):
    root = project(tmp_path, "secrets", "mixed")  # mixed's pyproject.toml (its excludes) wins
    args = (str(root), "--format", "json", "--ignore", "SEC002")  # SEC002 off: bandit's B105 is reported, not dropped

    cold = cli(*args)
    warm = cli(*args)
    uncached = cli(*args, "--no-cache")

    assert cold.exit_code == warm.exit_code == uncached.exit_code == 1
    assert cold.stdout_bytes == warm.stdout_bytes == uncached.stdout_bytes
    report = json.loads(warm.stdout)
    assert {(f["code"], f["message"]) for f in report["findings"] if f["path"] == "settings.py"} == {
        (code, "Possible hardcoded password: '***'") for code in ("B105", "B106", "B107")
    }
    assert {"B101", "B602", "B608"} <= {f["code"] for f in report["findings"]}
    security_gate = next(g for g in report["gates"] if g["name"] == "security")
    assert security_gate["metrics"]["skipped_tests"] == 2  # the `# nosec B404` / `# nosec B307` counts survive too

    # the warm run gave bandit nothing to do
    run, _, _ = gate_run(root)
    assert given(run) == [] and len(run.answers) == len(run.given) == 5
    # and what the cache holds names no secret (nor do p21's own cache entries)
    stored = [p.read_bytes() for p in (root / ".p21_cache").rglob("*") if p.is_file()]
    assert len(entries(root)) == 6  # five files and the verdict on the configuration
    for secret in SECRETS:
        assert not any(secret.encode() in data for data in stored), secret


def test_only_a_changed_file_goes_to_bandit_again(tmp_path):
    root = project(tmp_path, "mixed")
    gate_run(root)
    db = root / "app" / "db.py"
    db.write_text(db.read_text() + '\n\ndef drop(cursor, table):\n    cursor.execute("DELETE FROM %s" % table)\n')

    run, gate, errors = gate_run(root)
    _, uncached, uncached_errors = gate_run(root, {"cache": False})

    assert given(run) == ["app/db.py"]
    assert (gate, errors) == (uncached, uncached_errors)
    assert [f.location.line for f in gate.findings if f.code == "B608"] == [2, 7, 11]


def test_the_bandit_configuration_content_is_part_of_the_key(tmp_path):
    root = project(tmp_path, "configured")  # [tool.bandit]: skips B101, exclude_dirs vendor
    _, cold, _ = gate_run(root)
    run, warm, _ = gate_run(root)

    assert given(run) == [] and warm == cold
    assert warm.metrics["excluded_by_bandit_config"] == 1 and warm.metrics["files"] == 1
    assert {f.code for f in warm.findings} == {"B324"}

    (root / "pyproject.toml").write_text('[tool.p21-lint]\n\n[tool.bandit]\nexclude_dirs = ["vendor"]\n')
    run, changed, _ = gate_run(root)
    assert given(run) == ["app.py", "vendor/shell.py"]
    assert {f.code for f in changed.findings} == {"B324", "B101"}

    (root / ".bandit").write_text("[bandit]\nskips = B324\n")
    run, with_ini, _ = gate_run(root)
    assert given(run) == ["app.py", "vendor/shell.py"]
    assert {f.code for f in with_ini.findings} == {"B101"}


def test_what_bandit_says_about_its_configuration_survives_a_warm_run(tmp_path):
    root = project(tmp_path, "configured")
    (root / "pyproject.toml").write_text('[tool.p21-lint]\n\n[tool.bandit]\nskips = ["B10l"]\n')  # l for 1
    _, cold, cold_errors = gate_run(root)
    run, warm, warm_errors = gate_run(root)

    assert given(run) == []
    assert (warm, warm_errors) == (cold, cold_errors)
    assert [(e.path, "`B10l`" in e.message) for e in warm_errors] == [("pyproject.toml", True)]
    assert warm.status is Status.ERROR

    # the verdict's entry lost (corrupt): bandit is set up again to say it again, and checks no file
    [verdict] = [p for p in entries(root) if b"BanditVerdict" in p.read_bytes()]
    verdict.write_bytes(b"\x80\x05 not a pickle")
    run, again, again_errors = gate_run(root)
    assert given(run) == []
    assert (again, again_errors) == (cold, cold_errors)


def test_a_corrupt_entry_is_ignored_and_rewritten(tmp_path):
    root = project(tmp_path, "mixed")
    _, cold, _ = gate_run(root)
    for path in entries(root):
        path.write_bytes(path.read_bytes()[:20])  # truncated

    run, gate, _ = gate_run(root)
    assert given(run) == ["app/__init__.py", "app/checks.py", "app/db.py", "app/run.py"]
    assert gate == cold
    assert given(gate_run(root)[0]) == []  # and stored again


def test_no_cache_reads_and_writes_none(tmp_path):
    root = project(tmp_path, "mixed")
    run, _, _ = gate_run(root, {"cache": False})
    assert run.cache is None and not (root / ".p21_cache").exists()
    assert cli(str(root), "--no-cache", "--format", "json").exit_code == 1
    assert not (root / ".p21_cache").exists()
    (root / "pyproject.toml").write_text('[tool.p21-lint]\nexclude = ["generated/**"]\ncache = false\n')
    cli(str(root), "--format", "json")
    assert not (root / ".p21_cache").exists()


def test_two_runs_at_once_share_the_cache(tmp_path):
    root = project(tmp_path, "mixed")
    command = [sys.executable, "-m", "p21_lint", "check", str(root), "--format", "json", "--no-style"]
    # two checks at once, both to write the same entries
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]

    assert [run.returncode for run in runs] == [1, 1]
    assert outputs[0] == outputs[1] and outputs[0][1] == b""
    run, warm, _ = gate_run(root)
    assert given(run) == []
    metrics = next(g for g in json.loads(outputs[0][0])["gates"] if g["name"] == "security")["metrics"]
    assert metrics["files"] == warm.metrics["files"] == 4
    assert metrics["findings"] + metrics["repeats_of_p21"] == warm.metrics["findings"]  # the check drops p21's repeats


def test_a_malformed_dot_bandit_file_is_refused_not_ignored_cold_and_warm(tmp_path):
    root = project(tmp_path, "configured")
    (root / "pyproject.toml").write_text("[tool.p21-lint]\n")
    (root / ".bandit").write_text("skips = B101,B324\n")  # no [bandit] section: bandit warns, then uses none of it

    cold = cli(str(root), "--format", "json")
    warm = cli(str(root), "--format", "json")

    assert cold.exit_code == warm.exit_code == 2
    assert cold.stdout_bytes == warm.stdout_bytes
    report = json.loads(warm.stdout)
    [error] = [e for e in report["errors"] if e["source"] == "bandit"]
    assert error["path"] == ".bandit"
    assert "bandit cannot read this file" in error["message"] and "[bandit]" in error["message"]
    assert next(g for g in report["gates"] if g["name"] == "security")["status"] == "error"
    assert {"B101", "B324"} <= {f["code"] for f in report["findings"]}  # what bandit did without the settings
    assert given(gate_run(root)[0]) == []


NOSEC = "import subprocess  # nosec B404\n\n\ndef run(cmd):\n    assert cmd\n    return subprocess.call(cmd, shell=True)  # nosec B602\n"


def test_lone_cr_line_endings_are_given_to_bandit_as_python_reads_them(tmp_path):
    """bandit tokenizes a file by `\\n` only: with lone CRs its `# nosec` scan sees one line (or, where they mix
    with other endings, raises a syntax error for a file Python reads)."""
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.p21-lint]\n")
    (root / "app" / "lf.py").write_bytes(NOSEC.encode())
    (root / "app" / "mac.py").write_bytes(NOSEC.replace("\n", "\r").encode())
    mixed = NOSEC.encode().replace(b"\n\n\n", b"\r\n\n\r").replace(b"    assert cmd\n", b"    assert cmd\r")
    (root / "app" / "mixed.py").write_bytes(mixed)

    run, gate, errors = gate_run(root, {"cache": False})

    assert errors == []
    by_file = {path: sorted((f.code, f.location.line, f.location.column, f.message) for f in gate.findings if f.location.path == path)
               for path in ("app/lf.py", "app/mac.py", "app/mixed.py")}
    assert by_file["app/lf.py"] == by_file["app/mac.py"] == by_file["app/mixed.py"] != []
    assert [code for code, *_ in by_file["app/mac.py"]] == ["B101"]  # B404 and B602: `# nosec`
    assert gate.metrics["skipped_tests"] == 6
    # and a cached run says the same, cold and warm
    cold, warm = gate_run(root), gate_run(root)
    assert given(warm[0]) == [] and cold[1:] == warm[1:] == (gate, errors)


def test_a_config_file_that_dot_bandit_names_is_part_of_the_key(tmp_path):
    root = project(tmp_path, "mixed")
    (root / ".bandit").write_text("[bandit]\nconfigfile = bandit.yaml\n")
    (root / "bandit.yaml").write_text("skips: ['B101']\n")
    _, before, _ = gate_run(root)
    assert "B602" in {f.code for f in before.findings}

    (root / "bandit.yaml").write_text("skips: ['B101', 'B602']\n")
    run, after, _ = gate_run(root)

    assert given(run) != []  # the cached answers were made under the other settings
    assert "B602" not in {f.code for f in after.findings}
