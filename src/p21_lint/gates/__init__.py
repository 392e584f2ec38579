"""Gates: each turns what was found into one PASS / FAIL / SKIPPED / ERROR line of the verdict."""

from __future__ import annotations

from dataclasses import replace

from p21_lint.model import Finding, GateResult, Status


def reconsider(gate: GateResult, findings: list[Finding]) -> GateResult:
    """The gate with its findings re-marked by the baseline or --diff-base: a FAIL that rested only on findings
    that no longer count becomes a PASS, and the note says why."""
    gate = replace(gate, findings=tuple(findings))
    if gate.status is not Status.FAIL or not findings or any(f.counts for f in findings):
        return gate
    baselined = sum(f.suppressed_by == "baseline" for f in findings)
    old = sum(f.outside_diff and not f.suppressed for f in findings)
    why = ", ".join(p for p in (f"{baselined} in the baseline" if baselined else "", f"{old} on unchanged lines" if old else "") if p)
    return replace(gate, status=Status.PASS, note=f"{gate.note}; all accepted ({why})")
