"""Gating new code on an existing codebase: the baseline, --diff-base, and changed-line coverage (COV003).

Real git repositories in tmp dirs (commits, branches, a shallow clone) and real coverage data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from p21_lint.cli import main

OLD = """\
def old():
    try:
        work()
    except Exception:
        pass
"""
NEW = """\


def new():
    try:
        work()
    except Exception:
        pass
"""
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\n")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def run(root: Path, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["check", str(root), "--format", "json", "--no-cache", *args])
    return result.exit_code, json.loads(result.output)


def active(report: dict) -> list[tuple[str, int, str]]:
    return [(f["path"], f["line"], f["code"]) for f in report["findings"] if not f["suppressed"] and not f["outside_diff"]]


def test_baseline_accepts_old_findings_and_fails_new_ones(tmp_path):
    root = repo(tmp_path, {"app.py": OLD})
    written = CliRunner().invoke(main, ["baseline", "write", str(root / "base.json"), str(root), "--no-security"])
    assert written.exit_code == 0, written.output
    data = json.loads((root / "base.json").read_text())
    assert [(e["path"], e["code"], e["count"]) for e in data["findings"]] == [("app.py", "ERR001", 1)]

    code, report = run(root, "--baseline", str(root / "base.json"))
    assert code == 0 and active(report) == [] and report["findings"][0]["suppressed_by"] == "baseline"

    # moving the old code down does not make it new; a second identical handler in the same place is new
    (root / "app.py").write_text("import os\n\n\n" + OLD)
    code, _ = run(root, "--baseline", str(root / "base.json"))
    assert code == 0
    (root / "app.py").write_text(OLD + NEW)
    code, report = run(root, "--baseline", str(root / "base.json"))
    assert code == 1 and active(report) == [("app.py", 11, "ERR001")]


def test_baseline_file_is_sorted_and_stable_and_stale_entries_are_counted(tmp_path):
    root = repo(tmp_path, {"b.py": OLD, "a.py": OLD + NEW})
    for name in ("one.json", "two.json"):
        CliRunner().invoke(main, ["baseline", "write", str(root / name), str(root), "--no-security"])
    first = (root / "one.json").read_text()
    assert first == (root / "two.json").read_text()
    entries = json.loads(first)["findings"]
    assert [e["path"] for e in entries] == sorted(e["path"] for e in entries)

    (root / "b.py").write_text("x = 1\n")  # fixed: its entry is now stale
    code, report = run(root, "--baseline", str(root / "one.json"))
    assert code == 0 and report["metrics"]["baseline_stale"] == 1


def test_a_baseline_that_is_not_ours_is_a_tool_error(tmp_path):
    root = repo(tmp_path, {"app.py": OLD})
    (root / "base.json").write_text('{"results": []}')
    code, report = run(root, "--baseline", str(root / "base.json"))
    assert code == 2 and report["errors"][0]["source"] == "baseline"


def test_diff_base_fails_only_findings_on_changed_lines(tmp_path):
    root = repo(tmp_path, {"app.py": OLD})
    git(root, "checkout", "-q", "-b", "feature")
    (root / "app.py").write_text(OLD + NEW)
    git(root, "commit", "-q", "-am", "add new()")
    (root / "extra.py").write_text(OLD)  # untracked and not ignored: all of it is new

    code, report = run(root, "--diff-base", "main")
    assert code == 1
    assert active(report) == [("app.py", 11, "ERR001"), ("extra.py", 4, "ERR001")]
    old = [f for f in report["findings"] if f["outside_diff"]]
    assert [(f["path"], f["line"]) for f in old] == [("app.py", 4)]  # shown, not failing
    assert report["metrics"]["diff_base"] == git(root, "rev-parse", "main").strip()


def test_diff_base_with_an_unknown_ref_or_a_shallow_clone_exits_2_with_the_fix(tmp_path):
    root = repo(tmp_path, {"app.py": OLD})
    code, report = run(root, "--diff-base", "no-such-branch")
    assert code == 2 and "git fetch origin no-such-branch" in report["errors"][0]["message"]

    git(root, "checkout", "-q", "-b", "feature")
    for n in range(3):
        (root / f"m{n}.py").write_text("x = 1\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"feature {n}")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{root}", str(clone))
    git(clone, "fetch", "-q", "--depth", "1", "origin", "main:main")
    code, report = run(clone, "--diff-base", "main")
    assert code == 2
    assert "shallow clone" in report["errors"][0]["message"] and "git fetch --unshallow" in report["errors"][0]["message"]


SERVICE = """\
def discount(total, percent):
    if percent < 0:
        raise ValueError("negative")
    return total - total * percent // 100
"""
ADDED = """\


def surcharge(total, country):
    if country == "XX":
        return total * 2
    return total
"""
TESTS = """\
import unittest

from app.pricing import discount, surcharge


class T(unittest.TestCase):
    def test_discount(self):
        self.assertEqual(discount(100, 10), 90)

    def test_surcharge(self):
        self.assertEqual(surcharge(100, "DE"), 100)
"""


def _measure(root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    args = ["-m", "coverage", "run", "--source=app", "-m", "unittest", "discover", "-s", "tests", "-p", "check_*.py", "-t", "."]
    subprocess.run([sys.executable, *args], cwd=root, env=env, check=True, capture_output=True)


def test_changed_line_coverage_gates_the_change_not_the_old_total(tmp_path):
    root = repo(tmp_path, {"app/__init__.py": "", "app/pricing.py": SERVICE, "tests/__init__.py": "",
                           "tests/check_pricing.py": TESTS.replace(", surcharge", "").split("    def test_surcharge")[0]})
    (root / ".gitignore").write_text(".coverage\n.p21_cache/\n")
    git(root, "checkout", "-q", "-b", "feature")
    (root / "app/pricing.py").write_text(SERVICE + ADDED)
    (root / "tests/check_pricing.py").write_text(TESTS)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "surcharge")
    _measure(root)

    # total: 7 of 9 statements (78%) is below 80, but in --diff-base mode only the change is held to it:
    # the change adds 4 statements of which 3 ran (75%) -> COV003 fails
    code, report = run(root, "--diff-base", "main", "--min-coverage", "80")
    gate = next(g for g in report["gates"] if g["name"] == "coverage")
    assert code == 1 and gate["status"] == "fail"
    assert [f["code"] for f in report["findings"] if f["source"] == "coverage" and not f["outside_diff"]] == ["COV003"]
    assert gate["metrics"]["diff"]["files"] == {"app/pricing.py": {"missing": [9], "coverable": 4}}

    # a lower bar for the change alone passes, while the old total is only shown
    code, report = run(root, "--diff-base", "main", "--min-coverage", "80", "--min-diff-coverage", "75")
    gate = next(g for g in report["gates"] if g["name"] == "coverage")
    assert code == 0 and gate["status"] == "pass"
    assert [f["code"] for f in report["findings"] if f["outside_diff"]] == ["COV001"]


def test_a_change_without_coverable_lines_says_so(tmp_path):
    root = repo(tmp_path, {"app/__init__.py": "", "app/pricing.py": SERVICE, "tests/__init__.py": "",
                           "tests/check_pricing.py": TESTS.replace(", surcharge", "").split("    def test_surcharge")[0]})
    (root / ".gitignore").write_text(".coverage\n.p21_cache/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "ignore")
    git(root, "checkout", "-q", "-b", "docs")
    (root / "README.md").write_text("docs only\n")
    _measure(root)
    code, report = run(root, "--diff-base", "main", "--min-diff-coverage", "80")
    gate = next(g for g in report["gates"] if g["name"] == "coverage")
    assert code == 0 and "none coverable" in gate["note"]
    assert gate["metrics"]["diff"]["statements"] == 0
