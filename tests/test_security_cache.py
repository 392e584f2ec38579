"""The security gate's cache: bandit runs only on the files whose answer is not cached, and a warm run reports
exactly what a cold one does. Real bandit, real cache files in tmp dirs (fixtures: tests/fixtures/security)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from p21_lint.cli import main
from p21_lint.config import load_config
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
    config = load_config((root,), overrides=overrides)
    run = security.start(discover(config), config)
    gate, errors = security.finish(run, config)
    return run, gate, errors


def given(run: security.BanditRun) -> list[str]:
    """The files bandit was started on."""
    return sorted(arg for chunk in run.chunks for arg in chunk.process.args if arg.startswith("./"))


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
    assert run.chunks == [] and len(run.known) == len(run.files) == 5
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

    assert given(run) == ["./app/db.py"]
    assert (gate, errors) == (uncached, uncached_errors)
    assert [f.location.line for f in gate.findings if f.code == "B608"] == [2, 7, 11]


def test_the_bandit_configuration_content_is_part_of_the_key(tmp_path):
    root = project(tmp_path, "configured")  # [tool.bandit]: skips B101, exclude_dirs vendor
    _, cold, _ = gate_run(root)
    run, warm, _ = gate_run(root)

    assert run.chunks == [] and warm == cold
    assert warm.metrics["excluded_by_bandit_config"] == 1 and warm.metrics["files"] == 1
    assert {f.code for f in warm.findings} == {"B324"}

    (root / "pyproject.toml").write_text('[tool.p21-lint]\n\n[tool.bandit]\nexclude_dirs = ["vendor"]\n')
    run, changed, _ = gate_run(root)
    assert given(run) == ["./app.py", "./vendor/shell.py"]
    assert {f.code for f in changed.findings} == {"B324", "B101"}

    (root / ".bandit").write_text("[bandit]\nskips = B324\n")
    run, with_ini, _ = gate_run(root)
    assert given(run) == ["./app.py", "./vendor/shell.py"]
    assert {f.code for f in with_ini.findings} == {"B101"}


def test_what_bandit_says_about_its_configuration_survives_a_warm_run(tmp_path):
    root = project(tmp_path, "configured")
    (root / "pyproject.toml").write_text('[tool.p21-lint]\n\n[tool.bandit]\nskips = ["B10l"]\n')  # l for 1
    _, cold, cold_errors = gate_run(root)
    run, warm, warm_errors = gate_run(root)

    assert run.chunks == []
    assert (warm, warm_errors) == (cold, cold_errors)
    assert [(e.path, "`B10l`" in e.message) for e in warm_errors] == [("pyproject.toml", True)]
    assert warm.status is Status.ERROR

    # the verdict's entry lost (corrupt): bandit runs again, on one file, to say it again
    [verdict] = [p for p in entries(root) if b"BanditVerdict" in p.read_bytes()]
    verdict.write_bytes(b"\x80\x05 not a pickle")
    run, again, again_errors = gate_run(root)
    assert len(given(run)) == 1
    assert (again, again_errors) == (cold, cold_errors)


def test_a_corrupt_entry_is_ignored_and_rewritten(tmp_path):
    root = project(tmp_path, "mixed")
    _, cold, _ = gate_run(root)
    for path in entries(root):
        path.write_bytes(path.read_bytes()[:20])  # truncated

    run, gate, _ = gate_run(root)
    assert given(run) == ["./app/__init__.py", "./app/checks.py", "./app/db.py", "./app/run.py"]
    assert gate == cold
    assert gate_run(root)[0].chunks == []  # and stored again


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
    config = load_config((root,))
    first = security.start(discover(config), config)
    second = security.start(discover(config), config)  # both running bandit now, both to write the same entries
    one, two = security.finish(first, config), security.finish(second, config)

    run, warm, warm_errors = gate_run(root)
    assert run.chunks == []
    assert one == two == (warm, warm_errors)


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
    assert gate_run(root)[0].chunks == []


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

    assert errors == [] and run.scratch is None  # the copies are gone
    by_file = {path: sorted((f.code, f.location.line, f.location.column, f.message) for f in gate.findings if f.location.path == path)
               for path in ("app/lf.py", "app/mac.py", "app/mixed.py")}
    assert by_file["app/lf.py"] == by_file["app/mac.py"] == by_file["app/mixed.py"] != []
    assert [code for code, *_ in by_file["app/mac.py"]] == ["B101"]  # B404 and B602: `# nosec`
    assert gate.metrics["skipped_tests"] == 6
    # and a cached run says the same, cold and warm
    cold, warm = gate_run(root), gate_run(root)
    assert warm[0].chunks == [] and cold[1:] == warm[1:] == (gate, errors)


def test_many_uncached_files_are_split_across_half_the_jobs(tmp_path, monkeypatch):
    root = project(tmp_path, "mixed")
    _, one_process, _ = gate_run(root, {"cache": False, "jobs": 1})
    monkeypatch.setattr(security, "SPLIT_BYTES", 1)  # as if these four small files were a large project
    config = load_config((root,), overrides={"cache": False, "jobs": 4})  # the libcst pool has the other half
    run = security.start(discover(config), config)
    gate, errors = security.finish(run, config)

    assert len(run.chunks) == 2 and errors == []
    assert gate == one_process
    assert security._split([("./a.py", 500), ("./b.py", 300), ("./c.py", 200), ("./d.py", 100)], 2) == [
        ["./a.py", "./d.py"], ["./b.py", "./c.py"]
    ]
