"""A content-hash cache of per-file results, so a re-run re-checks only what changed.

Key: the file's bytes, its path and module name, the per-file settings (enabled rules and their options), every
rule's version and p21-lint's version. An entry is written to a temporary file and renamed into place, so two
runs at once never see half an entry; an entry that does not load is ignored and recomputed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from p21_lint import __version__
from p21_lint.model import FileResult

_GITIGNORE = "# Automatically created by p21-lint.\n*\n"


class Cache:
    def __init__(self, folder: Path, namespace: str) -> None:
        self.folder = folder
        self.namespace = namespace  # digest of everything besides the file that shapes a result

    @classmethod
    def open(cls, folder: Path, *parts: object) -> "Cache":
        text = repr((__version__, *parts))
        return cls(folder, hashlib.sha256(text.encode()).hexdigest()[:16])

    def key(self, rel: str, source: bytes) -> str:
        h = hashlib.sha256(self.namespace.encode())
        h.update(rel.encode() + b"\0")
        h.update(source)
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pickle"

    def get(self, key: str) -> FileResult | None:
        try:
            with self._path(key).open("rb") as fh:
                value = pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception:  # corrupt, truncated or from another version: recompute
            return None
        return value if isinstance(value, FileResult) else None

    def put(self, key: str, result: FileResult) -> None:
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
