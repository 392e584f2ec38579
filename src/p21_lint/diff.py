"""`--diff-base REF`: which lines a change touches, from git.

The change is everything since the merge-base of HEAD and REF, including uncommitted edits and new files that
git does not ignore. In a shallow clone that lacks the base, that is an error that says which `git fetch` fixes it.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from p21_lint.files import relpath

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


class DiffError(Exception):
    """git could not say what changed: a tool error, exit 2."""


@dataclass(frozen=True)
class ChangedLines:
    base: str  # the merge-base commit
    lines: dict[str, frozenset[int] | None]  # path -> changed lines; None: the whole file is new

    def touches(self, path: str, line: int) -> bool:
        if path not in self.lines:
            return False
        changed = self.lines[path]
        return changed is None or line in changed


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise DiffError("--diff-base needs git, and git is not installed") from None
    except subprocess.TimeoutExpired:
        raise DiffError(f"git {args[0]} did not answer within 120 s") from None


def changed_lines(root: Path, ref: str) -> ChangedLines:
    top = _git(root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise DiffError(f"--diff-base {ref}: {root} is not inside a git repository")
    toplevel = Path(top.stdout.strip())
    merge_base = _git(root, "merge-base", "HEAD", ref)
    if merge_base.returncode != 0:
        shallow = _git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        known = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0
        if shallow:
            raise DiffError(
                f"--diff-base {ref}: this is a shallow clone without the common ancestor of HEAD and {ref}; "
                f"fetch more history, e.g. `git fetch --unshallow` (or `git fetch --deepen=200 origin {ref}`), "
                "or in GitHub Actions check out with `fetch-depth: 0`"
            )
        if not known:
            raise DiffError(f"--diff-base {ref}: git does not know `{ref}`; fetch it first, e.g. `git fetch origin {ref}`")
        raise DiffError(f"--diff-base {ref}: no common ancestor with HEAD ({merge_base.stderr.strip()})")
    base = merge_base.stdout.strip()

    diff = _git(root, "diff", "--no-color", "--no-ext-diff", "-U0", "-M", base, "--", ".")
    if diff.returncode != 0:
        raise DiffError(f"git diff {base[:12]} failed: {diff.stderr.strip()}")
    lines: dict[str, frozenset[int] | None] = {}
    for block in re.split(r"^diff --git ", diff.stdout, flags=re.MULTILINE)[1:]:
        target = re.search(r"^\+\+\+ (?:b/)?(.+)$", block, re.MULTILINE)
        if not target or target.group(1) == "/dev/null":
            continue  # a deleted file has no lines to check
        changed: set[int] = set()
        for m in _HUNK.finditer(block):
            start, count = int(m.group(1)), int(m.group(2) or 1)
            changed.update(range(start, start + count))
        lines[relpath(toplevel / target.group(1), root.resolve())] = frozenset(changed)

    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "--full-name", "--", ".")
    for name in untracked.stdout.splitlines():
        lines[relpath(toplevel / name, root.resolve())] = None
    return ChangedLines(base, lines)
