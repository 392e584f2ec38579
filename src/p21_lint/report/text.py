"""The terminal report: findings grouped by file, then the gate table, then the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from p21_lint.model import Report, Status

_COLORS = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36", "bold": "1", "dim": "2"}
_STATUS_COLOR = {Status.PASS: "green", Status.FAIL: "red", Status.ERROR: "magenta", Status.SKIPPED: "dim"}
_SEVERITY_COLOR = {"high": "red", "medium": "yellow", "low": "blue"}
# control characters in a checked file's line would drive the terminal (or a CI log viewer): shown as "?"
_CONTROL = {c: "?" for c in (*range(0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0))}
_ONE_LINE = {**_CONTROL, 0x0A: " ", 0x0D: " ", 0x09: " "}


def _clean(text: str) -> str:
    """One line, no control characters: a message or path (which may quote the checked code or a tool's stderr)
    can neither break the layout nor start a line with `::` that a CI log would run as a command."""
    return text.translate(_ONE_LINE)


def render(report: Report, *, root: Path | None = None, color: bool = False, show_suppressed: bool = False, **_: Any) -> str:
    def paint(text: str, name: str) -> str:
        return f"\x1b[{_COLORS[name]}m{text}\x1b[0m" if color else text

    lines: list[str] = []
    shown = [f for f in report.findings if show_suppressed or not f.suppressed]
    current = None
    source_cache: dict[str, list[str]] = {}
    for f in shown:
        loc = f.location
        if loc.path != current:
            if current is not None:
                lines.append("")
            lines.append(paint(_clean(loc.path) or "(project)", "bold"))
            current = loc.path
        severity = paint(f"{f.severity!s:<6}", _SEVERITY_COLOR[str(f.severity)])
        tag = f" (suppressed: {f.suppressed_by})" if f.suppressed else " (unchanged line)" if f.outside_diff else ""
        lines.append(f"  {loc.line}:{loc.column}  {paint(f.code, 'cyan')}  {severity} {_clean(f.message)}{tag}")
        snippet = None if f.sensitive or root is None else _source_line(root, loc.path, loc.line, source_cache)
        if snippet:
            lines.append(paint(f"      {loc.line:>4} | {snippet}", "dim"))
    if shown:
        lines.append("")

    if report.errors:
        lines.append(paint("Could not check", "bold"))
        for e in report.errors:
            where = f"{e.path}: " if e.path else ""
            lines.append(f"  {paint('error', 'magenta')} [{e.source}] {_clean(where + e.message)}")
        lines.append("")

    lines.append(paint("Gates", "bold"))
    width = max((len(g.name) for g in report.gates), default=5)
    for g in report.gates:
        status = paint(f"{g.status.value.upper():<7}", _STATUS_COLOR[g.status])
        lines.append(f"  {g.name:<{width}}  {status} {_clean(g.note)}")
    verdict = report.verdict
    word = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}[verdict]
    color_name = {"pass": "green", "fail": "red", "error": "magenta"}[verdict]
    lines.append("")
    lines.append(f"Verdict: {paint(word, color_name)} (exit {report.exit_code})")
    return "\n".join(lines) + "\n"


def _source_line(root: Path, path: str, line: int, cache: dict[str, list[str]]) -> str | None:
    if path not in cache:
        try:
            # split on newlines only: str.splitlines() also splits on \f, \x1c, \u2028 ... and would shift lines
            cache[path] = (root / path).read_text(encoding="utf-8", errors="replace").split("\n")
        except OSError:
            cache[path] = []
    text = cache[path]
    if 0 < line <= len(text):
        stripped = text[line - 1].rstrip().translate(_CONTROL)
        return stripped if len(stripped) <= 160 else stripped[:157] + "..."
    return None


