"""Run p21-lint on source text: for rule tests, the rule pages and users' own rule tests.

It writes the files into a temporary project and runs the real pipeline (`run_check`), so what a test sees is
what a user sees.
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from pathlib import Path

from p21_lint.check import run_check
from p21_lint.config import load_config
from p21_lint.model import Report

MARKER = re.compile(r"#\s*error:\s*(?P<codes>[A-Z][A-Z0-9]*[0-9]{3}(?:\s*,\s*[A-Z][A-Z0-9]*[0-9]{3})*)")


def lint_project(files: dict[str, str], config: str = "", *, security: bool = False) -> Report:
    """Lint a project given as {relative path: source}. `config` is the body of [tool.p21-lint] (TOML)."""
    with tempfile.TemporaryDirectory(prefix="p21-test-") as tmp:
        root = Path(tmp)
        toml = "[tool.p21-lint]\n" + ("" if security else "security = false\n") + textwrap.dedent(config)
        (root / "pyproject.toml").write_text(toml, encoding="utf-8")
        if "diff-base" in config:
            _commit_base(root)  # a repository whose base holds only pyproject.toml: every given file is new
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return run_check(load_config((root,), root / "pyproject.toml"))


def _commit_base(root: Path) -> None:
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(root), "PATH": os.environ.get("PATH", "")}
    for args in (["init", "-q", "-b", "main"], ["add", "pyproject.toml"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def lint(source: str, path: str = "app.py", config: str = "") -> Report:
    return lint_project({path: source}, config)


def expected_markers(files: dict[str, str]) -> list[tuple[str, int, str]]:
    """(path, line, code) for every `# error: CODE[, CODE]` marker."""
    out = []
    for rel, text in files.items():
        for number, line in enumerate(textwrap.dedent(text).splitlines(), 1):
            if m := MARKER.search(line):
                out.extend((rel, number, c.strip()) for c in m.group("codes").split(","))
    return sorted(out)


def found_markers(report: Report) -> list[tuple[str, int, str]]:
    return sorted((f.location.path, f.location.line, f.code) for f in report.findings if not f.suppressed)
