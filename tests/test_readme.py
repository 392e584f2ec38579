"""The README is the front door: its commands, its config reference and its rule list must match the code.

When one of these fails after you added a config key or a rule, the message says which row to add.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from p21_lint import config
from p21_lint.engine.registry import all_rules
from p21_lint.model import Finding, Location
from p21_lint.pages import all_pages
from p21_lint.report.json import SCHEMA_VERSION, finding_dict

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no `## {title}` section"
    return match.group(1)


def code_blocks(text: str, info: str) -> list[str]:
    return re.findall(rf"^```{info}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def test_the_first_command_runs_the_sample():
    first = code_blocks(README, "sh")[0].strip()
    assert first == "bash scripts/run-sample.sh"
    assert (ROOT / "scripts" / "run-sample.sh").is_file()


def test_the_test_command_is_exactly_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    [command] = re.findall(r'^TEST_COMMAND="(.*)"$', ci, re.MULTILINE)
    shown = [block.strip() for block in code_blocks(section("Run the tests"), "sh")]
    assert command in shown, f"README.md `## Run the tests` must show .ci/run's TEST_COMMAND verbatim:\n{command}"


def _option_tables() -> list[config.Option]:
    """Every declared option, including sub-tables such as [tool.p21-lint.coverage] (COVERAGE_OPTIONS)."""
    return [
        option
        for value in vars(config).values()
        if isinstance(value, tuple) and value and all(isinstance(o, config.Option) for o in value)
        for option in value
    ]


def test_every_config_key_is_in_the_configuration_reference():
    options = _option_tables()
    assert {"select", "min-coverage"} <= {o.key for o in options}
    table = section("Configuration")
    documented = set(re.findall(r"^\| `([a-z0-9.-]+)` \|", table, re.MULTILINE))
    missing = [o for o in options if o.key not in documented]
    rows = "\n".join(f"| `{o.key}` | <type> | <default> | {o.help} |" for o in missing)
    assert not missing, f"add these rows to the table in README.md `## Configuration`:\n{rows}"
    stale = documented - {o.key for o in options}
    assert not stale, f"README.md `## Configuration` documents keys that no longer exist: {sorted(stale)}"


def test_every_rule_is_in_the_rule_list():
    pages = all_pages()
    row = re.compile(r"^\| \[([A-Z][A-Z0-9]*[0-9]{3})\]\(rules/\1\.md\) \| ([a-z0-9-]+) \| (\w+) \|", re.MULTILINE)
    listed = row.findall(section("Rules"))
    by_code = {code: (name, severity) for code, name, severity in listed}
    missing = [r for r in all_rules() if r.code not in by_code]
    rows = "\n".join(
        f"| [{r.code}](rules/{r.code}.md) | {r.name} | {r.severity} | "
        f"{pages[r.code].summary() if r.code in pages else '<one line: what it flags>'} |"
        for r in missing
    )
    assert not missing, f"add these rows to the rule list in README.md `## Rules` (sorted by code):\n{rows}"
    registered = {r.code: r for r in all_rules()}
    unknown = sorted(set(by_code) - set(registered))
    assert not unknown, f"README.md `## Rules` lists codes no rule has: {unknown}"
    wrong = {code: by_code[code] for code, r in registered.items() if by_code[code] != (r.name, str(r.severity))}
    assert not wrong, f"README.md `## Rules` rows whose name or severity differ from the rule: {wrong}"
    assert [code for code, _, _ in listed] == sorted(by_code), "keep the rule list sorted by code"


def test_the_json_report_example_keeps_the_contract():
    text = section("JSON report (schema 1)")
    [example] = code_blocks(text, "json")
    report = json.loads(example)
    assert report["schema_version"] == SCHEMA_VERSION == 1
    for key in ("schema_version", "verdict", "gates", "findings", "errors"):
        assert f"`{key}`" in text and key in report
    contract = ["code", "source", "severity", "confidence", "message", "path", "line", "column", "end_line",
                "end_column", "fingerprint", "suppressed"]
    for finding in report["findings"]:
        assert list(finding) == contract, "the README's example finding shows the contract's fields, in order"
    assert all(set(g) == {"name", "status", "metrics", "note"} for g in report["gates"])
    emitted = finding_dict(Finding("ERR001", "message", Location("app/x.py", 4, 5)))
    assert set(contract) <= set(emitted), "the JSON renderer must emit every field the README promises"
