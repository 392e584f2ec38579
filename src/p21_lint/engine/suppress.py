"""Inline suppressions (`# p21: ignore[SQL001]`) and per-file ignores, applied once all p21 findings are known.

Codes are required: a blanket `# p21: ignore` suppresses nothing and is reported (P21001), and a code that
suppressed nothing is reported as unused (P21002), as ruff's PGH004 and RUF100 do.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import replace
from typing import Iterable

from p21_lint.engine.fingerprint import fingerprint
from p21_lint.engine.rule import EngineRule
from p21_lint.files import matches_any
from p21_lint.model import Finding, Level, Location, Suppression

SUPPRESSION = re.compile(r"#\s*p21:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_CODE = re.compile(r"^[A-Z][A-Z0-9]*[0-9]{3}$")


class BlanketSuppression(EngineRule):
    code = "P21001"
    name = "blanket-suppression"
    standard = "Suppressions name what they suppress"
    severity = Level.LOW


class UnusedSuppression(EngineRule):
    code = "P21002"
    name = "unused-suppression"
    standard = "Suppressions name what they suppress"
    severity = Level.LOW


def find_suppressions(source: bytes) -> tuple[Suppression, ...]:
    """Every `# p21: ignore` comment of a file (comments only: a string that looks like one does not count)."""
    if b"p21" not in source and b"P21" not in source:
        return ()
    found = []
    try:
        for tok in tokenize.tokenize(io.BytesIO(source).readline):
            if tok.type == tokenize.COMMENT and (match := SUPPRESSION.search(tok.string)):
                raw = match.group("codes")
                codes = tuple(sorted({c.strip().upper() for c in raw.split(",") if c.strip()})) if raw else ()
                found.append(Suppression(tok.start[0], codes, match.group(0)))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, ValueError):
        pass  # the file does not tokenize; the parse error is reported by the per-file pass
    return tuple(found)


def apply(
    findings: Iterable[Finding],
    suppressions: dict[str, tuple[Suppression, ...]],
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...],
    checked_codes: frozenset[str],
) -> list[Finding]:
    """Mark suppressed findings and add P21001/P21002 for blanket and unused suppressions.

    `checked_codes` are the codes that ran in this check: a suppression of a code that did not run is not
    called unused (it may be for a rule deselected on this run).
    """
    used: set[tuple[str, int, str]] = set()
    by_line: dict[tuple[str, int], list[Suppression]] = {}
    for path, items in suppressions.items():
        for s in items:
            by_line.setdefault((path, s.line), []).append(s)

    out: list[Finding] = []
    for f in findings:
        loc = f.location
        hit = ""
        for line in {loc.line, loc.end_line or loc.line}:
            for s in by_line.get((loc.path, line), ()):
                if f.code in s.codes:
                    used.add((loc.path, s.line, f.code))
                    hit = "comment"
        if not hit and _file_ignores(f, per_file_ignores):
            hit = "per-file-ignores"
        out.append(replace(f, suppressed=True, suppressed_by=hit) if hit else f)

    meta: list[Finding] = []
    for path, items in sorted(suppressions.items()):
        seen: dict[str, int] = {}  # the same comment text again in this file: its occurrence, for the fingerprint
        for s in items:
            nth = seen[s.text] = seen.get(s.text, -1) + 1
            if not s.codes:
                meta.append(_meta(BlanketSuppression, path, s, nth, "blanket `# p21: ignore` suppresses nothing: name the codes, e.g. `# p21: ignore[ERR001]`"))
                continue
            for code in s.codes:
                if not _CODE.match(code):
                    meta.append(_meta(UnusedSuppression, path, s, nth, f"`{code}` in this suppression is not a rule code"))
                elif code in checked_codes and (path, s.line, code) not in used:
                    meta.append(_meta(UnusedSuppression, path, s, nth, f"unused suppression: no {code} finding on this line; remove `{code}` from it"))
    # per-file-ignores cover the engine's own codes too (`"legacy/**" = ["P21"]`)
    out.extend(replace(f, suppressed=True, suppressed_by="per-file-ignores") if _file_ignores(f, per_file_ignores) else f for f in meta)
    return out


def _file_ignores(f: Finding, per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...]) -> bool:
    return any(_prefixed(f.code, codes) for glob, codes in per_file_ignores if matches_any(f.location.path, (glob,)))


def _prefixed(code: str, codes: tuple[str, ...]) -> bool:
    """`SQL` in per-file-ignores covers SQL001 (as ruff's prefixes do)."""
    return any(code.startswith(prefix.upper()) for prefix in codes)


def _meta(rule: type[EngineRule], path: str, s: Suppression, occurrence: int, message: str) -> Finding:
    return Finding(
        code=rule.code,
        message=message,
        location=Location(path, s.line, 1, s.line, 1),
        severity=rule.severity,
        rule_name=rule.name,
        help_url=rule.help_url(),
        fingerprint=fingerprint(rule.code, path, s.text, message, occurrence),  # no line: survives line moves
    )
