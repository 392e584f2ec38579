"""The text and JSON renderers: the JSON schema-1 contract, determinism, grouping, colour and secrets."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from p21_lint.check import run_check
from p21_lint.cli import main
from p21_lint.config import load_config
from p21_lint.model import Finding, GateResult, Level, Location, Report, Status, ToolError
from p21_lint.report import json as json_report
from p21_lint.report import text as text_report

SWALLOW = "try:\n    work()\nexcept Exception:\n    pass\n"
PROJECT = {
    "app/zeta.py": SWALLOW,
    "app/alpha.py": "import os\n\n" + SWALLOW + SWALLOW.replace("Exception:", "Exception:  # p21: ignore[ERR001]"),
    "app/broken.py": "def handler(:\n    pass\n",
    "app/sub/clean.py": "def ok():\n    return 1\n",
    "tests/test_alpha.py": "x = 1  # p21: ignore[ERR001]\n",
}

# The README's schema 1, as a JSON Schema: these names and types are the contract; extra fields are allowed.
LEVEL = {"enum": ["low", "medium", "high"]}
SCHEMA_1 = {
    "type": "object",
    "required": ["schema_version", "verdict", "gates", "findings", "errors"],
    "properties": {
        "schema_version": {"const": 1},
        "verdict": {"enum": ["pass", "fail", "error"]},
        "gates": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "status", "metrics", "note"],
                "properties": {
                    "name": {"type": "string"},
                    "status": {"enum": ["pass", "fail", "skipped", "error"]},
                    "metrics": {"type": "object"},
                    "note": {"type": "string"},
                },
            },
        },
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "source", "severity", "confidence", "message", "path", "line", "column",
                             "end_line", "end_column", "fingerprint", "suppressed"],
                "properties": {
                    "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9]*[0-9]{3}$"},
                    "source": {"type": "string"},
                    "severity": LEVEL,
                    "confidence": LEVEL,
                    "message": {"type": "string", "minLength": 1},
                    "path": {"type": "string", "pattern": "^[^/\\\\][^\\\\]*$"},  # relative, POSIX
                    "line": {"type": "integer", "minimum": 1},
                    "column": {"type": "integer", "minimum": 1},
                    "end_line": {"type": "integer", "minimum": 1},
                    "end_column": {"type": "integer", "minimum": 1},
                    "fingerprint": {"type": "string", "minLength": 1},
                    "suppressed": {"type": "boolean"},
                },
            },
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["source", "path", "message"],
                "properties": {"source": {"type": "string"}, "path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def write(root: Path, files: dict[str, str], config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    settings = "security = false\ncache = false\nselect = ['ERR001', 'P21']\n"  # other families have their own tests
    (root / "pyproject.toml").write_text(f"[tool.p21-lint]\n{settings}{config}", encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path):
    return write(tmp_path, PROJECT)


def check(root: Path) -> Report:
    return run_check(load_config((root,)))


# -- JSON ------------------------------------------------------------------------------------------------------------

def test_json_report_follows_schema_1(project):
    data = json.loads(json_report.render(check(project)))
    jsonschema.validate(data, SCHEMA_1)
    assert data["schema_version"] == 1
    assert data["verdict"] == "error" and data["exit_code"] == 2
    statuses = {g["name"]: g["status"] for g in data["gates"]}
    assert list(statuses)[:3] == ["rules", "security", "coverage"]  # rules first; gates added later follow
    assert statuses["rules"] == "error"
    assert set(list(statuses.values())[1:]) == {"skipped"}  # nothing else was asked for
    assert data["errors"] == [
        {"source": "parse", "path": "app/broken.py", "message": "syntax error at line 1, column 13: invalid syntax"},
    ]


def test_json_findings_are_relative_posix_paths_sorted_by_path_line_column_code(project):
    data = json.loads(json_report.render(check(project)))
    rows = [(f["path"], f["line"], f["column"], f["code"], f["suppressed"]) for f in data["findings"]]
    assert rows == [
        ("app/alpha.py", 5, 1, "ERR001", False),
        ("app/alpha.py", 9, 1, "ERR001", True),
        ("app/zeta.py", 3, 1, "ERR001", False),
        ("tests/test_alpha.py", 1, 1, "P21002", False),
    ]
    first = data["findings"][0]
    assert (first["end_line"], first["end_column"]) == (6, 9)
    assert (first["source"], first["severity"], first["confidence"]) == ("p21", "medium", "high")
    assert len({f["fingerprint"] for f in data["findings"]}) == 4


def test_json_output_is_deterministic(tmp_path):
    # the same project written in a different order gives byte-identical output
    one = write(tmp_path / "one", PROJECT)
    two = write(tmp_path / "two", dict(reversed(list(PROJECT.items()))))
    first, second = json_report.render(check(one)), json_report.render(check(two))
    assert first == second
    assert json_report.render(check(one)) == first


def test_json_orders_findings_and_errors_it_is_given_out_of_order():
    def finding(path: str, line: int, column: int, code: str) -> Finding:
        return Finding(code, f"{code} here", Location(path, line, column))

    report = Report(
        gates=(GateResult("rules", Status.FAIL, (finding("b.py", 1, 1, "ERR001"), finding("a.py", 9, 1, "ERR001"),
                                                 finding("a.py", 2, 5, "SQL001"), finding("a.py", 2, 5, "ERR001"),
                                                 finding("a.py", 2, 1, "SQL001"))),),
    )
    data = json.loads(json_report.render(report))
    assert [(f["path"], f["line"], f["column"], f["code"]) for f in data["findings"]] == [
        ("a.py", 2, 1, "SQL001"), ("a.py", 2, 5, "ERR001"), ("a.py", 2, 5, "SQL001"), ("a.py", 9, 1, "ERR001"),
        ("b.py", 1, 1, "ERR001"),
    ]
    # a finding without an end gets its start as its end
    assert (data["findings"][0]["end_line"], data["findings"][0]["end_column"]) == (2, 1)


# -- text -----------------------------------------------------------------------------------------------------------

def test_text_report_groups_findings_by_file_then_gates_then_verdict(project):
    text = text_report.render(check(project), root=project)
    findings, gates = text.split("Gates\n")
    assert findings == textwrap.dedent("""\
        app/alpha.py
          5:1  ERR001  medium `except Exception:` swallows every error silently, so a failure disappears without a trace; catch the specific exception you expect, or log it with `logger.exception(...)`, or re-raise
                 5 | except Exception:

        app/zeta.py
          3:1  ERR001  medium `except Exception:` swallows every error silently, so a failure disappears without a trace; catch the specific exception you expect, or log it with `logger.exception(...)`, or re-raise
                 3 | except Exception:

        tests/test_alpha.py
          1:1  P21002  low    unused suppression: no ERR001 finding on this line; remove `ERR001` from it
                 1 | x = 1  # p21: ignore[ERR001]

        Could not check
          error [parse] app/broken.py: syntax error at line 1, column 13: invalid syntax

    """)
    rows = gate_rows(gates)
    assert rows["rules"] == ("ERROR", "3 findings, 1 suppressed, 1 file not fully checked")
    assert rows["security"] == ("SKIPPED", "disabled (--no-security)")
    assert {status for status, _ in rows.values()} == {"ERROR", "SKIPPED"}
    assert gates.endswith("\n\nVerdict: ERROR (exit 2)\n")


def gate_rows(table: str) -> dict[str, tuple[str, str]]:
    """The gate table as {name: (STATUS, note)}; every row is `  name  STATUS note`, names aligned."""
    rows, status_columns = {}, set()
    for line in table.split("\n\nVerdict:")[0].splitlines():
        name, status, *note = line.split(maxsplit=2)
        assert line.startswith(f"  {name} ") and status in ("PASS", "FAIL", "SKIPPED", "ERROR"), line
        rows[name] = (status, note[0] if note else "")
        status_columns.add(line.index(f" {status}", 2 + len(name)))
    assert len(status_columns) == 1, "the statuses line up in one column"
    return rows


def test_text_report_shows_suppressed_findings_only_when_asked(project):
    report = check(project)
    assert "(suppressed" not in text_report.render(report, root=project)
    shown = text_report.render(report, root=project, show_suppressed=True)
    assert "  9:1  ERR001  medium" in shown and "(suppressed: comment)" in shown


def test_text_report_of_a_clean_project(tmp_path):
    root = write(tmp_path, {"app/main.py": "def ok():\n    return 1\n"})
    text = text_report.render(check(root), root=root)
    assert text.startswith("Gates\n")
    rows = gate_rows(text.removeprefix("Gates\n"))
    assert rows["rules"] == ("PASS", "0 findings")
    assert {status for status, _ in rows.values()} == {"PASS", "SKIPPED"}
    assert text.endswith("\n\nVerdict: PASS (exit 0)\n")


def test_a_sensitive_finding_never_prints_its_source_line(tmp_path):
    (tmp_path / "settings.py").write_text("DEBUG = False\nSECRET_KEY = 'hunter2-production-key'\n", encoding="utf-8")
    finding = Finding("SEC001", "hard-coded secret in `SECRET_KEY`; read it from the environment",
                      Location("settings.py", 2, 1, 2, 40), severity=Level.HIGH)
    gates = (GateResult("rules", Status.FAIL, (finding,)),)
    assert "hunter2" in text_report.render(Report(gates), root=tmp_path)  # the line is normally shown ...
    secret = Finding(**{s: getattr(finding, s) for s in Finding.__slots__ if s != "sensitive"}, sensitive=True)
    text = text_report.render(Report((GateResult("rules", Status.FAIL, (secret,)),)), root=tmp_path)
    assert "hunter2" not in text  # ... but never for a sensitive finding
    assert "2:1  SEC001  high   hard-coded secret in `SECRET_KEY`" in text


def test_source_lines_cannot_smuggle_terminal_escapes(tmp_path):
    (tmp_path / "evil.py").write_text("x = '\x1b]0;pwned\x07\x1b[2J'\n", encoding="utf-8")
    finding = Finding("ERR001", "message", Location("evil.py", 1, 1))
    text = text_report.render(Report((GateResult("rules", Status.FAIL, (finding,)),)), root=tmp_path)
    assert "\x1b" not in text and "\x07" not in text
    assert "pwned" in text


def test_the_source_line_is_the_findings_line_whatever_unicode_line_breaks_the_file_holds(tmp_path):
    # Python breaks lines only at \n, \r\n and \r; a form feed or U+2028 inside a line must not shift the count
    (tmp_path / "app.py").write_text("a = 1\x0c\nb = '\u2028'\r\nc = 3\n", encoding="utf-8")
    finding = Finding("ERR001", "message", Location("app.py", 3, 1))
    text = text_report.render(Report((GateResult("rules", Status.FAIL, (finding,)),)), root=tmp_path)
    assert "   3 | c = 3\n" in text


def test_colour_is_off_unless_asked(project):
    report = check(project)
    plain = text_report.render(report, root=project)
    coloured = text_report.render(report, root=project, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[36mERR001\x1b[0m" in coloured and "\x1b[35mERROR\x1b[0m" in coloured


@pytest.mark.parametrize(
    ("env", "coloured"),
    [
        ({}, False),  # not a terminal
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        ({"NO_COLOR": "1"}, False),
    ],
)
def test_colour_on_the_command_line_follows_force_color_and_no_color(project, env, coloured):
    base = {"FORCE_COLOR": None, "NO_COLOR": None}
    result = CliRunner().invoke(main, ["check", str(project)], env={**base, **env})
    assert result.exit_code == 2, result.output
    assert ("\x1b[" in result.output) is coloured
    json_out = CliRunner().invoke(main, ["check", str(project), "--format", "json"], env={**base, **env})
    assert "\x1b[" not in json_out.output  # never in JSON
    json.loads(json_out.output)


def test_tool_errors_without_a_path_and_project_findings_render(tmp_path):
    report = Report(
        gates=(GateResult("rules", Status.FAIL, (Finding("AUTH002", "router has no auth", Location("", 0)),)),),
        errors=(ToolError("coverage", "", "no coverage data: run `coverage run -m pytest` first"),),
    )
    text = text_report.render(report, root=tmp_path)
    assert "(project)\n  0:1  AUTH002" in text
    assert "  error [coverage] no coverage data" in text
    data = json.loads(json_report.render(report))
    assert data["errors"] == [{"source": "coverage", "path": "", "message": "no coverage data: run `coverage run -m pytest` first"}]


def test_text_report_keeps_every_message_on_one_line():
    from p21_lint.model import Finding, GateResult, Location, Report, Status, ToolError
    from p21_lint.report.text import render

    evil = "bad\n::error file=x::injected\r\x1b[31m"
    report = Report(
        (GateResult("rules", Status.FAIL, (Finding("ERR001", evil, Location("a.py", 1)),), note=evil),),
        (ToolError("bandit", "b.py", evil),),
    )
    text = render(report)
    assert not any(line.startswith("::") for line in text.splitlines())
    assert "\x1b" not in text and "\r" not in text
