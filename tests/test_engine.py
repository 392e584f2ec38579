"""The per-file engine: one parse and one traversal, byte triggers, qualified names, crash isolation, positions,
fingerprints, and the process pool giving the same answer as the inline path."""

from __future__ import annotations

import pickle
import textwrap
import warnings

import libcst as cst
import pytest
from libcst.metadata import PositionProvider

from p21_lint.check import run_check
from p21_lint.config import load_config
from p21_lint.engine.pool import INLINE_BELOW
from p21_lint.engine.registry import registered, rule_by_code
from p21_lint.engine.rule import Rule
from p21_lint.engine.runner import FileSettings, check_source
from p21_lint.files import module_name
from p21_lint.report.json import render as render_json
from p21_lint.testing import lint_project

EVENTS: list[str] = []


class CallNames(Rule):
    """Reports every call with the qualified name of what it calls: NameTracker seen through the real engine."""

    code = "ZZZ001"
    name = "call-names"
    standard = "engine tests"

    def visit_Call(self, node: cst.Call) -> None:
        self.report(node, str(self.context.qualified_name(node.func)))


class First(Rule):
    code = "ZZZ002"
    name = "first"
    standard = "engine tests"

    def visit_Module(self, node: cst.Module) -> None:
        EVENTS.append(f"first:module:{id(node)}")

    def visit_Call(self, node: cst.Call) -> None:
        EVENTS.append("first:call")


class Second(First):
    code = "ZZZ003"
    name = "second"

    def visit_Module(self, node: cst.Module) -> None:
        EVENTS.append(f"second:module:{id(node)}")

    def visit_Call(self, node: cst.Call) -> None:
        EVENTS.append("second:call")


class Needle(Rule):
    code = "ZZZ004"
    name = "needle"
    standard = "engine tests"
    TRIGGERS = (b"needle",)

    def visit_Module(self, node: cst.Module) -> None:
        self.report(node, "found the needle")


class NotInTests(Needle):
    code = "ZZZ005"
    name = "not-in-tests"
    TRIGGERS = ()
    IN_TESTS = False


class Crashes(Rule):
    """Raises on a call to `boom()`, after reporting every other call: a rule with a bug."""

    code = "ZZZ901"
    name = "crashes"
    standard = "engine tests"

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "boom":
            raise ZeroDivisionError("the rule's own bug")


class CrashesAtStart(Rule):
    code = "ZZZ902"
    name = "crashes-at-start"
    standard = "engine tests"

    def __init__(self, context, options) -> None:
        super().__init__(context, options)
        self.limit = options["no-such-option"]


class WantsPositions(Rule):
    """Declares libcst metadata the way DESIGN.md allows: it must arrive through the engine's crash guard."""

    code = "ZZZ006"
    name = "wants-positions"
    standard = "engine tests"
    METADATA_DEPENDENCIES = (PositionProvider,)

    def visit_Call(self, node: cst.Call) -> None:
        self.report(node, f"starts at column {self.get_metadata(PositionProvider, node).start.column}")


TEST_RULES = (CallNames, First, Second, Needle, NotInTests, Crashes, CrashesAtStart, WantsPositions)


@pytest.fixture(autouse=True)
def known_test_rules():
    with registered(*TEST_RULES):
        EVENTS.clear()
        yield


def check(source: str, *codes: str, path: str = "app/main.py", is_test: bool = False):
    return check_source(path, module_name(path), is_test, textwrap.dedent(source).encode(), settings_for(*codes))


def settings_for(*codes: str) -> FileSettings:
    """What check.py hands the per-file pass: each rule with its resolved default options."""
    codes = codes or ("ZZZ001",)
    return FileSettings(rules=tuple((c, tuple(sorted(rule_by_code(c).resolve_options({}, "").items()))) for c in codes))


def call_names(source: str, path: str = "app/main.py") -> dict[int, str]:
    result = check(source, path=path)
    assert not result.errors
    return {f.location.line: f.message for f in result.findings}


# -- one parse, one traversal ------------------------------------------------------------------------------------

def test_all_enabled_rules_share_one_tree_and_one_traversal():
    result = check("a()\nb()\n", "ZZZ002", "ZZZ003")
    assert not result.errors
    first_module, second_module = EVENTS[0], EVENTS[1]
    assert first_module.split(":")[2] == second_module.split(":")[2]  # the same Module object: parsed once
    # interleaved node by node: one batched walk, not one walk per rule
    assert [e.rsplit(":", 1)[0] if "module" in e else e for e in EVENTS] == [
        "first:module", "second:module", "first:call", "second:call", "first:call", "second:call",
    ]


def test_registered_rules_are_known_only_inside_the_block():
    class Extra(Needle):
        code = "ZZZ777"
        name = "extra"

    assert rule_by_code("ZZZ777") is None
    with registered(Extra):
        assert rule_by_code("ZZZ777") is Extra
        assert rule_by_code("ZZZ004") is Needle  # blocks nest
    assert rule_by_code("ZZZ777") is None
    assert rule_by_code("ZZZ004") is Needle
    assert rule_by_code("ERR001") is not None


# -- byte triggers -------------------------------------------------------------------------------------------------

def test_a_rule_runs_only_on_files_with_its_trigger_bytes():
    assert [f.message for f in check("x = 'needle'\n", "ZZZ004").findings] == ["found the needle"]
    assert check("x = 'haystack'\n", "ZZZ004").findings == ()


def test_a_file_no_rule_wants_is_not_given_to_libcst():
    # Facts.imports come from the libcst traversal: empty proves the file was never parsed by libcst
    wanted = check("import os\nx = 'needle'\n", "ZZZ004")
    skipped = check("import os\nx = 'hay'\n", "ZZZ004")
    assert wanted.facts.imports == (("os", "os"),)
    assert skipped.facts.imports == ()


def test_a_broken_file_no_rule_wants_is_still_a_parse_error():
    result = check("import os\ndef handler(:\n    return os\n", "ZZZ004")
    assert [(e.source, e.path) for e in result.errors] == [("parse", "app/main.py")]
    assert "line 2" in result.errors[0].message
    assert result.findings == ()


@pytest.mark.parametrize("codes", [("ZZZ004",), ("ZZZ001",)], ids=["libcst skipped", "libcst parsed"])
def test_newer_syntax_than_the_running_python_is_not_an_error(codes):
    # PEP 695 (3.12), PEP 758 (3.14) and t-strings (3.14) parse with libcst whatever Python runs the checker
    source = """\
        type Pair[T] = tuple[T, T]

        def first[T](pair: Pair[T]) -> T:
            return pair[0]

        try:
            first((1, 2))
        except ValueError, TypeError:
            raise
        greeting = t"hello {first}"
    """
    assert check(source, *codes).errors == ()


@pytest.mark.parametrize("codes", [("ZZZ004",), ("ZZZ001",)], ids=["libcst skipped", "libcst parsed"])
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (b"x = '\xff\xfe'\n", "cannot be decoded as utf-8: invalid start byte at line 1"),
        (b"# -*- coding: klingon -*-\nx = 1\n", "cannot be decoded: unknown encoding: klingon"),
        (b"x = 1\ny = (\n", "syntax error at line 2"),
    ],
)
def test_undecodable_and_unparsable_files_are_errors_with_a_reason(codes, source, expected):
    result = check_source("app/bad.py", "app.bad", False, source, settings_for(*codes))
    assert len(result.errors) == 1 and result.errors[0].source == "parse"
    assert expected in result.errors[0].message


def test_checking_a_file_prints_no_python_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check("import re\nPATTERN = re.compile('\\d+')\n", "ZZZ004")  # an invalid escape: a SyntaxWarning on 3.12+
    assert caught == []


def test_a_rule_gets_the_metadata_it_declares():
    result = check("x = 1\ny = f(x)\n", "ZZZ006")
    assert not result.errors
    assert [(f.location.line, f.message) for f in result.findings] == [(2, "starts at column 4")]


def test_rules_that_skip_test_code():
    assert check("x = 1\n", "ZZZ005", path="app/main.py").findings != ()
    assert check("x = 1\n", "ZZZ005", path="tests/test_main.py", is_test=True).findings == ()


# -- qualified names, as rules see them (the tracker's cases are in test_names.py) ----------------------------------

def test_import_aliases_resolve():
    names = call_names("""\
        from contextlib import suppress as s
        import sqlalchemy as sa
        import os.path
        from sqlalchemy.sql import text
        s(Exception)
        sa.text("select 1")
        os.path.join("a", "b")
        text("select 1")
        print()
    """)
    assert names == {
        5: "contextlib.suppress",
        6: "sqlalchemy.text",
        7: "os.path.join",
        8: "sqlalchemy.sql.text",
        9: "builtins.print",
    }


def test_relative_imports_resolve_against_the_module_name_of_the_files_path():
    source = """\
        from . import deps
        from .. import db
        from ..auth.jwt import current_user
        from ...outside import thing
        deps.get_session()
        db.engine()
        current_user()
        thing()
    """
    assert call_names(source, path="src/app/api/users.py") == {
        5: "app.api.deps.get_session",
        6: "app.db.engine",
        7: "app.auth.jwt.current_user",
        8: "outside.thing",
    }
    # in a package's __init__.py the package itself is `.`
    assert call_names(source, path="src/app/api/__init__.py") == {
        5: "app.api.deps.get_session",
        6: "app.db.engine",
        7: "app.auth.jwt.current_user",
        8: "outside.thing",
    }


def test_err001_follows_a_suppress_alias():
    report = lint_project({"app.py": """\
        from contextlib import suppress as s


        def cleanup(path):
            with s(Exception):
                remove(path)
    """}, "select = ['ERR001']\n")
    assert [(f.code, f.location.line) for f in report.findings] == [("ERR001", 5)]
    assert "suppress(Exception)" in report.findings[0].message


# -- crash isolation -------------------------------------------------------------------------------------------------

SWALLOW = "try:\n    work()\nexcept Exception:\n    pass\n"


def test_a_rule_that_raises_is_a_tool_error_and_everything_else_survives():
    report = lint_project(
        {"app/a.py": "boom()\n" + SWALLOW, "app/b.py": SWALLOW, "app/c.py": "boom()\n"},
        "select = ['ERR001', 'ZZZ901']\n",
    )
    assert [(e.source, e.path) for e in report.errors] == [("rule:ZZZ901", "app/a.py"), ("rule:ZZZ901", "app/c.py")]
    message = report.errors[0].message
    assert "ZZZ901" in message and "ZeroDivisionError: the rule's own bug" in message
    assert "test_engine.py" in message  # where it broke, for the bug report
    # ERR001 still ran on the file where ZZZ901 crashed, and on the other files
    assert [(f.code, f.location.path, f.location.line) for f in report.findings] == [
        ("ERR001", "app/a.py", 4), ("ERR001", "app/b.py", 3),
    ]
    assert report.verdict == "error" and report.exit_code == 2


def test_a_rule_that_fails_to_start_is_a_tool_error_too():
    report = lint_project({"app/a.py": SWALLOW}, "select = ['ERR001', 'ZZZ902']\n")
    assert [(e.source, e.path) for e in report.errors] == [("rule:ZZZ902", "app/a.py")]
    assert "KeyError" in report.errors[0].message
    assert [f.code for f in report.findings] == ["ERR001"]


# -- positions and fingerprints ---------------------------------------------------------------------------------------

def test_positions_are_one_based_lines_and_columns():
    result = check("""\
        def f():
            try:
                work()
            except Exception:
                pass
    """, "ERR001")
    (finding,) = result.findings
    loc = finding.location
    assert (loc.line, loc.column, loc.end_line, loc.end_column) == (4, 5, 5, 13)
    assert check("x = 1; y = g(2)\n").findings[0].location.column == 12


def fingerprints(source: str, path: str = "app/main.py") -> list[str]:
    return [f.fingerprint for f in check(source, "ERR001", path=path).findings]


TWICE = """\
    def sync(items):
        try:
            a()
        except Exception:
            pass
        try:
            b()
        except Exception:
            pass
"""


def test_fingerprints_survive_moving_code_down():
    moved = "import os\n\n\n# a comment\n\n" + textwrap.dedent(TWICE)
    before = check(TWICE, "ERR001").findings
    after = check(moved, "ERR001").findings
    assert [f.location.line + 5 for f in before] == [f.location.line for f in after]
    assert [f.fingerprint for f in before] == [f.fingerprint for f in after]


def test_fingerprints_differ_for_identical_findings_in_one_function_and_across_functions_and_files():
    first, second = fingerprints(TWICE)
    assert first != second  # the same normalised code in one function: told apart by occurrence
    other_function = fingerprints(TWICE.replace("def sync", "def push"))
    assert not set(other_function) & {first, second}
    other_file = fingerprints(TWICE, path="app/other.py")
    assert not set(other_file) & {first, second}


def test_fingerprints_ignore_whitespace_changes_inside_the_flagged_code():
    assert fingerprints(TWICE) == fingerprints(TWICE.replace("except Exception:", "except   Exception :"))


# -- results cross process boundaries; the pool answers as the inline path does -------------------------------------

def test_file_results_pickle():
    result = check("from os import path\nclass A(path.X):\n    pass\n" + SWALLOW, "ERR001")
    assert result.findings and result.facts.classes
    assert pickle.loads(pickle.dumps(result)) == result


def test_the_pool_gives_the_same_report_as_the_inline_path(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\nselect = ['ERR001', 'P21']\n", encoding="utf-8")
    count = INLINE_BELOW + 6
    for i in range(count):
        body = SWALLOW if i % 3 == 0 else f"class Model{i}(Exception):\n    pass\n"
        if i == 7:
            body = "def broken(:\n"
        if i == 11:
            body += "x = 1  # p21: ignore[ERR001]\n"
        path = tmp_path / "app" / f"m{i:02}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(body, encoding="utf-8")

    def report(jobs: int) -> str:
        config = load_config((tmp_path,), overrides={"jobs": jobs, "cache": False})  # a cache hit would skip the pool
        return render_json(run_check(config))

    inline, pooled = report(1), report(2)
    assert inline == pooled
    assert '"path": "app/m07.py"' in inline  # the broken file's error is in both
    assert inline.count('"code": "ERR001"') == len(range(0, count, 3))
    assert '"code": "P21002"' in inline
