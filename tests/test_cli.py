"""The command line as a user meets it: exit codes, the JSON contract, config errors, the sub-commands, colour.

Most tests go through click's CliRunner (in-process, fast); two run the real executables in a subprocess.
Every project is real files in a tmp dir, checked by the real pipeline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from p21_lint.cli import main
from p21_lint.engine.registry import all_rules

SWALLOWS = """\
def load(path):
    try:
        return open(path).read()
    except Exception:
        pass
"""
CLEAN = """\
import logging

log = logging.getLogger(__name__)


def load(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        log.exception("cannot read %s", path)
        raise
"""
# A half-edited file: it does not parse.
BROKEN = """\
def save(path, text):
    try:
        write(path, text
    except OSError:
        raise
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def make_project(root: Path, files: dict[str, str], config: str = "security = false\n") -> Path:
    (root / "pyproject.toml").write_text("[tool.p21-lint]\n" + textwrap.dedent(config), encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def invoke(*args: str, env: dict[str, str] | None = None):
    env = {"NO_COLOR": None, "FORCE_COLOR": None, **(env or {})}
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


# -- exit codes ----------------------------------------------------------------------------------------------------


def test_a_clean_project_passes_every_gate_and_exits_0(tmp_path):
    # the security gate runs too (real bandit): a clean project is clean for bandit as well
    project = make_project(tmp_path, {"app/files.py": CLEAN}, config="")
    result = invoke(project)
    assert result.exit_code == 0, result.output
    assert "Verdict: PASS (exit 0)" in result.output
    assert re.search(r"^\s+rules\s+PASS", result.output, re.MULTILINE)
    assert re.search(r"^\s+security\s+PASS", result.output, re.MULTILINE)


def test_a_finding_fails_the_gate_with_exit_1_and_exit_zero_turns_it_into_0(tmp_path):
    project = make_project(tmp_path, {"app/files.py": SWALLOWS})
    failed = invoke(project)
    assert failed.exit_code == 1, failed.output
    assert "app/files.py" in failed.output and "ERR001" in failed.output
    assert "Verdict: FAIL (exit 1)" in failed.output

    masked = invoke(project, "--exit-zero")
    assert masked.exit_code == 0
    assert "ERR001" in masked.output, "--exit-zero changes the exit code, not the report"


def test_exit_zero_never_masks_a_tool_error(tmp_path):
    project = make_project(tmp_path, {"app/files.py": SWALLOWS, "app/broken.py": BROKEN})
    assert invoke(project).exit_code == 2
    assert invoke(project, "--exit-zero").exit_code == 2


def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path):
    result = invoke(tmp_path / "nowhere")
    assert result.exit_code == 2
    assert "nowhere" in result.output


# -- the JSON report: a public contract (README "JSON report") ----------------------------------------------------

FINDING_KEYS = {"code", "source", "severity", "confidence", "message", "path", "line", "column", "end_line",
                "end_column", "fingerprint", "suppressed"}


def test_json_report_loads_and_keeps_the_schema_1_contract(tmp_path):
    project = make_project(tmp_path, {"app/files.py": SWALLOWS})
    result = invoke(project, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["schema_version"] == 1
    assert report["verdict"] == "fail"
    assert report["errors"] == []
    gates = {g["name"]: g for g in report["gates"]}
    assert {"rules", "security", "coverage"} <= set(gates)
    for gate in report["gates"]:
        assert {"name", "status", "metrics", "note"} <= set(gate)
        assert gate["status"] in {"pass", "fail", "skipped", "error"}
        assert isinstance(gate["metrics"], dict) and isinstance(gate["note"], str)
    assert gates["rules"]["status"] == "fail"
    assert gates["security"]["status"] == "skipped"  # security = false in the project's config

    [finding] = report["findings"]
    assert FINDING_KEYS <= set(finding), f"missing keys: {FINDING_KEYS - set(finding)}"
    assert (finding["code"], finding["source"], finding["path"], finding["line"], finding["column"]) == (
        "ERR001", "p21", "app/files.py", 4, 5)
    assert finding["severity"] in {"low", "medium", "high"} and finding["confidence"] in {"low", "medium", "high"}
    assert finding["end_line"] >= finding["line"] and finding["suppressed"] is False
    assert re.fullmatch(r"[0-9a-f]{8,}", finding["fingerprint"])


def test_a_broken_file_exits_2_and_the_other_files_are_still_reported(tmp_path):
    project = make_project(tmp_path, {"app/files.py": SWALLOWS, "app/broken.py": BROKEN, "app/ok.py": CLEAN})
    result = invoke(project, "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["verdict"] == "error"
    assert [(e["path"], e["source"]) for e in report["errors"]] == [("app/broken.py", "parse")]
    assert {e["message"] for e in report["errors"]} != {""}
    assert [(f["path"], f["code"]) for f in report["findings"]] == [("app/files.py", "ERR001")]

    text = invoke(project)
    assert text.exit_code == 2
    assert "app/broken.py" in text.output and "ERR001" in text.output
    assert "Traceback" not in text.output


# -- configuration errors ------------------------------------------------------------------------------------------


def test_a_config_typo_exits_2_naming_the_key_and_the_file(tmp_path):
    project = make_project(tmp_path, {"app/files.py": SWALLOWS}, config='selct = ["ERR"]\n')
    result = invoke(project)
    assert result.exit_code == 2
    assert "`selct`" in result.output
    assert str(tmp_path / "pyproject.toml") in result.output
    assert "select" in result.output.replace("`selct`", "")  # the suggestion
    assert "Verdict" not in result.output, "nothing is checked under a broken config"


def test_a_config_value_of_the_wrong_type_exits_2_naming_the_key(tmp_path):
    project = make_project(tmp_path, {"app/files.py": SWALLOWS}, config='security = "yes"\n')
    result = invoke(project)
    assert result.exit_code == 2
    assert "`security`" in result.output and "pyproject.toml" in result.output


# -- python -m p21_lint and the console script: real processes ----------------------------------------------------


def _script() -> Path:
    folder = Path(sys.executable).parent
    for name in ("p21-lint", "p21-lint.exe"):
        if (folder / name).exists():
            return folder / name
    pytest.fail(f"no p21-lint console script next to {sys.executable}: is p21-lint installed in this environment?")


def test_python_m_p21_lint_works_the_same_as_the_console_script(tmp_path):
    project = make_project(tmp_path, {"app/files.py": SWALLOWS, "app/ok.py": CLEAN})
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    runs = [
        subprocess.run([*cmd, str(project), "--format", "json"], capture_output=True, text=True, env=env, timeout=120)
        for cmd in ([sys.executable, "-m", "p21_lint"], [str(_script())])
    ]
    module, script = runs
    assert module.returncode == script.returncode == 1, module.stderr + script.stderr
    assert json.loads(module.stdout) == json.loads(script.stdout)
    assert json.loads(module.stdout)["findings"][0]["code"] == "ERR001"


# -- rules, explain, debug-config ---------------------------------------------------------------------------------


def test_rules_lists_every_registered_rule():
    result = invoke("rules")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    assert listed == [r.code for r in all_rules()]

    rows = json.loads(invoke("rules", "--format", "json").stdout)
    assert [row["code"] for row in rows] == listed
    assert all(row["name"] and row["severity"] in {"low", "medium", "high"} for row in rows)


def test_explain_prints_the_rule_page():
    result = invoke("explain", "ERR001")
    assert result.exit_code == 0
    assert "code = \"ERR001\"" in result.output
    assert "## What it does" in result.output and "## Use instead" in result.output
    assert invoke("explain", "err001").output == result.output


def test_explain_of_an_unknown_code_exits_2():
    result = invoke("explain", "NOPE")
    assert result.exit_code == 2
    assert "NOPE" in result.output and "p21-lint rules" in result.output


def test_debug_config_shows_every_rule_enabled_or_disabled_and_why(tmp_path):
    project = make_project(tmp_path, {"app/files.py": SWALLOWS}, config='ignore = ["ERR"]\nsecurity = false\n')
    result = invoke("debug-config", project)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"config file: {tmp_path / 'pyproject.toml'}" in out
    assert re.search(r"^\s+security = false\s+\(.*pyproject\.toml\)$", out, re.MULTILINE), "where a key came from"
    assert re.search(r"^\s+jobs = 0\s+\(default\)$", out, re.MULTILINE)
    row = re.compile(r"^\s+([A-Z][A-Z0-9]*\d{3})\s+(enabled|disabled)\s+(.*)$", re.MULTILINE)
    rules = {m.group(1): (m.group(2), m.group(3)) for m in row.finditer(out)}
    assert set(rules) == {r.code for r in all_rules()}, "every rule is listed"
    assert rules["ERR001"][0] == "disabled" and "ERR" in rules["ERR001"][1]
    assert all(state == "enabled" and why for code, (state, why) in rules.items() if not code.startswith("ERR"))

    flagged = invoke("debug-config", project, "--select", "ERR001")
    assert re.search(r"^\s+ERR001\s+enabled\s+selected by `ERR001`", flagged.output, re.MULTILINE)
    assert re.search(r"^\s+P21001\s+disabled\s+not matched by select", flagged.output, re.MULTILINE)


# -- colour --------------------------------------------------------------------------------------------------------


def test_no_color_wins_over_force_color(tmp_path):
    project = make_project(tmp_path, {"app/files.py": SWALLOWS})
    assert ANSI.search(invoke(project, env={"FORCE_COLOR": "1"}).output)
    plain = invoke(project, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.exit_code == 1 and "ERR001" in plain.output
    assert not ANSI.search(plain.output)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_on_a_real_terminal_unless_no_color(tmp_path):
    import pty

    project = make_project(tmp_path, {"app/files.py": SWALLOWS})

    def run_on_a_tty(extra_env: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        proc = subprocess.Popen([sys.executable, "-m", "p21_lint", str(project)], stdout=follower, stderr=follower,
                                env={**env, **extra_env})
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        assert proc.wait(timeout=120) == 1
        return b"".join(chunks).decode("utf-8", "replace")

    coloured = run_on_a_tty({})
    assert "ERR001" in coloured and ANSI.search(coloured)
    plain = run_on_a_tty({"NO_COLOR": "1"})
    assert "ERR001" in plain and not ANSI.search(plain)
