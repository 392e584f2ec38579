"""A baseline of accepted findings, for adopting p21-lint on an existing codebase.

`p21-lint baseline write FILE` records today's findings; `--baseline FILE` then lets only new ones fail. Entries
match by (path, code, fingerprint) and count, so a second identical finding in the same place is new, and line
moves do not matter (the fingerprint holds no line number). Entries that match nothing any more are stale and
reported so the file can be refreshed. The file is sorted, stable and diff-friendly JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from p21_lint.model import Finding

SCHEMA = 1
BASELINE_SOURCES = ("p21", "bandit", "ruff")  # coverage conditions are gates, never baselined


class BaselineError(Exception):
    """The baseline file is missing or not ours: a tool error, exit 2."""


Key = tuple[str, str, str]  # path, code, fingerprint


@dataclass(frozen=True)
class Baseline:
    counts: dict[Key, int]

    @classmethod
    def load(cls, path: Path) -> "Baseline":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("schema_version") != SCHEMA:
                raise BaselineError(f"{path}: not a p21-lint baseline (schema_version {data.get('schema_version')!r})")
            counts = {(e["path"], e["code"], e["fingerprint"]): int(e.get("count", 1)) for e in data["findings"]}
        except FileNotFoundError:
            raise BaselineError(f"{path}: no such baseline file; create it with `p21-lint baseline write {path}`") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BaselineError(f"{path}: not a valid baseline file ({type(exc).__name__}: {exc})") from None
        return cls(counts)

    def remaining(self) -> Counter[Key]:
        return Counter(self.counts)

    def apply(self, findings: Iterable[Finding], left: Counter[Key]) -> list[Finding]:
        """Mark baselined findings suppressed, using up `left` (what is left of it at the end is stale)."""
        out = []
        for f in findings:
            key = (f.location.path, f.code, f.fingerprint)
            if not f.suppressed and f.source in BASELINE_SOURCES and left[key] > 0:
                left[key] -= 1
                f = replace(f, suppressed=True, suppressed_by="baseline")
            out.append(f)
        return out


def render(findings: Iterable[Finding]) -> str:
    counts: Counter[Key] = Counter()
    messages: dict[Key, str] = {}
    for f in findings:
        if f.suppressed or f.source not in BASELINE_SOURCES:
            continue
        key = (f.location.path, f.code, f.fingerprint)
        counts[key] += 1
        messages.setdefault(key, f.message if not f.sensitive else "")
    entries = [
        {"path": p, "code": c, "fingerprint": fp, "count": n, "message": messages[(p, c, fp)]}
        for (p, c, fp), n in sorted(counts.items())
    ]
    return json.dumps({"schema_version": SCHEMA, "tool": "p21-lint", "findings": entries}, indent=2) + "\n"
