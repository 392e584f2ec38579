"""Which files are checked, and reading them safely.

Paths in everything p21-lint reports are POSIX paths relative to the project root.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from p21_lint.config import Config
from p21_lint.model import ToolError

# ruff's default excludes: folders that are never the project's own source.
DEFAULT_EXCLUDES = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache", ".nox",
    ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv", ".vscode",
    "__pypackages__", "__pycache__", "_build", "buck-out", "build", "dist", "node_modules", "site-packages",
    "venv", ".p21_cache", "*.egg-info",
)
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # POSIX, relative to the project root
    is_test: bool
    module: str = ""  # dotted module name, as the project's own imports spell it


@functools.lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """gitignore-like globs: `*` within a segment, `**` across segments; no slash means any segment (or subpath)."""
    pattern = pattern.strip().rstrip("/")
    if pattern.startswith("./"):  # `./scripts` is `/scripts`: anchored at the root
        pattern = pattern[1:]
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    body = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    # a pattern that names a folder also covers everything below it
    return re.compile(f"^{prefix}{body}(?:/.*)?$")


def matches_any(rel: str, patterns: tuple[str, ...] | list[str]) -> bool:
    return any(glob_regex(p).match(rel) for p in patterns)


def relpath(path: Path, root: Path) -> str:
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link or a link loop (RuntimeError before 3.13), or no file yet:
        resolved = path.parent.resolve() / path.name  # named as found, so that reading it says what is wrong
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(resolved, root)).as_posix()


def module_name(rel: str, packages: frozenset[str] | None = None) -> str:
    """Dotted module name for a file path, as imports spell it.

    With `packages` (the folders that hold an `__init__.py`), a file below a package is named from its highest
    ancestor folder that is a package: `backend/app/api/main.py` -> `app.api.main` when `backend/` is no package,
    and a namespace folder inside a package (`dispatch/data/source/` without `__init__.py`) keeps its place in the
    name. Otherwise (a loose script, a tests folder) the path from the root names it, without a leading `src/`.
    """
    parts = rel[:-3].split("/") if rel.endswith(".py") else rel.split("/")
    top = next((i for i in range(1, len(parts)) if "/".join(parts[:i]) in packages), None) if packages else None
    if top is not None:
        parts = parts[top - 1 :]
    elif parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def discover(config: Config) -> list[SourceFile]:
    """Python files under the configured paths, minus default excludes, `exclude` globs and .gitignore'd files."""
    root = config.root
    excludes = (*DEFAULT_EXCLUDES, *config.exclude)
    found: dict[str, SourceFile] = {}
    for start in config.paths:
        if start.is_file():
            candidates = [start]
        elif start.is_dir():
            candidates = _walk(start, root, excludes)
        else:
            continue  # the CLI reports missing paths before we get here
        for path in candidates:
            rel = relpath(path, root)
            if rel in found or matches_any(rel, config.exclude) or _in_default_exclude(rel):
                continue
            found[rel] = SourceFile(path=path, rel=rel, is_test=is_test_path(rel, config.tests))
    files = sorted(found.values(), key=lambda f: f.rel)
    if config.respect_gitignore:
        ignored = git_ignored(root, [f.rel for f in files])
        files = [f for f in files if f.rel not in ignored]
    packages = frozenset(f.rel.rsplit("/", 1)[0] for f in files if f.rel.endswith("/__init__.py"))
    return [replace(f, module=module_name(f.rel, packages)) for f in files]


def _in_default_exclude(rel: str) -> bool:
    folders = rel.split("/")[:-1]
    return any(matches_any(part, DEFAULT_EXCLUDES) for part in folders)


def _walk(start: Path, root: Path, excludes: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for folder, dirnames, filenames in os.walk(start, followlinks=False):
        base = Path(folder)
        keep = []
        for d in sorted(dirnames):
            rel = relpath(base / d, root)
            if not matches_any(d, DEFAULT_EXCLUDES) and not matches_any(rel, excludes):
                keep.append(d)
        dirnames[:] = keep
        out.extend(base / name for name in sorted(filenames) if name.endswith(".py"))
    return out


def split_unnamable(files: list[SourceFile]) -> tuple[list[SourceFile], list[ToolError]]:
    """Files whose names are not UTF-8 (a POSIX file name is any bytes) cannot be named in a report, a fingerprint or
    bandit's JSON: each is a tool error under a printable name instead of a crash of the whole run."""
    named, errors = [], []
    for f in files:
        try:
            f.rel.encode("utf-8")
            named.append(f)
        except UnicodeEncodeError:
            shown = f.rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            errors.append(ToolError("read", shown, "not checked: the file name is not valid UTF-8; rename it"))
    return named, errors


def is_test_path(rel: str, tests: tuple[str, ...]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return matches_any(rel, tests) or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def git_ignored(root: Path, rels: list[str]) -> set[str]:
    """The subset of `rels` that git ignores (empty outside a git work tree or without git)."""
    # git refuses the whole batch if one path lies outside the work tree: ask only about those under the root
    rels = [r for r in rels if not r.startswith("../")]
    if not rels:
        return set()
    try:
        proc = subprocess.run(
            ["git", "check-ignore", "--no-index", "-z", "--stdin"],
            cwd=root, input=b"\0".join(map(os.fsencode, rels)), capture_output=True, timeout=60,  # names need not be UTF-8
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    if proc.returncode not in (0, 1):  # 128: not a git repository
        return set()
    return {os.fsdecode(p) for p in proc.stdout.split(b"\0") if p}


def read_source(path: Path) -> bytes:
    """The file's bytes; raises OSError or ValueError with a message fit for the user."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"file is {size // (1024 * 1024)} MiB, larger than the {MAX_BYTES // (1024 * 1024)} MiB limit")
    return path.read_bytes()
