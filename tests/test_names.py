"""NameTracker: qualified names from import statements and a scope stack, without libcst's ScopeProvider."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from p21_lint.analysis.names import NameTracker, absolute_module, dotted
from p21_lint.engine.walk import walk


class Calls(cst.BatchableCSTVisitor):
    """Records, for each call, what the tracker says it calls and the scope it is in."""

    def __init__(self, tracker: NameTracker) -> None:
        super().__init__()
        self.tracker = tracker
        self.module: cst.Module | None = None
        self.seen: dict[str, tuple[str | None, str]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        # calls are keyed by their first argument, a string label: `f("label")`
        label = node.args[0].value.evaluated_value if node.args and isinstance(node.args[0].value, cst.SimpleString) else None
        if label:
            self.seen[label] = (self.tracker.qualified_name(node.func), self.tracker.scope_path())


def resolve(source: str, module: str = "app.main", is_package: bool = False) -> dict[str, str | None]:
    return {label: qn for label, (qn, _) in track(source, module, is_package).items()}


def track(source: str, module: str = "app.main", is_package: bool = False) -> dict[str, tuple[str | None, str]]:
    tracker = NameTracker(module, is_package)
    calls = Calls(tracker)
    walk(cst.parse_module(textwrap.dedent(source)), [tracker, calls], _raise)
    return calls.seen


def _raise(visitor: object, exc: Exception) -> None:
    raise exc


def test_imports_and_aliases():
    assert resolve("""\
        import os.path
        import sqlalchemy as sa
        import xml.etree.ElementTree as ET
        from contextlib import suppress as s
        from sqlalchemy.sql import text
        os.path.join("os")
        sa.text("sa")
        ET.parse("et")
        s("s")
        text("text")
        print("builtin")
        unknown("unknown")
    """) == {
        "os": "os.path.join",
        "sa": "sqlalchemy.text",
        "et": "xml.etree.ElementTree.parse",
        "s": "contextlib.suppress",
        "text": "sqlalchemy.sql.text",
        "builtin": "builtins.print",
        "unknown": None,
    }


def test_shadowing_in_functions():
    assert resolve("""\
        from sqlalchemy import text


        def uses_import():
            text("import")


        def local_def():
            def text(q):
                return q
            text("def")


        def parameter(text, *args, **kwargs):
            text("param")
            args("star")


        def keyword_only(*, text):
            text("kwonly")


        def assigned():
            text = str
            text("alias")


        def loop(items):
            for text in items:
                text("for")


        def context(factory):
            with factory() as text:
                text("with")


        def walrus(x):
            if (text := x):
                text("walrus")


        def tuple_target(pairs):
            text, other = pairs
            text("tuple")


        text("module again")
    """) == {
        "import": "sqlalchemy.text",
        "def": None,
        "param": None,
        "star": None,
        "kwonly": None,
        "alias": "builtins.str",
        "for": None,
        "with": None,
        "walrus": None,
        "tuple": None,
        "module again": "sqlalchemy.text",  # bindings inside functions never leak out
    }


def test_lambda_parameters_and_except_names_shadow():
    assert resolve("""\
        from sqlalchemy import text


        def f(rows):
            key = lambda text: text("lambda")
            try:
                pass
            except ValueError as text:
                text("except")
            text("after lambda")
    """) == {"lambda": None, "except": None, "after lambda": None}


def test_a_name_is_bound_after_its_value_is_evaluated():
    assert resolve("""\
        import json
        json = json.loads("module level rebinding")
        json.get("rebound")
        from sqlalchemy import text as q
        with q("with item") as q:
            q("bound by with")
    """) == {
        "module level rebinding": "json.loads",
        "rebound": "app.main.json.get",
        "with item": "sqlalchemy.text",
        "bound by with": "app.main.q",  # the module's own variable now
    }


def test_imports_inside_a_function_stay_there():
    assert resolve("""\
        def f():
            import json as text
            text.dumps("inside")


        text.dumps("outside")
    """) == {"inside": "json.dumps", "outside": None}


def test_class_scope_is_not_enclosing_for_methods():
    assert resolve("""\
        from sqlalchemy import text


        class Repo:
            text = staticmethod(print)
            text("class body")

            def query(self):
                text("method")

            class Inner:
                text("nested class body")
    """) == {"class body": None, "method": "sqlalchemy.text", "nested class body": "sqlalchemy.text"}


def test_defaults_and_decorators_are_evaluated_outside_the_function():
    assert resolve("""\
        from fastapi import Depends, APIRouter

        router = APIRouter()


        @router.get("decorator")
        def handler(session=Depends("default"), Depends=None):
            Depends("shadowed inside")
    """) == {
        "decorator": "app.main.router.get",
        "default": "fastapi.Depends",
        "shadowed inside": None,
    }


def test_module_level_definitions_are_the_modules_own():
    assert resolve("""\
        from sqlalchemy import text
        text("before")


        def text(q):
            return q


        text("after")


        class Service:
            pass


        Service("class")
        settings = load()
        settings.get("var")
    """) == {"before": "sqlalchemy.text", "after": "app.main.text", "class": "app.main.Service", "var": "app.main.settings.get"}


@pytest.mark.parametrize(
    ("module", "is_package", "expected"),
    [
        ("app.api.users", False, {"dot": "app.api.deps.get", "dotdot": "app.db.engine", "name": "app.api.jwt.decode", "far": "outside.thing"}),
        ("app.api", True, {"dot": "app.api.deps.get", "dotdot": "app.db.engine", "name": "app.api.jwt.decode", "far": "outside.thing"}),
    ],
)
def test_relative_imports_resolve_against_the_module(module, is_package, expected):
    assert resolve("""\
        from . import deps
        from .. import db
        from .jwt import decode
        from ...outside import thing
        deps.get("dot")
        db.engine("dotdot")
        decode("name")
        thing("far")
    """, module, is_package) == expected


@pytest.mark.parametrize(
    ("module", "is_package", "level", "name", "expected"),
    [
        ("app.api.users", False, 0, "os", "os"),
        ("app.api.users", False, 1, "", "app.api"),
        ("app.api.users", False, 2, "models", "app.models"),
        ("app.api", True, 1, "", "app.api"),
        ("app.api", True, 2, "db", "app.db"),
        ("app", False, 5, "x", "x"),  # too many dots: best effort, never a crash
        ("", False, 1, "x", "x"),
    ],
)
def test_absolute_module(module, is_package, level, name, expected):
    assert absolute_module(module, is_package, level, name) == expected


def test_dotted():
    assert dotted(cst.parse_expression("a.b.c")) == "a.b.c"
    assert dotted(cst.parse_expression("a().b")) is None
    assert dotted(cst.parse_expression("a[0].b")) is None


def test_scope_path_names_the_enclosing_class_and_function():
    seen = track("""\
        f("module")


        class Users:
            f("class")

            def get(self):
                f("method")

                def inner():
                    f("inner")
    """)
    assert {label: scope for label, (_, scope) in seen.items()} == {
        "module": "", "class": "Users", "method": "Users.get", "inner": "Users.get.inner",
    }


def test_module_bindings_are_what_the_module_imports_not_what_it_defines():
    tracker = NameTracker("app.main", False)
    module = cst.parse_module("import os\nfrom fastapi import FastAPI as F\nX = F\napp = F()\ndef handler():\n    import json\n")
    walk(module, [tracker], _raise)
    assert tracker.module_bindings() == {"os": "os", "F": "fastapi.FastAPI", "X": "fastapi.FastAPI"}
