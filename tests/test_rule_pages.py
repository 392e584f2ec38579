"""The rule pages are documentation and tests at once.

Every Example block yields exactly its `# error: CODE` markers, every Use-instead block yields none, every block
parses, the registry and the pages match one to one, and every option a page names exists (and vice versa).
Blocks with `path=...` in their fence info (python, or data such as `json path=coverage.json`) form one project
per section (for project rules and gates); a `toml` block in a section is that section's [tool.p21-lint] config.
"""

from __future__ import annotations

import re

import pytest

from p21_lint.engine.registry import all_rules, rule_by_code
from p21_lint.pages import SECTIONS, Page, all_pages
from p21_lint.testing import expected_markers, found_markers, lint_project

PAGES = all_pages()


def _projects(page: Page, section: str) -> list[tuple[dict[str, str], str]]:
    """The runnable projects of one section: one per plain block, one for all `path=` blocks together."""
    blocks = [b for b in page.blocks() if b.section == section]
    config = "\n".join(b.code for b in blocks if b.info.split()[:1] == ["toml"] and "path" not in b.attrs and "[tool." not in b.code)
    python = [b for b in blocks if b.info.split()[:1] == ["python"]]
    # every `path=` block is a file of the section's project: modules, and data files such as coverage.json
    together = {b.attrs["path"]: b.code for b in blocks if "path" in b.attrs}
    projects = [({"example.py": b.code}, config) for b in python if "path" not in b.attrs]
    if together:
        projects.append((together, config))
    return projects


def test_registry_and_pages_match_one_to_one():
    codes = {r.code for r in all_rules()}
    assert codes == set(PAGES), f"rules without a page: {codes - set(PAGES)}; pages without a rule: {set(PAGES) - codes}"


@pytest.mark.parametrize("code", sorted(PAGES))
def test_page_front_matter_and_sections(code):
    page = PAGES[code]
    rule = rule_by_code(code)
    assert page.path.stem == code
    assert page.meta["name"] == rule.name
    assert page.meta["severity"] == str(rule.severity)
    sections = page.sections()
    missing = [s for s in SECTIONS if s not in sections]
    assert not missing, f"{page.path}: missing sections {missing}"
    assert _projects(page, "Example"), f"{page.path}: no python block under Example"
    assert _projects(page, "Use instead"), f"{page.path}: no python block under Use instead"


@pytest.mark.parametrize("code", sorted(PAGES))
def test_page_options_exist(code):
    rule = rule_by_code(code)
    text = PAGES[code].sections()["Options"]
    named = set(re.findall(r"^- `([a-z0-9-]+)`", text, re.MULTILINE))
    declared = {o.name for o in rule.OPTIONS}
    assert named == declared, f"{code}: page names {sorted(named)}, rule declares {sorted(declared)}"


@pytest.mark.parametrize("code", sorted(PAGES))
@pytest.mark.parametrize("section", ["Example", "Use instead"])
def test_page_examples(code, section):
    """Each page is checked with its own rule, plus any rule its markers name (as ruff tests a rule in isolation):
    an auth finding on every route of an error-handling example would only blur what the page shows."""
    for files, config in _projects(PAGES[code], section):
        suppressed = {c.strip() for text in files.values() for m in re.finditer(r"p21: ignore\[([^\]]*)\]", text) for c in m.group(1).split(",")}
        codes = sorted({code, *(c for _, _, c in expected_markers(files)), *suppressed})
        select = "select = [" + ", ".join(f'"{c}"' for c in codes) + "]\n"
        report = lint_project(files, select + config)
        assert not report.errors, f"{code} {section}: the block does not check cleanly: {report.errors}"
        expected = expected_markers(files)
        if section == "Example":
            assert expected, f"{code}: an Example block without `# error:` markers"
            assert any(c == code for _, _, c in expected), f"{code}: Example never shows {code}"
        else:
            assert not expected, f"{code}: a Use-instead block must not expect findings"
        assert found_markers(report) == expected
