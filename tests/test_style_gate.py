"""The style gate: real ruff on real files with the project's own ruff settings; skipped unless enabled; a tool
error (exit 2), never a pass, when enabled without ruff or when ruff fails."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from p21_lint.check import run_check
from p21_lint.cli import main
from p21_lint.config import load_config
from p21_lint.model import Status

UNUSED_IMPORT = "import os\n\n\ndef f():\n    return 1\n"
LONG_LINE = "def f():\n    return '" + "x" * 100 + "'\n"


def project(root: Path, files: dict[str, str], tool: str = "") -> Path:
    (root / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\n" + textwrap.dedent(tool), encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def style_gate(root: Path, **overrides):
    report = run_check(load_config((root,), root / "pyproject.toml", overrides))
    return report, next(g for g in report.gates if g.name == "style")


def test_style_is_skipped_unless_enabled(tmp_path):
    report, gate = style_gate(project(tmp_path, {"app.py": UNUSED_IMPORT}))
    assert gate.status is Status.SKIPPED
    assert "style = true" in gate.note
    assert report.exit_code == 0


def test_ruff_findings_join_the_report_under_their_ruff_codes_and_fail_the_gate(tmp_path):
    report, gate = style_gate(project(tmp_path, {"app.py": UNUSED_IMPORT}, "style = true\n"))
    assert gate.status is Status.FAIL
    (finding,) = gate.findings
    assert (finding.code, finding.source, finding.location.path, finding.location.line, finding.location.column) == (
        "F401", "ruff", "app.py", 1, 8)
    assert finding.help_url.startswith("https://docs.astral.sh/ruff/rules/") and finding.fingerprint
    assert report.exit_code == 1
    assert "F401" in gate.note


def test_the_projects_own_ruff_settings_decide(tmp_path):
    files = {"app.py": UNUSED_IMPORT + LONG_LINE, "vendor/old.py": UNUSED_IMPORT}
    settings = """\
        style = true

        [tool.ruff]
        line-length = 88
        extend-exclude = ["vendor"]

        [tool.ruff.lint]
        select = ["E501"]
    """
    _, gate = style_gate(project(tmp_path, files, settings))
    assert [(f.code, f.location.path) for f in gate.findings] == [("E501", "app.py")]


def test_a_clean_project_passes_and_the_cli_flag_overrides_the_config(tmp_path):
    root = project(tmp_path, {"app.py": "def f():\n    return 1\n"}, "style = false\n")
    _, gate = style_gate(root, style=True)
    assert gate.status is Status.PASS
    result = CliRunner().invoke(main, ["check", str(root), "--style"], catch_exceptions=False)
    assert result.exit_code == 0 and "style" in result.output


def test_ruff_that_fails_is_a_tool_error_exit_2(tmp_path):
    root = project(tmp_path, {"app.py": "x = 1\n"}, 'style = true\n\n[tool.ruff]\nline-length = "long"\n')
    report, gate = style_gate(root)
    assert gate.status is Status.ERROR
    assert report.exit_code == 2
    assert any(e.source == "ruff" and "ruff failed" in e.message for e in report.errors)


def test_enabled_without_ruff_installed_exits_2_with_the_install_hint(tmp_path):
    """A Python where `import ruff` fails: `sys.modules["ruff"] = None` is how Python itself marks a module that
    cannot be imported, so the real CLI runs exactly as it would without the package."""
    root = project(tmp_path, {"app.py": "x = 1\n"}, "style = true\n")
    script = "import sys; sys.modules['ruff'] = None; from p21_lint.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", script, "check", str(root)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ruff is not installed" in done.stdout and "p21-lint[style]" in done.stdout
