"""The engine's own traversal against libcst's: same hooks in the same order, and the lines PositionProvider gives."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from p21_lint.engine.positions import ranges
from p21_lint.engine.walk import child_fields, lined, walk

FIXTURES = Path(__file__).parent / "fixtures"

# syntax the fixtures may not hold: decorators with comments, async, match, walrus, star args after keywords,
# nested f-strings, continuation lines, triple-quoted strings, multi-line operators, type parameters
MODERN = '''\
"""Module docstring
over lines."""
import os, sys as system
from . import (a,
    b as c)

@decorator  # comment
# between
@other(
    1,
)
async def f[T](x: T, /, *args, key=1, **kw) -> T:
    """Doc
    string."""
    if (n := len(args)) > 1 \\
            and key:
        return g(*args, key=key, *kw)
    async with ctx() as (p, q):
        yield [i async for i in p if i]
    match x:
        case {"a": [1, *rest]} | Point(x=0):
            pass
        case _:
            raise ValueError(f"bad {x!r:>{n}} {f'{q}'}") from None
    return (
        x
        or y
    )


class K(Base, metaclass=M):
    attr: int = 1
    def m(self): return lambda v: v + 1

type Alias = list[int]
try:
    pass
except* (OSError, ValueError) as err:
    del err
finally:
    z = {**a, 'k': b} if c else [*d]
'''


def _sources() -> list[tuple[str, str]]:
    files = sorted(FIXTURES.rglob("*.py"))
    out = [("MODERN", MODERN), ("CRLF", MODERN.replace("\n", "\r\n"))]
    for path in files:
        if path.stat().st_size < 300:
            continue
        try:
            text = path.read_text(encoding="utf-8")
            cst.parse_module(text)
        except Exception:
            continue  # the fixtures include broken files on purpose
        out.append((path.relative_to(FIXTURES).as_posix(), text))
    return out


SOURCES = _sources()


class Recorder(cst.BatchableCSTVisitor):
    """Records every hook libcst knows of, node and attribute hooks alike."""

    def __init__(self, log: list) -> None:
        super().__init__()
        self.log = log

    def get_visitors(self):
        return {name: getattr(self, name) for name in ("visit_FunctionDef", "leave_FunctionDef", "visit_Call",
                                                        "leave_Call", "visit_Name", "visit_If_body", "leave_If_body",
                                                        "visit_FunctionDef_body", "leave_Module")}

    def visit_FunctionDef(self, node):
        self.log.append(("visit FunctionDef", id(node)))

    def leave_FunctionDef(self, node):
        self.log.append(("leave FunctionDef", id(node)))

    def visit_Call(self, node):
        self.log.append(("visit Call", id(node)))

    def leave_Call(self, node):
        self.log.append(("leave Call", id(node)))

    def visit_Name(self, node):
        self.log.append(("Name", node.value))

    def visit_If_body(self, node):
        self.log.append(("If.body", id(node)))

    def leave_If_body(self, node):
        self.log.append(("/If.body", id(node)))

    def visit_FunctionDef_body(self, node):
        self.log.append(("FunctionDef.body", id(node)))

    def leave_Module(self, node):
        self.log.append(("leave Module", id(node)))


@pytest.mark.parametrize(("name", "source"), SOURCES[:40], ids=[n for n, _ in SOURCES[:40]])
def test_same_hooks_in_the_same_order_as_libcst(name, source):
    module = cst.parse_module(source)
    theirs: list = []
    MetadataWrapper(module, unsafe_skip_copy=True).visit_batched([Recorder(theirs), Recorder(theirs)])
    ours: list = []
    walk(module, [Recorder(ours), Recorder(ours)], lambda v, e: pytest.fail(str(e)))
    assert len(theirs) > 10
    assert ours == theirs


def test_children_in_libcst_order_for_every_node():
    count = 0
    for _, source in SOURCES:
        stack = [cst.parse_module(source)]
        while stack:
            node = stack.pop()
            ours = []
            for field in child_fields(type(node)):
                value = getattr(node, field)
                ours.extend(value if isinstance(value, (tuple, list)) else [value] if isinstance(value, cst.CSTNode) else [])
            assert [id(n) for n in ours] == [id(n) for n in node.children], type(node).__name__
            stack.extend(node.children)
            count += 1
    assert count > 20_000


def test_lines_are_where_position_provider_starts_every_statement_call_and_element():
    checked = 0
    for name, source in SOURCES:
        module = cst.parse_module(source)
        starts = walk(module, [], lambda v, e: None)
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        for node, where in positions.items():
            if not isinstance(node, lined()):
                assert id(node) not in starts  # FileContext.line finds those with a code generation
                continue
            assert starts[id(node)] == where.start.line, (name, type(node).__name__, cst.Module([]).code_for_node(node)[:60])
            checked += 1
    assert checked > 3_000


def test_lines_of_decorators_defs_and_calls():
    source = 'import x\n\n\n@app.get(\n    "/a"\n)\n# comment\n@other\nasync def f(\n    a,\n):\n    return g(\n        h(1),\n    )\n'
    module = cst.parse_module(source)
    starts = walk(module, [], lambda v, e: None)
    function = module.body[1]
    assert [starts[id(n)] for n in (*function.decorators, function)] == [4, 8, 9]
    call = function.body.body[0].body[0].value
    assert (starts[id(call)], starts[id(call.args[0].value)]) == (12, 13)


class Boom(cst.BatchableCSTVisitor):
    code = "BOOM"

    def visit_Name(self, node):
        if node.value == "b":
            raise ValueError("no b")


def test_a_crashing_visitor_stops_alone():
    module = cst.parse_module("a = 1\nb = 2\nc = 3\n")
    log: list = []
    errors: list = []
    boom = Boom()
    walk(module, [boom, Recorder(log)], lambda visitor, exc: errors.append((visitor, str(exc))))
    assert errors == [(boom, "no b")]  # once, though more names follow
    assert [v for kind, v in log if kind == "Name"] == ["a", "b", "c"]  # the other visitor saw every node


def test_ranges_of_reported_nodes_are_position_providers():
    for name, source in SOURCES[:60]:
        module = cst.parse_module(source)
        theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        nodes = [n for n in theirs if isinstance(n, (cst.Call, cst.Name, cst.FunctionDef, cst.SimpleString, cst.If))]
        for chosen in (nodes, nodes[::7], nodes[-1:]):
            assert ranges(module, chosen) == {n: theirs[n] for n in chosen}, name


def test_a_fact_can_ask_the_line_of_any_node():
    from p21_lint.analysis.names import NameTracker
    from p21_lint.engine.context import FileContext

    module = cst.parse_module("x = [\n    1,\n    f(\n        y.z,\n    ),\n]\n")
    context = FileContext("m.py", "m", False, module, NameTracker("m", is_package=False))
    context.starts = walk(module, [], lambda v, e: None)
    call = module.body[0].body[0].value.elements[1].value
    attribute = call.args[0].value  # not a kind the walk records: found by code generation
    assert (context.line(call), context.line(attribute), context.line(attribute.attr)) == (3, 4, 4)


def test_a_parse_without_libcst_s_node_checks_builds_the_same_trees_and_the_checks_come_back():
    from p21_lint.engine.runner import parse

    for name, source in SOURCES:
        trusted, _ = parse(source.encode())
        assert trusted is not None and trusted.deep_equals(cst.parse_module(source)), name
    with pytest.raises(cst.CSTValidationError):  # a node built anywhere else is still checked
        cst.Name("not a name")
