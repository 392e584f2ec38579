"""JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure, CircleCI, Buildkite).

A test suite per gate. In it, one test case for the gate itself (passed, failed with its note, an error, or
skipped), then one failed test case per finding that failed the gate, so each finding is a row with its own text.
Findings that do not fail anything (suppressed, accepted by the baseline, on unchanged lines, or in a gate that
passed) are not test cases; a passing gate lists its findings in the gate case's system-out. Tool errors are
<error> cases in a last suite, `p21-lint.errors`. Times are 0: the report is about code, not about durations.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from p21_lint.model import Finding, GateResult, Report, Status, ToolError
from p21_lint.report.sarif import source_root

# Characters XML 1.0 cannot hold even escaped (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def render(report: Report, *, root: Path | None = None, **_: Any) -> str:
    _, prefix = source_root(root)  # paths from the repository root, as the CI system shows the files
    suites = [_gate_suite(g, prefix) for g in report.gates]
    if report.errors:
        suites.append(_errors_suite(report.errors, prefix))
    root = _element("testsuites", name="p21-lint", **_totals(suites))
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _element(tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    el = ET.Element(tag, {k: clean(str(v)) for k, v in attrs.items()})
    if text:
        el.text = clean(text)
    return el


def _totals(suites: list[ET.Element]) -> dict[str, Any]:
    keys = ("tests", "failures", "errors", "skipped")
    return {**{k: sum(int(s.get(k, "0")) for s in suites) for k in keys}, "time": "0"}


def _suite(name: str, cases: list[ET.Element]) -> ET.Element:
    count = {t: sum(c.find(t) is not None for c in cases) for t in ("failure", "error", "skipped")}
    suite = _element("testsuite", name=name, tests=len(cases), failures=count["failure"], errors=count["error"],
                     skipped=count["skipped"], time="0")
    suite.extend(cases)
    return suite


def _gate_suite(gate: GateResult, prefix: str) -> ET.Element:
    classname = f"p21-lint.{gate.name}"
    counted = [f for f in gate.findings if f.counts]
    case = _element("testcase", classname=classname, name=f"{gate.name} gate", time="0")
    note = gate.note or str(gate.status)
    listing = "\n".join(_line(f, prefix) for f in counted)
    if gate.status is Status.FAIL:
        case.append(_element("failure", listing or note, message=note, type="gate"))
    elif gate.status is Status.ERROR:
        case.append(_element("error", listing or note, message=note, type="gate"))
    elif gate.status is Status.SKIPPED:
        case.append(_element("skipped", message=note))
    elif listing:
        case.append(_element("system-out", f"findings that did not fail the gate:\n{listing}"))
    cases = [case]
    if gate.status in (Status.FAIL, Status.ERROR):
        cases += [_finding_case(classname, f, prefix) for f in counted]
    return _suite(classname, cases)


def _finding_case(classname: str, f: Finding, prefix: str) -> ET.Element:
    loc = f.location
    attrs: dict[str, Any] = {"classname": classname, "name": f"{f.code} {_where(f, prefix)}"}
    if loc.path:
        attrs["file"] = prefix + loc.path
        if loc.line >= 1:
            attrs["line"] = loc.line
    case = _element("testcase", **attrs, time="0")
    details = f"{_line(f, prefix)}\nseverity: {f.severity}, confidence: {f.confidence}, found by: {f.source}"
    if f.help_url:
        details += f"\nhelp: {f.help_url}"
    case.append(_element("failure", details, message=f.message, type=f.code))
    return case


def _where(f: Finding, prefix: str) -> str:
    loc = f.location
    return f"{prefix}{loc.path}:{loc.line}:{loc.column}" if loc.path else "(project)"


def _line(f: Finding, prefix: str) -> str:
    return f"{_where(f, prefix)}: {f.code} [{f.severity}] {f.message}"


def _errors_suite(errors: tuple[ToolError, ...], prefix: str) -> ET.Element:
    cases = []
    for e in errors:
        where = prefix + e.path if e.path else "(project)"
        attrs: dict[str, Any] = {"classname": "p21-lint.errors", "name": f"{e.source} {where}"}
        if e.path:
            attrs["file"] = where
        case = _element("testcase", **attrs, time="0")
        case.append(_element("error", f"{where}: {e.message}", message=e.message, type=e.source))
        cases.append(case)
    return _suite("p21-lint.errors", cases)
