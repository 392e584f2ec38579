"""GitHub Actions: workflow-command annotations (the `github` format) and the Markdown job summary.

Annotations are what ruff's `--output-format github` prints: one `::error file=…,line=…::message` line per
finding, which the runner turns into an annotation on the pull request. GitHub shows at most 10 error and 10
warning annotations per step ("GitHub Actions are limited to 10 warning annotations and 10 error annotations per
step", docs.github.com/en/rest/checks/runs; notices are held to the same 10 here). So we print at most 10 of each
level, then one notice saying how many more there are and where they are: the job summary, and the full text report
that follows in a collapsed log group.

Nothing a finding says can become a workflow command: messages and properties are escaped as the Actions toolkit
escapes them (`%`, CR and LF in the message; also `:` and `,` in properties), and the text report in the log runs
between `::stop-commands::TOKEN` and `::TOKEN::`, with a token made from that text so it cannot occur in it.

The job summary (GitHub's cap is 1 MiB per step) is kept under SUMMARY_BUDGET bytes by dropping finding rows.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from p21_lint.model import Finding, Level, Report, Status, ToolError
from p21_lint.report import text as text_report
from p21_lint.report.sarif import EXTERNAL_TOOLS, clip, source_root

ANNOTATIONS_PER_LEVEL = 10
SUMMARY_BUDGET = 64 * 1024
SUMMARY_ROWS = 50  # top findings listed in the summary
SUMMARY_ERRORS = 20

LEVEL = {Level.HIGH: "error", Level.MEDIUM: "warning", Level.LOW: "notice"}
_VERDICT = {"pass": "✅ PASS", "fail": "❌ FAIL", "error": "⚠️ ERROR"}
_STATUS = {Status.PASS: "✅ pass", Status.FAIL: "❌ fail", Status.ERROR: "⚠️ error", Status.SKIPPED: "⏭️ skipped"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: Any) -> str:
    """One workflow command line, every part escaped; empty properties are left out."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value not in (None, ""))
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def render(report: Report, *, root: Path | None = None, **_: Any) -> str:
    _, prefix = source_root(root)
    pending: dict[str, list[str]] = {"error": [], "warning": [], "notice": []}
    for e in report.errors:
        pending["error"].append(_error_annotation(e, prefix))
    for f in report.findings:
        if f.counts:
            pending[LEVEL[f.severity]].append(_annotation(f, prefix))

    limits = dict.fromkeys(pending, ANNOTATIONS_PER_LEVEL)
    if any(len(items) > ANNOTATIONS_PER_LEVEL for items in pending.values()):
        limits["notice"] -= 1  # keep a place for the notice that says how many more there are
    lines: list[str] = []
    hidden = 0
    for level, items in pending.items():
        lines += items[: limits[level]]
        hidden += max(0, len(items) - limits[level])
    if hidden:
        lines.append(command(
            "notice", f"{hidden} more finding{'s' if hidden != 1 else ''} not annotated: GitHub shows at most "
            f"{ANNOTATIONS_PER_LEVEL} annotations of each level per step. This step's log has them all (group "
            "\"p21-lint report\"), the job summary the most severe.", title="p21-lint"))

    full = text_report.render(report, root=root, color=False)
    token = "p21-" + hashlib.sha256(full.encode("utf-8")).hexdigest()[:32]
    lines += ["::group::p21-lint report", f"::stop-commands::{token}", full.rstrip("\n"), f"::{token}::", "::endgroup::"]
    return "\n".join(lines) + "\n"


def _annotation(f: Finding, prefix: str) -> str:
    loc = f.location
    title = f"{f.code} ({f.rule_name})" if f.rule_name else f.code
    if f.source in EXTERNAL_TOOLS:
        title = f"{f.source} {title}"  # bandit B602 (...), as the other tool names it
    message = f.message + (f"\n{f.help_url}" if f.help_url else "")
    line = loc.line if loc.path and loc.line >= 1 else None
    return command(
        LEVEL[f.severity], message,
        file=prefix + loc.path if loc.path else None,
        line=line,
        endLine=max(loc.end_line, loc.line) if line else None,
        col=loc.column if line and loc.column >= 1 else None,
        title=title,
    )


def _error_annotation(e: ToolError, prefix: str) -> str:
    return command("error", e.message, file=prefix + e.path if e.path else None, title=f"p21-lint could not check ({e.source})")


# -- the job summary ------------------------------------------------------------------------------------------


def blob_url(environ: Mapping[str, str]) -> str | None:
    """`https://github.com/OWNER/REPO/blob/SHA/` for links to the checked commit, from the runner's variables."""
    repo, sha = environ.get("GITHUB_REPOSITORY"), environ.get("GITHUB_SHA")
    if not repo or not sha:
        return None
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    return f"{server}/{repo}/blob/{sha}/"


def md(text: str) -> str:
    """Plain text made safe for a Markdown table cell: one line, no markup, no HTML."""
    text = " ".join(str(text).split())
    text = re.sub(r"([\\`*_\[\]|~#!])", r"\\\1", text)
    return html.escape(text, quote=False)


def summary(report: Report, *, root: Path | None = None, link: str | None = None, budget: int = SUMMARY_BUDGET) -> str:
    """The Markdown job summary: verdict, gate table, tool errors, coverage, top findings; at most `budget` bytes."""
    _, prefix = source_root(root)
    counted = [f for f in report.findings if f.counts]
    head = [f"## p21-lint: {_VERDICT[report.verdict]}", ""]
    files = report.metrics.get("files")
    facts = [f"**{len(counted)}** finding{'s' if len(counted) != 1 else ''}"]
    if isinstance(files, int):
        facts.append(f"{files} file{'s' if files != 1 else ''} checked")
    facts.append(f"exit code {report.exit_code}")
    head += [" · ".join(facts), "", "| Gate | Status | Details |", "| --- | --- | --- |"]
    head += [f"| {md(g.name)} | {_STATUS[g.status]} | {md(g.note)} |" for g in report.gates]
    head.append("")

    if report.errors:
        head += [f"### Could not check ({len(report.errors)})", ""]
        for e in report.errors[:SUMMARY_ERRORS]:
            where = f" {md(prefix + e.path)}:" if e.path else ""
            head.append(f"- **{md(e.source)}**{where} {md(e.message)}")
        if len(report.errors) > SUMMARY_ERRORS:
            head.append(f"- … and {len(report.errors) - SUMMARY_ERRORS} more (see the step log)")
        head.append("")

    coverage = next((g for g in report.gates if g.name == "coverage" and g.status is not Status.SKIPPED), None)
    if coverage is not None:
        head += ["### Coverage", "", md(coverage.note) or _STATUS[coverage.status], ""] + _coverage_tables(coverage.metrics, prefix)

    ranked = sorted(counted, key=lambda f: (-f.severity, f.sort_key()))
    rows = [_row(f, prefix, link) for f in ranked[:SUMMARY_ROWS]]
    text = "\n".join(head) + "\n"
    if not rows:
        others = len(report.findings)
        return text + (f"_No findings count: {others} suppressed or on unchanged lines._\n" if others else "_No findings._\n")

    table = [f"### Findings (top {min(len(rows), len(ranked))} of {len(ranked)}, most severe first)", "",
             "| Severity | Code | Where | Message |", "| --- | --- | --- | --- |"]
    tail_room = 200  # the closing line about what was left out
    used = len(text.encode()) + sum(len(t.encode()) + 1 for t in table) + tail_room
    shown = 0
    for row in rows:
        cost = len(row.encode()) + 1
        if used + cost > budget:
            break
        table.append(row)
        used += cost
        shown += 1
    if shown < len(rows):
        table[0] = f"### Findings ({shown} of {len(ranked)}, most severe first)"
    left = len(ranked) - shown
    if left:
        table += ["", (f"_… {left} more finding{'s' if left != 1 else ''} not listed: the step log and the SARIF or "
                       "JSON report (`--output sarif:PATH`, `--output json:PATH`) have them all._")]
    out = text + "\n".join(table) + "\n"
    return out if len(out.encode()) <= budget else _hard_cut(out, budget)


def _row(f: Finding, prefix: str, link: str | None) -> str:
    loc = f.location
    code = f"[{md(f.code)}]({f.help_url})" if f.help_url.startswith("https://") else md(f.code)
    where = md(prefix + loc.path + (f":{loc.line}" if loc.line >= 1 else "")) if loc.path else "(project)"
    if link and loc.path:
        where = f"[{where}]({link}{quote(prefix + loc.path)}{f'#L{loc.line}' if loc.line >= 1 else ''})"
    return f"| {f.severity} | {code} | {where} | {md(f.message)} |"


def _coverage_tables(metrics: dict[str, Any], prefix: str) -> list[str]:
    """The coverage gate's numbers: the total and other measured groups, then the worst files."""
    rows = []
    for key, value in metrics.items():
        if isinstance(value, dict) and isinstance(value.get("percent"), (int, float)):
            lines = value.get("statements")
            missed = value.get("missing")
            counts = f" ({lines - missed} of {lines} lines)" if isinstance(lines, int) and isinstance(missed, int) else ""
            rows.append(f"| {md(key.replace('_', ' '))} | {_number(value['percent'])}%{counts} |")
    out = ["| Measured | Coverage |", "| --- | --- |", *rows, ""] if rows else []
    worst = [w for w in metrics.get("worst_files") or [] if isinstance(w, dict) and "path" in w]
    if worst:
        out += ["| Least covered file | Coverage | Missed lines |", "| --- | --- | --- |"]
        for w in worst:
            missing = w.get("missing")
            missed = ", ".join(map(str, missing)) if isinstance(missing, list) else str(missing or "")
            out.append(f"| {md(prefix + str(w['path']))} | {_number(w.get('percent', ''))}% | {md(clip(missed, 200))} |")
        out.append("")
    return out


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _hard_cut(text: str, budget: int) -> str:
    """Last resort when even the fixed parts (a huge gate table) exceed the budget: cut at a line end."""
    cut = text.encode()[: budget - 64].decode("utf-8", "ignore")
    return cut[: cut.rfind("\n") + 1] + "\n_… summary cut to stay within its size limit._\n"


# -- the GitHub Action's outputs -----------------------------------------------------------------------------

def action_outputs(data: dict[str, Any]) -> dict[str, str]:
    """The action's outputs from a JSON report (schema 1): verdict, findings that count, total coverage or ''."""
    findings = [f for f in data.get("findings", []) if not f.get("suppressed") and not f.get("outside_diff")]
    coverage = ""
    for gate in data.get("gates", []):
        total = (gate.get("metrics") or {}).get("total") if gate.get("name") == "coverage" else None
        percent = total.get("percent") if isinstance(total, dict) else None
        if isinstance(percent, (int, float)) and not isinstance(percent, bool):
            coverage = _number(float(percent))
    return {"verdict": str(data.get("verdict", "error")), "findings": str(len(findings)), "coverage": coverage}
