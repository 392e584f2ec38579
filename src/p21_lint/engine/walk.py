"""One traversal of a libcst tree for many visitors, without rebuilding the tree.

libcst's own `visit`, even for a read-only visitor, calls every node's `_visit_and_replace_children`, which
constructs (and validates) a new node for every node of the tree: as costly as the parse (PERFORMANCE.md). This
walk reads children in place. It keeps libcst's batched-visitor contract: `visit_<Node>(node)` before the
children, `leave_<Node>(node)` after, `visit_<Node>_<field>` / `leave_<Node>_<field>` around a field, the
visitors called in the order given, children in libcst's own order (lexical).

That order is read from each node class's `_visit_and_replace_children` source, where libcst lists its fields as
`visit_required(self, "name", ...)` calls in the order it visits them; tests/test_walk.py checks the result
against libcst's own traversal over real trees.

A visitor method that raises stops that visitor on this file (`on_error` is told); the others go on.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from typing import Any, Callable, Iterable

from p21_lint import cst

_HELPERS = frozenset(
    {"visit_required", "visit_optional", "visit_sentinel", "visit_sequence", "visit_iterable", "visit_body_sequence",
     "visit_body_iterable"}
)

Hook = Callable[["cst.CSTNode"], Any]


@functools.cache
def child_fields(cls: type[cst.CSTNode]) -> tuple[str, ...]:
    """The fields of `cls` that hold children, in the order libcst visits them."""
    method = cls._visit_and_replace_children
    tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    calls = [
        n for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _HELPERS and len(n.args) >= 2
        and isinstance(n.args[1], ast.Constant) and isinstance(n.args[1].value, str)
    ]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    return tuple(dict.fromkeys(n.args[1].value for n in calls))  # type: ignore[attr-defined]


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """`node.children` without libcst's cost (it rebuilds the node to find them)."""
    out: list[cst.CSTNode] = []
    sentinel = cst.MaybeSentinel.DEFAULT
    for field in child_fields(type(node)):
        value = getattr(node, field)
        if type(value) is tuple or type(value) is list:
            out.extend(value)
        elif value is not None and value is not sentinel:
            out.append(value)
    return out


@functools.cache
def _node_names() -> frozenset[str]:
    names, todo = set(), [cst.CSTNode]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return frozenset(names)


@functools.cache
def hook_names(cls: type) -> tuple[tuple[str, str, str], ...]:
    """(method, node class name, field or "") for every libcst hook `cls` defines; libcst's no-op stubs excluded."""
    nodes = _node_names()
    out = []
    for name in dir(cls):
        if not name.startswith(("visit_", "leave_")) or getattr(getattr(cls, name), "_is_no_op", False):
            continue
        target = name.partition("_")[2]
        if target in nodes:
            out.append((name, target, ""))
            continue
        node, _, field = target.partition("_")
        if node in nodes and field:
            out.append((name, node, field))
    return tuple(out)


class _Hooks:
    """The visitors' bound methods, arranged per node class into a plan the walk follows; a crashed visitor's are
    taken out."""

    def __init__(self, visitors: Iterable[object]) -> None:
        self.visitors = list(visitors)
        self.dead: set[int] = set()
        self._build()

    def _build(self) -> None:
        self.by_name: dict[tuple[str, str, str], list[tuple[object, Hook]]] = {}  # (kind, node, field) -> hooks
        for visitor in self.visitors:
            if id(visitor) not in self.dead:
                for method, node, field in hook_names(type(visitor)):
                    key = (method.partition("_")[0], node, field)
                    self.by_name.setdefault(key, []).append((visitor, getattr(visitor, method)))
        self.plans: dict[type, tuple] = {}

    def plan(self, cls: type[cst.CSTNode]) -> tuple:
        """(visit hooks, leave hooks, steps, whether to record its line, text field with line breaks) for nodes of
        `cls`. A step is a field name, a (field, visit hooks, leave hooks) triple for a field with hooks, or None
        where the node's own syntax starts (only where a line is recorded or counted)."""
        name, get = cls.__name__, self.by_name.get
        record, text = issubclass(cls, lined()), _newlines().get(cls)
        steps = tuple(
            step if step is None or not (get(("visit", name, step)) or get(("leave", name, step)))
            else (step, get(("visit", name, step), []), get(("leave", name, step), []))
            for step in _layout(cls)
            if step is not None or record or text is not None
        )
        plan = (get(("visit", name, "")), get(("leave", name, "")), steps, record, text)
        self.plans[cls] = plan
        return plan

    def kill(self, visitor: object) -> None:
        self.dead.add(id(visitor))
        self._build()


def walk(
    tree: cst.CSTNode, visitors: Iterable[object], on_error: Callable[[object, Exception], None]
) -> dict[int, int]:
    """Run every visitor's hooks over `tree` (a module, or any node) in one traversal, and return the line where each
    node of the `lined()` kinds starts (by `id(node)`; after its blank lines, comments, decorators and opening
    parentheses: a def's `def`, a decorator's `@`, a call's callee). RecursionError propagates (too deep to analyse)."""
    hooks = _Hooks(visitors)
    sentinel = cst.MaybeSentinel.DEFAULT
    starts: dict[int, int] = {}
    line = 1

    def call(pairs: list[tuple[object, Hook]], node: cst.CSTNode) -> None:
        for visitor, hook in pairs:
            try:
                hook(node)
            except Exception as exc:  # a list holds one hook per visitor: the rest belong to others
                on_error(visitor, exc)
                hooks.kill(visitor)

    def go(node: cst.CSTNode) -> None:
        nonlocal line
        cls = type(node)
        visit, leave, steps, record, text = hooks.plans.get(cls) or hooks.plan(cls)
        if visit:
            call(visit, node)
        for step in steps:
            if step is None:  # where the node's own syntax starts
                if record:
                    starts[id(node)] = line
                if text is not None:  # "" for a Newline, else the field whose text may hold line breaks
                    line += getattr(node, text).count("\n") if text else 1
                continue
            if type(step) is str:
                value = getattr(node, step)  # a node, a sequence of nodes, None or MaybeSentinel
            else:
                call(step[1], node)
                value = getattr(node, step[0])
            if type(value) is tuple or type(value) is list:
                for child in value:
                    go(child)
            elif value is not None and value is not sentinel:
                go(value)
            if type(step) is not str:
                call(step[2], node)
        if leave:
            call(leave, node)

    go(tree)
    return starts


@functools.cache
def lined() -> tuple[type, ...]:
    """The nodes whose line the walk records (a third of its cost if it did for all): what facts point at. Others
    are found by FileContext.line with a code generation. (A function, not a constant: importing this module must
    not load libcst, p21_lint/cst.py.)"""
    return (cst.BaseStatement, cst.BaseSmallStatement, cst.Decorator, cst.Call, cst.BaseDictElement, cst.BaseElement,
            cst.Param)

# Fields that come before a node's own syntax when they lead its field list, where libcst's code generation calls
# `record_syntactic_position` (what PositionProvider reports as the start; tests/test_walk.py compares).
_BEFORE_SYNTAX = frozenset({"leading_lines", "decorators", "lines_after_decorators", "lpar"})


@functools.cache
def _layout(cls: type[cst.CSTNode]) -> tuple[str | None, ...]:
    """The child fields of `cls` in visiting order, with None where the node's own syntax starts."""
    fields = child_fields(cls)
    skip = 0
    while skip < len(fields) and fields[skip] in _BEFORE_SYNTAX:
        skip += 1
    return (*fields[:skip], None, *fields[skip:])


@functools.cache
def _newlines() -> dict[type, str]:
    """Where libcst keeps line breaks: one in every Newline node (""); inside the text (`value`) of strings
    (triple-quoted) and of whitespace (a backslash continuation). Tokens outside nodes (`def`, `:`) never hold one."""
    found: dict[type, str] = {cst.Newline: "", cst.SimpleString: "value", cst.FormattedStringText: "value",
                              cst.SimpleWhitespace: "value"}
    text = getattr(cst, "TemplatedStringText", None)  # libcst >= 1.8 (Python 3.14 t-strings)
    if text is not None:
        found[text] = "value"
    return found
