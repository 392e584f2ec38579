"""The pre-commit hooks, run by the real pre-commit (`pre-commit try-repo`) in temporary git repositories.

try-repo installs the hook repository from a commit, and untracked files of a dirty checkout do not reach it, so
the test commits a copy of what the package needs (pyproject, sources, rule pages, the hooks file) into a fresh
repository and points try-repo at that. pre-commit then builds a virtualenv and pip-installs p21-lint with its
dependencies, which takes a while: the test is marked `slow` (CI runs it; `-m "not slow"` skips it locally).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
PACKAGE = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "src", "rules")
GIT = ["git", "-c", "user.name=p21", "-c", "user.email=p21@example.com", "-c", "commit.gpgsign=false",
       "-c", "init.defaultBranch=main"]


def test_hooks_are_declared_as_documented():
    hooks = {h["id"]: h for h in HOOKS}
    assert list(hooks) == ["p21-lint", "p21-lint-gate"]
    fast, gate = hooks["p21-lint"], hooks["p21-lint-gate"]
    assert fast["entry"] == "p21-lint check --no-security --no-coverage" and fast["types"] == ["python"]
    assert fast["language"] == gate["language"] == "python"
    assert fast.get("pass_filenames", True) and fast["require_serial"]  # our own pool; cross-file rules see all files
    assert gate["pass_filenames"] is False and gate["always_run"] is True
    assert gate["stages"] == ["pre-push", "manual"]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True)


def _commit_all(path: Path) -> None:
    _git(path, "init", "-q")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "snapshot")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    """The working tree's package files, committed: what try-repo installs."""
    copy = tmp_path_factory.mktemp("hook-repo") / "p21-lint"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".p21_cache")
    for name in PACKAGE:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, copy / name, ignore=ignore)
        else:
            copy.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / name)
    _commit_all(copy)
    return copy


def _pre_commit() -> list[str]:
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("pre-commit is not installed (pip install pre-commit)")
        pytest.skip("pre-commit is not installed")
    return [sys.executable, "-m", "pre_commit"]


def _project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.p21-lint]\ncache = false\n", encoding="utf-8")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    _commit_all(root)
    return root


@pytest.mark.slow
def test_try_repo_fails_on_a_violation_and_passes_clean_code(hook_repo, tmp_path):
    pre_commit = _pre_commit()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PRE_COMMIT_COLOR": "never"}
    env.pop("VIRTUAL_ENV", None)

    bad = _project(tmp_path / "bad", {"app/pay.py": "def pay(o):\n    try:\n        o.pay()\n    except Exception:\n        pass\n"})
    proc = subprocess.run([*pre_commit, "try-repo", str(hook_repo), "p21-lint", "--all-files"],
                          cwd=bad, env=env, capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "ERR001" in out and "app/pay.py" in out and "Failed" in out

    clean = _project(tmp_path / "clean", {"app/pay.py": "def pay(o):\n    return o.pay()\n"})
    proc = subprocess.run([*pre_commit, "try-repo", str(hook_repo), "p21-lint", "--all-files"],
                          cwd=clean, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout
