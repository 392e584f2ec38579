"""The endpoints gate: every route of the route table is called by at least one integration test (TEST001).

The findings are made before suppressions are applied (`findings`), so `# p21: ignore[TEST001]` on a route, the
per-file ignores and the baseline work as for any rule; the gate (`endpoints_gate`) then compares endpoint
coverage with `min-endpoint-coverage` (default 100: every endpoint), counting accepted findings as covered.
"""

from __future__ import annotations

from pathlib import Path

from p21_lint.analysis.routes import paths
from p21_lint.analysis.routes.rows import RouteRow
from p21_lint.analysis.routes.table import RouteTable, route_table
from p21_lint.config import Config
from p21_lint.engine.fingerprint import fingerprint
from p21_lint.engine.project import Project
from p21_lint.engine.rule import EngineRule
from p21_lint.engine.runner import crash_error
from p21_lint.model import Finding, GateResult, Level, Location, Status, ToolError


class UntestedEndpoint(EngineRule):
    code = "TEST001"
    name = "untested-endpoint"
    standard = "Integration tests must cover all API endpoints"
    severity = Level.MEDIUM


def _skip_reason(project: Project, table: RouteTable, config: Config | None) -> str | None:
    if not table.rows:
        return "no routes found"
    if any(f.is_test for f in project.facts.values()):
        return None
    if config is not None:
        folders = [config.root / t for t in config.tests if "*" not in t and (config.root / t).is_dir()]
        checked = [p for p in config.paths if any(_within(p, folder) or _within(folder, p) for folder in folders)]
        if folders and not checked:
            shown = ", ".join(f.relative_to(config.root).as_posix() for f in folders)
            return f"the tests ({shown}) are not among the checked paths; check the whole project to gate endpoints"
    return None


def _within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def findings(project: Project) -> tuple[list[Finding], list[ToolError]]:
    """TEST001 for every route no test request reaches (none when the gate would be skipped)."""
    try:
        return _findings(project), []
    except Exception as exc:  # the report survives: the gate shows ERROR and the error says where
        return [], [crash_error(UntestedEndpoint.code, "", exc)]


def _findings(project: Project) -> list[Finding]:
    table = route_table(project)
    if _skip_reason(project, table, project.config) is not None:
        return []
    out = []
    seen: dict[tuple[str, str], int] = {}
    for row in table.rows:
        if row.tests:
            continue
        line = row.decl_line or row.line
        key = (row.file, row.label)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        out.append(Finding(
            code=UntestedEndpoint.code,
            message=_message(row),
            location=Location(row.file, line, 1, row.line, 1),
            severity=UntestedEndpoint.severity,
            rule_name=UntestedEndpoint.name,
            help_url=UntestedEndpoint.help_url(),
            fingerprint=fingerprint(UntestedEndpoint.code, row.file, row.label, "", occurrence),
        ))
    return out


def _message(row: RouteRow) -> str:
    method = "get" if row.method == "ANY" else row.method.lower()
    url = paths.example_url(row.path)
    if row.method == "WEBSOCKET":
        call = f'client.websocket_connect("{url}")'
    elif row.framework == "django":
        call = f'self.client.{method}("{url}")'
    else:
        call = f'client.{method}("{url}")'
    text = f"`{row.label}` is called by no integration test: add a test that calls `{call}` and checks the response"
    unresolved = [n for n in row.notes if "unresolved" in n]
    if unresolved:
        text += f" ({unresolved[0]})"
    return text


def endpoints_gate(project: Project, config: Config, gate_findings: list[Finding], enabled: bool) -> GateResult:
    if not enabled:
        return GateResult("endpoints", Status.SKIPPED, note="TEST001 is not selected")
    try:
        table = route_table(project)
    except Exception:  # already reported by `findings` as a tool error
        return GateResult("endpoints", Status.ERROR, note="the route table could not be built")
    reason = _skip_reason(project, table, config)
    if reason is not None:
        return GateResult("endpoints", Status.SKIPPED, note=reason)
    total = len(table.rows)
    covered = sum(1 for r in table.rows if r.tests)
    failing = [f for f in gate_findings if f.counts]
    percent = 100.0 * covered / total
    counted = 100.0 * (total - len(failing)) / total  # accepted (suppressed, baselined) routes count as tested
    unmatched = [r for r in table.requests if not r.rows]
    metrics = {
        "endpoints": total,
        "tested": covered,
        "untested": total - covered,
        "accepted": total - covered - len(failing),
        "percent": round(percent, 2),
        "min_endpoint_coverage": config.min_endpoint_coverage,
        "test_requests": len(table.requests),
        "test_requests_matching_no_route": len(unmatched),
    }
    parts = [f"{covered}/{total} endpoints called by tests ({_pct(percent)})"]
    if metrics["accepted"]:
        parts.append(f"{metrics['accepted']} accepted")
    if unmatched:
        parts.append(f"{len(unmatched)} test request{'s match' if len(unmatched) != 1 else ' matches'} no route")
    passed = counted + 1e-9 >= config.min_endpoint_coverage
    if not passed:
        parts.insert(1, f"< {_pct(config.min_endpoint_coverage)}")
    return GateResult("endpoints", Status.PASS if passed else Status.FAIL, tuple(gate_findings), metrics, "; ".join(parts))


def _pct(value: float) -> str:
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"
