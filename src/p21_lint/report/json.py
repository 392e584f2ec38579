"""The JSON report, schema 1: a public contract (README "JSON report"). Add fields freely; never rename."""

from __future__ import annotations

import json
from typing import Any

from p21_lint import __version__
from p21_lint.model import Finding, Report

SCHEMA_VERSION = 1


def finding_dict(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {
        "code": f.code,
        "source": f.source,
        "severity": str(f.severity),
        "confidence": str(f.confidence),
        "message": f.message,
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line or loc.line,
        "end_column": loc.end_column or loc.column,
        "fingerprint": f.fingerprint,
        "suppressed": f.suppressed,
        "suppressed_by": f.suppressed_by,
        "outside_diff": f.outside_diff,
        "rule_name": f.rule_name,
        "cwe": f.cwe,
        "help_url": f.help_url,
    }


def to_dict(report: Report, **_: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "p21-lint", "version": __version__},
        "verdict": report.verdict,
        "exit_code": report.exit_code,
        "gates": [
            {"name": g.name, "status": str(g.status), "metrics": g.metrics, "note": g.note, "findings": len(g.findings)}
            for g in report.gates
        ],
        "findings": [finding_dict(f) for f in report.findings],
        "errors": [{"source": e.source, "path": e.path, "message": e.message} for e in report.errors],
        "metrics": report.metrics,
    }
    if report.shard is not None:  # a `--shard I/N` check: what `p21-lint merge` needs (README "Sharding")
        out["shard"] = report.shard.to_dict()
    return out


def render(report: Report, **_: Any) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=False) + "\n"
