"""JUnit XML: a suite per gate, a failed case per finding that failed it, tool errors as <error>; always well-formed."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET

from p21_lint.check import run_check
from p21_lint.config import load_config
from p21_lint.model import (
    Finding,
    GateResult,
    Level,
    Location,
    Report,
    Status,
    ToolError,
)
from p21_lint.report import RENDERERS, junit

SOURCE = """\
    def charge(order):
        try:
            gateway.charge(order)
        except Exception:
            pass


    def refund(order):
        try:
            gateway.refund(order)
        except Exception:  # p21: ignore[ERR001]
            pass
"""


def parse(xml: str) -> ET.Element:
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(xml.encode("utf-8"))


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in suite.iter("testcase")}


def test_a_real_report_has_a_suite_per_gate_and_a_case_per_failing_finding(tmp_path):
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.p21-lint]\ncache = false\nsecurity = false\n", encoding="utf-8")
    (root / "app" / "pay.py").write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    (root / "app" / "bad.py").write_text("def broken(:\n", encoding="utf-8")
    report = run_check(load_config((root,), root / "pyproject.toml", {"jobs": 1}))

    doc = parse(RENDERERS["junit"](report, root=root))
    assert doc.tag == "testsuites"
    suites = {s.get("name"): s for s in doc.findall("testsuite")}
    assert list(suites) == [f"p21-lint.{g.name}" for g in report.gates] + ["p21-lint.errors"]

    rules = cases(suites["p21-lint.rules"])
    # the rules gate is an error (a file did not parse), its one counted finding a failure; the suppressed one is no case
    assert list(rules) == ["rules gate", "ERR001 app/pay.py:4:5"]
    assert rules["rules gate"].find("error") is not None
    failure = rules["ERR001 app/pay.py:4:5"].find("failure")
    assert failure.get("type") == "ERR001" and failure.get("message").startswith("`except Exception:` swallows")
    assert "help: https://github.com/p21-lint/p21-lint/blob/main/rules/ERR001.md" in failure.text
    assert rules["ERR001 app/pay.py:4:5"].get("file") == "app/pay.py"

    assert cases(suites["p21-lint.security"])["security gate"].find("skipped") is not None
    [error_case] = cases(suites["p21-lint.errors"]).values()
    assert error_case.find("error").get("type") == "parse" and error_case.get("file") == "app/bad.py"

    for suite in suites.values():  # the counts agree with the cases
        kids = list(suite.iter("testcase"))
        assert int(suite.get("tests")) == len(kids)
        for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            assert int(suite.get(attr)) == sum(k.find(tag) is not None for k in kids)
    assert int(doc.get("tests")) == sum(int(s.get("tests")) for s in suites.values())
    skipped = sum(g.status is Status.SKIPPED for g in report.gates)  # security (off), coverage (no threshold), ...
    assert skipped >= 2 and (int(doc.get("failures")), int(doc.get("errors")), int(doc.get("skipped"))) == (1, 2, skipped)


def test_a_passing_gate_lists_its_findings_without_failing():
    low = Finding("P21002", "unused suppression", Location("app/x.py", 3, 1), Level.LOW)
    doc = parse(junit.render(Report((GateResult("rules", Status.PASS, (low,), note="1 finding below medium"),))))
    [case] = doc.iter("testcase")
    assert case.get("name") == "rules gate" and case.find("failure") is None
    assert "app/x.py:3:1: P21002 [low] unused suppression" in case.find("system-out").text
    assert doc.get("failures") == "0"


def test_any_text_stays_well_formed_xml_and_reads_back():
    hostile = 'a < b && c > "d" \']]> <!-- x --> \x1b[31mred\x00\x0b\ud800 end\nsecond line 😀'
    expected = 'a < b && c > "d" \']]> <!-- x --> \\x1b[31mred\\x00\\x0b\\xd800 end\nsecond line 😀'
    finding = Finding("ERR001", hostile, Location("app/<&>.py", 1, 1), Level.HIGH)
    errors = (ToolError("rule:ERR001", "app/\x07.py", hostile),)
    xml = junit.render(Report((GateResult("rules", Status.FAIL, (finding,), note=hostile),), errors))
    doc = parse(xml)  # well-formed, or this raises
    failure = next(c for c in doc.iter("testcase") if c.get("name").startswith("ERR001")).find("failure")
    assert failure.get("message") == expected  # attribute newlines survive as &#10;
    assert failure.text.splitlines()[0] == f"app/<&>.py:1:1: ERR001 [high] {expected.splitlines()[0]}"
    error = next(c for c in doc.iter("testcase") if c.get("classname") == "p21-lint.errors")
    assert error.get("file") == "app/\\x07.py" and error.find("error").get("message") == expected


def test_output_is_deterministic(tmp_path):
    findings = tuple(Finding("ERR001", f"m{i}", Location(f"a{i}.py", i + 1), Level.MEDIUM) for i in range(3))
    report = Report((GateResult("rules", Status.FAIL, findings),))
    assert junit.render(report) == junit.render(report)
    assert junit.render(report).count("<failure") == 4  # the gate and each finding
