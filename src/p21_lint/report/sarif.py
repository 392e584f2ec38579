"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF reader).

One run per tool, as code scanning groups alerts by tool: `p21-lint` (our rules and gates: p21, coverage, ...),
then `bandit` and `ruff` for the findings those tools made, under their own rule ids (B608, S608). A tool's run is
present whenever its gate ran, even with no results, so that code scanning closes the alerts that were fixed.

GitHub's limits (docs.github.com, "SARIF support for code scanning" and "SARIF results exceed limits"): at most
20 runs per file and 25,000 results per run (only the top 5,000 are shown, by severity), rule names of at most 255
characters, short and full descriptions of at most 1,024. We emit at most 3 runs, clip names and descriptions, clip
messages to 1,024 characters too (to keep a big report under the 10 MB gzip upload limit), and past 25,000 results
keep the most severe ones and say how many were left out in a tool execution notification.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from p21_lint import __version__
from p21_lint.model import Finding, Level, Report, Status, ToolError

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "p21/v1"

MAX_RESULTS = 25_000
MAX_NAME = 255
MAX_TEXT = 1024

LEVEL = {Level.HIGH: "error", Level.MEDIUM: "warning", Level.LOW: "note"}
PRECISION = {Level.HIGH: "high", Level.MEDIUM: "medium", Level.LOW: "low"}
PROBLEM_SEVERITY = {Level.HIGH: "error", Level.MEDIUM: "warning", Level.LOW: "recommendation"}
# code scanning reads 9.0+ as critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low
SECURITY_SEVERITY = {Level.HIGH: "8.0", Level.MEDIUM: "5.5", Level.LOW: "2.0"}
SECURITY_FAMILIES = ("SQL", "AUTH", "SEC")  # our rule families that code scanning should list as security alerts
SUPPRESSION_KIND = {"comment": "inSource"}  # per-file-ignores and the baseline live outside the code: "external"


@dataclass(frozen=True)
class Tool:
    name: str
    information_uri: str
    gate: str  # the gate that runs it: its run is present whenever that gate ran
    security: tuple[str, ...]  # code prefixes of its security rules


EXTERNAL_TOOLS = {
    "bandit": Tool("bandit", "https://bandit.readthedocs.io/", "security", ("B",)),
    "ruff": Tool("ruff", "https://docs.astral.sh/ruff/", "style", ("S",)),  # S: flake8-bandit
}


def render(report: Report, *, root: Path | None = None, **_: Any) -> str:
    # no indent: json's C encoder only serves compact output, and is ten times faster on a big report
    return json.dumps(to_dict(report, root=root), ensure_ascii=False, separators=(",", ":")) + "\n"


def to_dict(report: Report, *, root: Path | None = None) -> dict[str, Any]:
    srcroot, prefix = source_root(root)
    gates = {g.name: g for g in report.gates}
    findings = list(report.findings)

    runs = [_run(None, [f for f in findings if f.source not in EXTERNAL_TOOLS],
                 [e for e in report.errors if e.source not in EXTERNAL_TOOLS], prefix, srcroot, report)]
    for tool in EXTERNAL_TOOLS.values():
        own = [f for f in findings if f.source == tool.name]
        errors = [e for e in report.errors if e.source == tool.name]
        gate = gates.get(tool.gate)
        if own or errors or (gate is not None and gate.status is not Status.SKIPPED):
            runs.append(_run(tool, own, errors, prefix, srcroot, report))
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": runs}


def source_root(root: Path | None) -> tuple[Path, str]:
    """The folder SARIF and GitHub paths are relative to, and the project root's path inside it.

    Code scanning and annotations resolve paths against the repository root, while our paths are relative to the
    project root (where pyproject.toml is), which in a monorepo is a subfolder: so paths get that subfolder in front.
    Outside a git repository the project root is the source root; without a project root, the working directory.
    """
    if root is None:
        return Path.cwd().resolve(), ""
    root = root.resolve()
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            rel = root.relative_to(folder).as_posix()
            return folder, "" if rel == "." else rel + "/"
    return root, ""


def _run(tool: Tool | None, findings: list[Finding], errors: list[ToolError], prefix: str, srcroot: Path,
         report: Report) -> dict[str, Any]:
    rules = _p21_rules(findings) if tool is None else _external_rules(tool, findings)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    kept = _within_limit(findings)
    notifications = [_error_notification(e, prefix) for e in errors]
    if len(kept) < len(findings):
        left_out = len(findings) - len(kept)
        notifications.append({
            "level": "warning",
            "descriptor": {"id": "p21-lint/results-truncated"},
            "message": {"text": f"{left_out} of {len(findings)} results left out (the least severe): GitHub code "
                                f"scanning rejects a run with more than {MAX_RESULTS:,} results. The JSON report "
                                "(--output json:PATH) has them all."},
        })
    invocation: dict[str, Any] = {"executionSuccessful": not errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications

    driver: dict[str, Any] = {"name": tool.name if tool else "p21-lint"}
    if tool is None:
        # imported here: the engine imports libcst, which the other renderers can do without
        from p21_lint.engine.rule import HELP_URL

        driver.update(semanticVersion=__version__, informationUri=HELP_URL.split("/blob/")[0])
    else:
        version = next((g.metrics.get(f"{tool.name}_version") for g in report.gates if g.name == tool.gate), None)
        if version:
            driver["version"] = str(version)
        driver["informationUri"] = tool.information_uri
    driver["rules"] = rules

    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [invocation],
        "originalUriBaseIds": {
            SRCROOT: {
                "uri": srcroot.as_uri().rstrip("/") + "/",
                "description": {"text": "The repository root (the project root outside a git repository)."},
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index, prefix) for f in kept],
    }
    if tool is None:
        run["properties"] = {
            "verdict": report.verdict,
            "gates": [{"name": g.name, "status": str(g.status), "note": g.note} for g in report.gates],
        }
    return run


def _within_limit(findings: list[Finding]) -> list[Finding]:
    """All findings, or past the limit the most severe ones (counted ones first), still in report order."""
    if len(findings) <= MAX_RESULTS:
        return findings
    ranked = sorted(range(len(findings)), key=lambda i: (not findings[i].counts, -findings[i].severity, i))
    return [findings[i] for i in sorted(ranked[:MAX_RESULTS])]


def _result(f: Finding, index: dict[str, int], prefix: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": index[f.code],
        "level": LEVEL[f.severity],
        "message": {"text": clip(f.message, MAX_TEXT)},
    }
    location = _location(f.location.path, prefix, f.location.line, f.location.column, f.location.end_line,
                         f.location.end_column)
    if location:
        result["locations"] = [location]
    if f.fingerprint:
        result["partialFingerprints"] = {FINGERPRINT_KEY: f.fingerprint}
    if f.suppressed:
        result["suppressions"] = [{"kind": SUPPRESSION_KIND.get(f.suppressed_by, "external")}]
    props: dict[str, Any] = {"confidence": str(f.confidence), "source": f.source}
    if f.suppressed_by:
        props["suppressedBy"] = f.suppressed_by
    if f.outside_diff:
        props["outsideDiff"] = True  # on a line the change did not touch: shown, never failed the gate
    result["properties"] = props
    return result


def _location(path: str, prefix: str, line: int = 0, column: int = 0, end_line: int = 0, end_column: int = 0) -> dict[str, Any] | None:
    if not path:
        return None  # a project-wide finding (total coverage): code scanning cannot place it, other readers can
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(prefix + path), "uriBaseId": SRCROOT}}
    if line >= 1:
        region: dict[str, Any] = {"startLine": line}
        if column >= 1:
            region["startColumn"] = column
        end = max(end_line, line)
        region["endLine"] = end
        if end_column >= 1 and (end > line or end_column >= max(column, 1)):
            region["endColumn"] = end_column
        physical["region"] = region
    return {"physicalLocation": physical}


def _error_notification(e: ToolError, prefix: str) -> dict[str, Any]:
    note: dict[str, Any] = {"level": "error", "descriptor": {"id": e.source}, "message": {"text": clip(e.message, MAX_TEXT)}}
    location = _location(e.path, prefix)
    if location:
        note["locations"] = [location]
    return note


def _p21_rules(findings: list[Finding]) -> list[dict[str, Any]]:
    """Every rule p21-lint has, described from its page, plus any code found that is not a registered rule."""
    from p21_lint.engine.registry import all_rules
    from p21_lint.pages import all_pages

    pages = all_pages()
    rules = {}
    for rule in all_rules():
        page = pages.get(rule.code)
        rules[rule.code] = _descriptor(
            rule.code, rule.name,
            short=page.summary() if page else rule.name,
            full=" ".join(page.sections().get("What it does", "").split()) if page else rule.standard,
            help_uri=rule.help_url(),
            help_text=page.body.strip() if page else rule.standard,
            markdown=page.body.strip() if page else "",
            severity=rule.severity, confidence=rule.confidence,
            tag=_family(rule.code), security=_is_security(rule.code, rule.cwe), cwe=rule.cwe,
        )
    for f in findings:
        if f.code not in rules:
            rules[f.code] = _found_rule(f, "p21-lint", _family(f.code), _is_security(f.code, f.cwe))
    return [rules[code] for code in sorted(rules)]


def _family(code: str) -> str:
    return code.rstrip("0123456789").lower()  # SQL001 -> sql


def _is_security(code: str, cwe: int | None) -> bool:
    return cwe is not None and code.startswith(SECURITY_FAMILIES)


def _external_rules(tool: Tool, findings: list[Finding]) -> list[dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for f in findings:
        if f.code not in rules:
            rules[f.code] = _found_rule(f, tool.name, tool.name, f.code.startswith(tool.security))
    return [rules[code] for code in sorted(rules)]


def _found_rule(f: Finding, tool: str, tag: str, security: bool) -> dict[str, Any]:
    """A rule known only from its first finding: another tool's (B608), or a code without a registered rule."""
    short = f.message.split(". ")[0].rstrip(".") + "."
    full = f"{short} ({tool} {f.code}" + (f" `{f.rule_name}`" if f.rule_name else "") + ")"
    help_text = full + (f" See {f.help_url}" if f.help_url else "")
    return _descriptor(f.code, f.rule_name or f.code, short=short, full=full, help_uri=f.help_url, help_text=help_text,
                       markdown="", severity=f.severity, confidence=f.confidence, tag=tag, security=security, cwe=f.cwe)


def _descriptor(code: str, name: str, *, short: str, full: str, help_uri: str, help_text: str, markdown: str,
                severity: Level, confidence: Level, tag: str, security: bool, cwe: int | None) -> dict[str, Any]:
    # code scanning filters by tags, shows security rules (security-severity) as security alerts, and sorts by
    # precision and severity
    props: dict[str, Any] = {"precision": PRECISION[confidence], "problem.severity": PROBLEM_SEVERITY[severity]}
    if security:
        props["security-severity"] = SECURITY_SEVERITY[severity]
    tags = [tag] if tag else []
    if security:
        tags.append("security")
    if cwe is not None:
        tags.append(f"external/cwe/cwe-{cwe}")
    props["tags"] = tags
    descriptor: dict[str, Any] = {
        "id": code,
        "name": clip(name, MAX_NAME),
        "shortDescription": {"text": clip(short, MAX_TEXT)},
        "fullDescription": {"text": clip(full or short, MAX_TEXT)},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "help": {"text": help_text or short, **({"markdown": markdown} if markdown else {})},
        "properties": props,
    }
    if help_uri:
        descriptor["helpUri"] = help_uri
    return descriptor


def clip(text: str, limit: int) -> str:
    """`text` in at most `limit` UTF-16 code units (how GitHub counts characters), ending in … when cut."""
    if len(text.encode("utf-16-le")) <= 2 * limit:
        return text
    out, used = [], 1  # room for the ellipsis
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            break
        out.append(ch)
    return "".join(out) + "…"
