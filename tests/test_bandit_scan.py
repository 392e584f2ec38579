"""bandit in our workers says what the `bandit` command says: each project below is checked both ways, the command
run as p21-lint used to run it (`python -m bandit -f json -c pyproject.toml --ini .bandit ./file ...` in the root),
and every result, `# nosec` count, exclusion and error must match."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from p21_lint.config import load_config
from p21_lint.engine.pool import check_files
from p21_lint.engine.runner import FileSettings
from p21_lint.files import discover
from p21_lint.gates import bandit_scan, security

FIXTURES = Path(__file__).parent / "fixtures" / "security"
NOSEC = (
    "import subprocess  # nosec B404\n\n\ndef run(cmd):\n    assert cmd  # nosec\n"
    "    return subprocess.call(cmd, shell=True)  # nosec: B602, B101\n"
    "\n\ndef check(x):\n    assert x  # nosec assert_used\n    eval(x)  # nosec B999\n"
)


def bandit_command(root: Path, files: list[str]) -> dict[str, tuple]:
    """What the `bandit` command says per file: results, errors and whether it scanned the file."""
    args = []
    if "[tool.bandit]" in (root / "pyproject.toml").read_text():
        args += ["-c", str(root / "pyproject.toml")]
    if (root / ".bandit").is_file():
        args += ["--ini", str(root / ".bandit")]
    out = root.parent / "bandit.json"
    command = [sys.executable, "-m", "bandit", "-f", "json", "-q", *args, "-o", str(out), *(f"./{f}" for f in files)]
    subprocess.run(command, cwd=root, capture_output=True, check=False)
    data = json.loads(out.read_text())
    answers = {}
    for f in files:
        mine = [r for r in data["results"] if os.path.normpath(r["filename"]) == f]
        counts = data["metrics"].get(f"./{f}") or data["metrics"].get(f"././{f}")
        answers[f] = (
            counts is not None,
            sorted((r["test_id"], r["line_number"], r["col_offset"], r["issue_severity"], bandit_scan.redact(r["issue_text"], {}))
                   for r in mine),
            sorted(e["reason"] for e in data["errors"] if os.path.normpath(e["filename"]) == f),
            (counts or {}).get("nosec", 0),
            (counts or {}).get("skipped_tests", 0),
        )
    return answers


def in_process(root: Path) -> dict[str, tuple]:
    config = load_config((root,), overrides={"cache": False})
    run = security.start(config)
    check_files(discover(config), FileSettings(rules=()), 1, None, run)
    assert not run.failure
    return {
        rel: (
            a.scanned,
            sorted((f.code, f.location.line, f.location.column - 1, str(f.severity).upper(), f.message) for f in a.findings),
            sorted(a.errors),
            a.nosec,
            a.skipped_tests,
        )
        for rel, a in run.answers.items()
    }


def project(tmp_path: Path, name: str, **files: str) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / name, root)
    (root / "nosec.py").write_text(NOSEC)
    for rel, text in files.items():
        (root / rel.replace("__", "/").replace("_DOT_", ".")).write_text(text)
    return root


CASES = {
    "no bandit settings": ("mixed", {}),
    "[tool.bandit] skips and exclude_dirs": ("configured", {}),
    ".bandit skips": ("mixed", {"_DOT_bandit": "[bandit]\nskips = B101,B404\n"}),
    ".bandit tests": ("mixed", {"_DOT_bandit": "[bandit]\ntests = B602,B608,B101\n"}),
    ".bandit exclude, a folder and a file": ("mixed", {"_DOT_bandit": "[bandit]\nexclude = app/checks.py,vendor\n"}),
    ".bandit ignore-nosec": ("mixed", {"_DOT_bandit": "[bandit]\nignore-nosec = true\n"}),
    ".bandit configfile": ("mixed", {"_DOT_bandit": "[bandit]\nconfigfile = bandit.yaml\n", "bandit_DOT_yaml": "skips: ['B602']\n"}),
    ".bandit without a [bandit] section": ("configured", {"_DOT_bandit": "skips = B324\n"}),
    "[tool.bandit] plugin settings": ("mixed", {"pyproject_DOT_toml": '[tool.p21-lint]\nexclude = ["generated/**"]\n\n[tool.bandit.any_other_function_with_shell_equals_true]\nno_shell = ["subprocess.call"]\n'}),
    "a file bandit cannot parse": ("broken", {}),
    "hard-coded secrets": ("secrets", {}),
}


@pytest.mark.parametrize("case", CASES)
def test_bandit_in_process_says_what_the_bandit_command_says(tmp_path, case):
    name, files = CASES[case]
    if name == "configured":
        (tmp_path / "vendor").mkdir()
    root = project(tmp_path, name, **files)
    if "vendor" in files.get("_DOT_bandit", ""):
        (root / "vendor").mkdir(exist_ok=True)
        (root / "vendor" / "lib.py").write_text("import pickle\n\n\ndef load(b):\n    return pickle.loads(b)\n")

    ours = in_process(root)
    theirs = bandit_command(root, sorted(ours))

    assert ours == theirs
    assert any(findings for _, findings, *_ in ours.values())  # each case has something to compare



def test_a_bandit_test_that_crashes_is_a_tool_error_not_a_silent_miss(tmp_path):
    """bandit only logs a test of its that raised and goes on: the file was not fully checked, so the gate says so
    (Netflix/lemur#3391 asked bandit for the same). `mark_safe(**kw)` makes bandit 1.9's django_mark_safe raise."""
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\n")
    (tmp_path / "views.py").write_text(
        "import subprocess\nfrom django.utils.safestring import mark_safe\n\n\ndef show(kw):\n"
        "    subprocess.call(kw['cmd'], shell=True)\n    return mark_safe(**kw)\n"
    )
    config = load_config((tmp_path,), overrides={"cache": False})
    run = security.start(config)
    check_files(discover(config), FileSettings(rules=()), 1, None, run)
    gate, errors = security.finish(run, config)

    [error] = errors
    assert error.path == "views.py" and "its test django_mark_safe crashed at line 7" in error.message
    assert '`skips = ["B703"]` in [tool.bandit]' in error.message
    assert gate.status.value == "error"
    assert {"B602", "B308"} <= {f.code for f in gate.findings}  # what its other tests found is still reported
