"""`p21-lint routes` as text: one line per route, its evidence and tests below it, then what is unresolved."""

from __future__ import annotations

from p21_lint.analysis.routes.table import RouteTable

_MAX_TESTS = 4


def text(table: RouteTable) -> str:
    rows = table.rows
    if not rows:
        return "no routes found\n" + _notes(table)
    width = min(max(len(r.path) for r in rows), 60)
    lines = [f"{'METHOD':<9} {'PATH':<{width}}  {'AUTH':<7}  {'TESTS':<8}  HANDLER"]
    for r in rows:
        auth = "auth" if r.authenticated else "public" if r.public else "NO AUTH"
        tests = f"{len(r.tests)} test{'s' if len(r.tests) != 1 else ''}" if r.tests else "untested"
        lines.append(f"{r.method:<9} {r.path:<{width}}  {auth:<7}  {tests:<8}  {r.file}:{r.line}  {r.handler}")
        for evidence in r.auth_evidence:
            lines.append(f"          auth: {evidence}")
        if r.public_reason:
            lines.append(f"          public: {r.public_reason}")
        if r.tests:
            more = f" and {len(r.tests) - _MAX_TESTS} more" if len(r.tests) > _MAX_TESTS else ""
            lines.append(f"          tests: {', '.join(r.tests[:_MAX_TESTS])}{more}")
        for note in r.notes:
            lines.append(f"          note: {note}")
    total = len(rows)
    authenticated = sum(r.authenticated for r in rows)
    public = sum(r.public and not r.authenticated for r in rows)
    tested = sum(bool(r.tests) for r in rows)
    lines.append("")
    lines.append(
        f"{total} route{'s' if total != 1 else ''}: {authenticated} authenticated, {public} public, "
        f"{total - authenticated - public} without authentication; {tested} called by tests "
        f"({100.0 * tested / total:.0f}%)"
    )
    return "\n".join(lines) + "\n" + _notes(table)


def _notes(table: RouteTable) -> str:
    lines = []
    unmatched = [q for q in table.requests if not q.rows]
    if unmatched:
        lines.append("")
        lines.append(f"test requests that reach no route ({len(unmatched)}):")
        for q in unmatched:
            note = f"  ({q.note})" if q.note else ""
            lines.append(f"  {q.where}  {q.method} {q.url}{note}")
    if table.notes:
        lines.append("")
        lines.append("not resolved:")
        lines.extend(f"  {n}" for n in table.notes)
    return "\n".join(lines) + ("\n" if lines else "")
