"""Inline `# p21: ignore[CODE]` comments and per-file-ignores, and the findings about suppressions themselves:
P21001 (blanket) and P21002 (unused)."""

from __future__ import annotations

import libcst as cst
import pytest

from p21_lint.engine.registry import registered
from p21_lint.engine.rule import Rule
from p21_lint.engine.suppress import find_suppressions
from p21_lint.testing import lint_project


class EveryHandler(Rule):
    """A second rule on the `except` line, so one line can hold two findings."""

    code = "ZZZ010"
    name = "every-handler"
    standard = "suppression tests"

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.report(node, "an except clause")


def run(source: str, config: str = "", path: str = "app/service.py", select: str = "['ERR001', 'P21']"):
    report = lint_project({path: source}, f"select = {select}\n{config}")
    assert not report.errors, report.errors
    return report


def shown(report) -> list[tuple[int, str]]:
    return [(f.location.line, f.code) for f in report.findings if not f.suppressed]


def suppressed(report) -> list[tuple[int, str, str]]:
    return [(f.location.line, f.code, f.suppressed_by) for f in report.findings if f.suppressed]


def test_a_comment_on_the_findings_line_suppresses_it():
    report = run("""\
        try:
            work()
        except Exception:  # p21: ignore[ERR001]
            pass
    """)
    assert shown(report) == []
    assert suppressed(report) == [(3, "ERR001", "comment")]
    rules = report.gates[0]
    assert (rules.name, str(rules.status), rules.metrics["suppressed"]) == ("rules", "pass", 1)


def test_a_comment_on_another_line_does_not():
    report = run("""\
        try:  # p21: ignore[ERR001]
            work()
        except Exception:
            pass
    """)
    assert shown(report) == [(1, "P21002"), (3, "ERR001")]
    assert report.verdict == "fail"


def test_a_multiline_finding_can_be_suppressed_on_its_last_line():
    report = run("""\
        try:
            work()
        except Exception:
            pass  # p21: ignore[ERR001]
    """)
    assert shown(report) == []


def test_text_inside_a_string_is_not_a_suppression():
    report = run("""\
        try:
            work()
        except (Exception, f("# p21: ignore[ERR001]")):
            pass
    """)
    assert shown(report) == [(3, "ERR001")]
    assert find_suppressions(b'x = """\n# p21: ignore[ERR001]\n"""\n') == ()
    assert [s.line for s in find_suppressions(b'x = """\n# p21: ignore[ERR001]\n"""  # p21: ignore[ERR001]\n')] == [3]


def test_a_blanket_suppression_suppresses_nothing_and_is_reported():
    report = run("""\
        try:
            work()
        except Exception:  # p21: ignore
            pass
    """)
    assert shown(report) == [(3, "ERR001"), (3, "P21001")]
    blanket = next(f for f in report.findings if f.code == "P21001")
    assert "name the codes" in blanket.message and "# p21: ignore[ERR001]" in blanket.message


def test_an_empty_code_list_is_blanket_too():
    assert shown(run("x = 1  # p21: ignore[]\n")) == [(1, "P21001")]


def test_an_unused_suppression_is_reported():
    report = run("x = 1  # p21: ignore[ERR001]\n")
    assert shown(report) == [(1, "P21002")]
    assert "no ERR001 finding on this line" in report.findings[0].message


def test_a_suppression_for_a_rule_that_did_not_run_is_not_called_unused():
    assert shown(run("x = 1  # p21: ignore[ERR001]\n", "ignore = ['ERR001']\n")) == []
    assert shown(run("x = 1  # p21: ignore[B608]\n")) == []  # bandit's codes: not ours to judge


def test_something_that_is_not_a_code_is_reported():
    report = run("x = 1  # p21: ignore[swallowed-exception]\n")
    assert shown(report) == [(1, "P21002")]
    assert "`SWALLOWED-EXCEPTION` in this suppression is not a rule code" in report.findings[0].message


def test_lowercase_codes_and_spacing_variants():
    report = run("""\
        try:
            work()
        except Exception:  #p21:ignore[ err001 ]
            pass
        try:
            work()
        except Exception:  # P21: IGNORE[ERR001]
            pass
    """)
    assert shown(report) == []
    assert [c for _, c, _ in suppressed(report)] == ["ERR001", "ERR001"]


def test_multiple_codes_in_one_comment():
    with registered(EveryHandler):
        report = run("""\
            try:
                work()
            except Exception:  # p21: ignore[ERR001, ZZZ010]
                pass
            try:
                work()
            except Exception:  # p21: ignore[ERR001,ZZZ010,ZZZ999]
                pass
        """, select="['ERR001', 'P21', 'ZZZ']")
    assert suppressed(report) == [(3, "ERR001", "comment"), (3, "ZZZ010", "comment"),
                                  (7, "ERR001", "comment"), (7, "ZZZ010", "comment")]
    # ZZZ999 is not a rule that ran: not reported as unused
    assert shown(report) == []


def test_one_used_and_one_unused_code():
    with registered(EveryHandler):
        report = run("""\
            try:
                work()
            except ValueError:  # p21: ignore[ERR001, ZZZ010]
                pass
        """, select="['ERR001', 'P21', 'ZZZ']")
    assert shown(report) == [(3, "P21002")]
    assert suppressed(report) == [(3, "ZZZ010", "comment")]
    assert "no ERR001 finding on this line" in next(f.message for f in report.findings if f.code == "P21002")


@pytest.mark.parametrize(
    ("globs", "left"),
    [
        ({"legacy/*.py": ["ERR001"]}, ["app/new.py"]),
        ({"legacy/**": ["ERR"]}, ["app/new.py"]),  # a prefix
        ({"legacy": ["err001"]}, ["app/new.py"]),  # a folder name, and lowercase
        ({"*.py": ["ERR001"]}, []),
        ({"app/*.py": ["P21"]}, ["app/new.py", "legacy/old.py"]),  # covers other codes only
        ({"legacy/*.py": ["ERR001"], "app/**": ["ERR001"]}, []),
    ],
)
def test_per_file_ignores(globs, left):
    swallow = "try:\n    work()\nexcept Exception:\n    pass\n"
    table = "".join(f"{glob!r} = {codes!r}\n" for glob, codes in globs.items())
    config = "select = ['ERR001', 'P21']\n[tool.p21-lint.per-file-ignores]\n" + table
    report = lint_project({"app/new.py": swallow, "legacy/old.py": swallow}, config)
    assert sorted(f.location.path for f in report.findings if not f.suppressed) == left
    assert all(f.suppressed_by == "per-file-ignores" for f in report.findings if f.suppressed)


def test_per_file_ignores_cover_the_suppression_codes_too():
    report = lint_project(
        {"legacy/old.py": "x = 1  # p21: ignore[ERR001]\ny = 2  # p21: ignore\n"},
        "select = ['ERR001', 'P21']\n[tool.p21-lint.per-file-ignores]\n'legacy/**' = ['P21']\n",
    )
    assert [(f.code, f.suppressed) for f in report.findings] == [("P21002", True), ("P21001", True)]


def test_an_unparsable_file_reports_its_parse_error_not_its_suppressions():
    report = lint_project({"app/broken.py": "x = 1  # p21: ignore[ERR001]\ndef f(:\n    pass\n"})
    assert [(e.source, e.path) for e in report.errors] == [("parse", "app/broken.py")]
    assert report.findings == ()


def test_suppression_findings_keep_their_fingerprint_when_lines_move():
    source = "x = 1  # p21: ignore[ERR001]\ny = 2  # p21: ignore\nz = 3  # p21: ignore[ERR001]\n"
    before = run(source).findings
    after = run("import os\n\n\n" + source).findings
    assert [f.location.line + 3 for f in before] == [f.location.line for f in after]
    assert [f.fingerprint for f in before] == [f.fingerprint for f in after]
    assert len({f.fingerprint for f in before}) == 3  # two identical comments are still told apart
