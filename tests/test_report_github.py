"""GitHub Actions output: annotations no finding can subvert, GitHub's per-step limits, the job summary."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from p21_lint.check import run_check
from p21_lint.cli import main
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
from p21_lint.report import RENDERERS, github
from p21_lint.report import text as text_report

MAIN = """\
    import subprocess


    def run(cmd):
        try:
            subprocess.call(cmd, shell=True)
        except Exception:
            pass


    def quiet():
        try:
            run("ls")
        except Exception:  # p21: ignore[ERR001]
            pass
"""


def unescape(value: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(code, char)
    return value


def runner(output: str) -> list[tuple[str, dict[str, str], str]]:
    """The workflow commands the Actions runner would act on in `output`: a line is a command when, after leading
    whitespace, it starts with `::name props::`; `::stop-commands::TOKEN` turns them off until `::TOKEN::`."""
    commands: list[tuple[str, dict[str, str], str]] = []
    stopped = None
    for raw in re.split(r"\r\n|\r|\n", output):
        line = raw.lstrip()
        end = line.find("::", 2)
        if not line.startswith("::") or end < 0:
            continue
        name, _, props = line[2:end].partition(" ")
        data = line[end + 2:]
        if stopped is not None:
            if name == stopped:
                stopped = None
            continue
        if name == "stop-commands":
            stopped = data
            continue
        properties = dict(p.split("=", 1) for p in props.split(",") if "=" in p)
        commands.append((name, {k: unescape(v) for k, v in properties.items()}, unescape(data)))
    return commands


def annotations(output: str) -> list[tuple[str, dict[str, str], str]]:
    return [c for c in runner(output) if c[0] in ("error", "warning", "notice")]


def finding(i: int, severity: Level, **kw) -> Finding:
    return Finding(code="ERR001", message=f"finding {i}", location=Location(f"app/m{i:03}.py", 3, 5, 4, 9),
                   severity=severity, rule_name="swallowed-exception", **kw)


def report_of(*findings: Finding, errors: tuple[ToolError, ...] = ()) -> Report:
    return Report((GateResult("rules", Status.FAIL, tuple(findings), note=f"{len(findings)} findings"),), errors)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Report]:
    root = tmp_path_factory.mktemp("gh") / "proj"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.p21-lint]\ncache = false\n", encoding="utf-8")
    (root / "app" / "main.py").write_text(textwrap.dedent(MAIN), encoding="utf-8")
    return root, run_check(load_config((root,), root / "pyproject.toml", {"jobs": 1}))


def test_escaping_is_the_actions_toolkit_escaping():
    assert github.escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert github.command("warning", "m", file="x.py", line=3, col=None, title="") == "::warning file=x.py,line=3::m"


def test_a_real_report_becomes_annotations_and_a_log_group(project):
    root, report = project
    out = RENDERERS["github"](report, root=root)
    found = annotations(out)
    err001 = [c for c in found if c[1].get("title") == "ERR001 (swallowed-exception)"]
    assert len(err001) == 1  # the suppressed one is not annotated
    level, props, message = err001[0]
    assert level == "warning"
    assert props == {"file": "app/main.py", "line": "7", "endLine": "8", "col": "5", "title": "ERR001 (swallowed-exception)"}
    assert message.startswith("`except Exception:` swallows every error") and message.endswith("/rules/ERR001.md")
    b602 = [c for c in found if c[1]["title"].startswith("bandit B602")]
    assert b602[0][0] == "error" and b602[0][1]["line"] == "6"
    assert {c[0] for c in found} == {"error", "warning", "notice"}
    names = [c[0] for c in runner(out)]
    assert names[-2:] == ["group", "endgroup"]  # the full text report, folded, with commands stopped inside
    assert "Verdict: FAIL (exit 1)" in out


def test_no_finding_text_can_inject_a_workflow_command(tmp_path):
    hostile = "done\n::set-output name=pwned::1\r::add-mask::secret %0A%25 ::error::fake"
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "we,ird:name.py").write_text('x = """\n    ::set-env name=PWNED::1\n"""\n', encoding="utf-8")
    bad = Finding(code="ERR001", message=hostile, location=Location("app/we,ird:name.py", 2, 1, 2, 5),
                  rule_name="x::y,z", help_url="https://example.com/%0A")
    report = report_of(bad)
    plain = text_report.render(report, root=tmp_path)
    # the plain text report keeps every message on one line: no runner finds a command in it either
    assert not any(c[0] == "set-output" for c in runner(plain))

    out = github.render(report, root=tmp_path)
    commands = runner(out)
    assert {c[0] for c in commands} <= {"error", "warning", "notice", "group", "endgroup"}
    [(_, props, message)] = annotations(out)
    assert message == hostile + "\nhttps://example.com/%0A"  # arrives intact, as data
    assert props["file"] == "app/we,ird:name.py" and props["title"] == "ERR001 (x::y,z)"
    token = re.search(r"^::stop-commands::(.+)$", out, re.MULTILINE).group(1)
    inside = out.split(f"::stop-commands::{token}\n", 1)[1].split(f"\n::{token}::", 1)[0]
    assert "::set-output name=pwned::1" in inside and token not in inside  # shown in the log, never run


def test_at_most_ten_annotations_per_level_then_one_notice():
    findings = [finding(i, Level.HIGH) for i in range(25)] + [finding(100 + i, Level.MEDIUM) for i in range(3)]
    findings += [finding(200 + i, Level.LOW) for i in range(12)]
    found = annotations(github.render(report_of(*findings)))
    count = {lvl: sum(c[0] == lvl for c in found) for lvl in ("error", "warning", "notice")}
    assert count == {"error": 10, "warning": 3, "notice": 10}  # 9 findings + the notice about the rest
    assert [c[2] for c in found if c[0] == "error"] == [f"finding {i}" for i in range(10)]
    level, props, message = found[-1]
    assert level == "notice" and props == {"title": "p21-lint"}
    assert message.startswith("18 more findings not annotated")  # 15 errors and 3 notices


def test_no_notice_when_every_level_fits():
    findings = [finding(i, lvl) for lvl in Level for i in range(lvl * 100, lvl * 100 + 10)]
    found = annotations(github.render(report_of(*findings)))
    assert len(found) == 30 and not any("not annotated" in c[2] for c in found)


def test_tool_errors_come_first_and_uncounted_findings_are_left_out():
    findings = [finding(i, Level.HIGH) for i in range(12)]
    findings += [finding(50, Level.HIGH, suppressed=True, suppressed_by="comment"), finding(51, Level.HIGH, outside_diff=True)]
    errors = (ToolError("parse", "app/broken.py", "invalid syntax (line 3)"),)
    found = annotations(github.render(report_of(*findings, errors=errors)))
    assert found[0] == ("error", {"file": "app/broken.py", "title": "p21-lint could not check (parse)"}, "invalid syntax (line 3)")
    assert sum(c[0] == "error" for c in found) == 10
    assert "finding 50" not in {c[2] for c in found} and "finding 51" not in {c[2] for c in found}
    assert found[-1][2].startswith("3 more findings")  # 13 errors shown as 10


def _cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row)[1:-1]


def test_job_summary_has_verdict_gates_and_top_findings(project):
    root, report = project
    out = github.summary(report, root=root, link="https://github.com/o/r/blob/abc123/")
    assert out.startswith("## p21-lint: ❌ FAIL\n")
    assert "| rules | ❌ fail |" in out and "| security | ❌ fail |" in out and "| coverage | ⏭️ skipped |" in out
    rows = [line for line in out.splitlines() if line.startswith(("| high", "| medium", "| low"))]
    # most severe first: B602, ERR001, B404 (bandit's B110 repeats ERR001's lines, so it is shown once, as ERR001)
    assert [r.split(" | ")[0] for r in rows] == ["| high", "| medium", "| low"]
    assert "[app/main.py:6](https://github.com/o/r/blob/abc123/app/main.py#L6)" in rows[0]
    assert "[ERR001](https://github.com/p21-lint/p21-lint/blob/main/rules/ERR001.md)" in rows[1]
    assert all(len(_cells(r)) == 4 for r in rows)


def test_job_summary_escapes_markup_and_stays_within_its_budget():
    hostile = "a | b <script>alert(1)</script>\n# heading [x](javascript:alert(1)) **bold**"
    findings = [finding(i, Level.MEDIUM) for i in range(300)] + [Finding("ERR001", hostile, Location("app/x.py", 1), Level.HIGH)]
    report = report_of(*findings)
    out = github.summary(report)
    row = next(line for line in out.splitlines() if "script" in line)
    assert len(_cells(row)) == 4
    assert "<script>" not in out and "&lt;script&gt;" in row and "\\[x\\]" in row and "\n# heading" not in out
    assert f"(top {github.SUMMARY_ROWS} of 301" in out and "251 more findings not listed" in out
    small = github.summary(report, budget=1500)
    assert len(small.encode()) <= 1500
    shown = int(re.search(r"### Findings \((\d+) of 301", small).group(1))
    assert 0 < shown < github.SUMMARY_ROWS and f"{301 - shown} more findings not listed" in small


def test_job_summary_shows_coverage_numbers_and_the_least_covered_files():
    metrics = {"data": ".coverage", "total": {"percent": 72.5, "statements": 40, "missing": 11},
               "worst_files": [{"path": "app/services/pay.py", "percent": 40.0, "missing": "12-18, 30"}]}
    gate = GateResult("coverage", Status.FAIL, (), metrics, "total 72.5% < 80% (29 of 40 lines)")
    out = github.summary(Report((gate,)))
    assert "### Coverage" in out and "total 72.5% &lt; 80%" in out
    assert "| total | 72.5% (29 of 40 lines) |" in out
    assert "| app/services/pay.py | 40% | 12-18, 30 |" in out
    assert "_No findings._" in out


def test_action_outputs_from_the_json_report():
    data = {"verdict": "fail", "findings": [{"suppressed": False}, {"suppressed": True}, {"outside_diff": True}],
            "gates": [{"name": "coverage", "metrics": {"total": {"percent": 81.25}}}]}
    assert github.action_outputs(data) == {"verdict": "fail", "findings": "1", "coverage": "81.25"}
    assert github.action_outputs({"verdict": "error"}) == {"verdict": "error", "findings": "0", "coverage": ""}


def _cli(root: Path, *args: str, env: dict[str, str]):
    """The real command line, in this process (click's runner), with the runner's variables set."""
    unset = {k: None for k in os.environ if k.startswith("GITHUB_")}
    return CliRunner().invoke(main, ["check", str(root), "--no-security", *args], env={**unset, **env})


def test_cli_appends_the_job_summary_when_the_github_format_is_asked_for(project, tmp_path):
    root, _ = project
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step output\n", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "abc123",
           "GITHUB_SERVER_URL": "https://github.com"}
    result = _cli(root, "--format", "github", env=env)
    assert result.exit_code == 1, result.output
    assert annotations(result.stdout)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step output\n## p21-lint: ❌ FAIL")
    assert "(https://github.com/o/r/blob/abc123/app/main.py#L7)" in text

    summary.write_text("", encoding="utf-8")
    assert _cli(root, "--format", "json", env=env).exit_code == 1
    assert summary.read_text(encoding="utf-8") == ""  # not asked for: not written
    out = tmp_path / "annotations.txt"
    assert _cli(root, "--output", f"github:{out}", env=env).exit_code == 1
    assert summary.read_text(encoding="utf-8").startswith("## p21-lint")
    assert annotations(out.read_text(encoding="utf-8"))


def test_annotation_paths_start_at_the_repository_root(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    root = tmp_path / "services" / "api"
    root.mkdir(parents=True)
    report = report_of(finding(1, Level.MEDIUM), errors=(ToolError("parse", "app/bad.py", "invalid syntax"),))
    files = [c[1]["file"] for c in annotations(github.render(report, root=root))]
    assert files == ["services/api/app/bad.py", "services/api/app/m001.py"]
    assert "| services/api/app/m001.py:3 |" in github.summary(report, root=root)
