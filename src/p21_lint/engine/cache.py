"""A content-hash cache of per-file results, so a re-run re-checks only what changed.

Key: the file's bytes, its path and module name, the per-file settings (enabled rules and their options), every
rule's version, p21-lint's version and its own code (a digest of every module's text, so an edited install never
reuses stale results and a fresh install of the same code reuses them all). An entry is written to a temporary
file and renamed into place, so two runs at once never see half an entry; an entry that does not load is ignored and recomputed. The security gate
keeps bandit's per-file answers in the same folder, under its own key and suffix (gates/security.py).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from p21_lint import __version__
from p21_lint.model import FileResult

_GITIGNORE = "# Automatically created by p21-lint.\n*\n"


@functools.cache
def _code_stamp() -> str:
    """A digest of every p21-lint module's text: an edited install never reuses stale results, and a fresh install
    of the same code (a CI job restoring its cache folder) reuses them all."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class Cache:
    def __init__(self, folder: Path, namespace: str, suffix: str = ".pickle") -> None:
        self.folder = folder
        self.namespace = namespace  # digest of everything besides the file that shapes a result
        self.suffix = suffix  # one per kind of value kept in the folder

    @classmethod
    def open(cls, folder: Path, *parts: object, suffix: str = ".pickle") -> "Cache":
        text = repr((__version__, _code_stamp(), *parts))
        return cls(folder, hashlib.sha256(text.encode()).hexdigest()[:16], suffix)

    def key(self, rel: str, source: bytes) -> str:
        h = hashlib.sha256(self.namespace.encode())
        h.update(rel.encode() + b"\0")
        h.update(source)
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{self.suffix}"

    def get(self, key: str, kind: type = FileResult) -> Any:
        """The entry under `key` if it loads and is a `kind`, else None."""
        try:
            with self._path(key).open("rb") as fh:
                value = pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception:  # corrupt, truncated or from another version: recompute
            return None
        return value if isinstance(value, kind) else None

    def put(self, key: str, result: object) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            gitignore = self.folder / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text(_GITIGNORE)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only or full disk only costs speed
