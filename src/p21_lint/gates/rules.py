"""The rules gate: p21's own findings (per-file and project rules) against the `fail-on` severity."""

from __future__ import annotations

from collections import Counter

from p21_lint.model import Finding, GateResult, Level, Status, ToolError


def rules_gate(findings: list[Finding], errors: list[ToolError], fail_on: str, rules_run: int) -> GateResult:
    threshold = Level.parse(fail_on)
    active = [f for f in findings if not f.suppressed]
    failing = [f for f in active if f.counts and f.severity >= threshold]
    by_severity = Counter(str(f.severity) for f in active)
    metrics = {
        "findings": len(active),
        "failing": len(failing),
        "suppressed": len(findings) - len(active),
        "by_severity": {k: by_severity.get(k, 0) for k in ("high", "medium", "low")},
        "rules": rules_run,
    }
    outside = sum(f.outside_diff for f in active)
    baselined = sum(f.suppressed_by == "baseline" for f in findings)
    metrics["outside_diff"] = outside
    metrics["baselined"] = baselined
    parts = [f"{len(active)} finding{'s' if len(active) != 1 else ''}"]
    if len(failing) != len(active):
        parts.append(f"{len(failing)} failing")
    if outside:
        parts.append(f"{outside} on unchanged lines")
    if baselined:
        parts.append(f"{baselined} in the baseline")
    if metrics["suppressed"] - baselined:
        parts.append(f"{metrics['suppressed'] - baselined} suppressed")
    if errors:
        unchecked = len({e.path for e in errors})
        parts.append(f"{unchecked} file{'s' if unchecked != 1 else ''} not fully checked")
        status = Status.ERROR
    else:
        status = Status.FAIL if failing else Status.PASS
    return GateResult("rules", status, tuple(findings), metrics, ", ".join(parts))
