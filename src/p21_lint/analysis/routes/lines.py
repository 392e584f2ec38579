"""Line numbers of chosen nodes, without libcst's PositionProvider.

PositionProvider records a range for every node of the file (about twice the cost of the parse, PERFORMANCE.md).
Facts need the line of a few nodes (a route decorator, a handler's `def`, a test-client call), so this walks the
code generation once, counting newlines without building the text, records the line where each wanted node's
syntax starts, and stops as soon as all are found. The collectors of a file ask for their nodes when its traversal
ends (`want`, kept on the file's context) and the first `lines` call answers all of them in one pass.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterable, Iterator

import libcst as cst
from libcst._nodes.internal import CodegenState

if TYPE_CHECKING:
    from p21_lint.engine.context import FileContext


class _Done(Exception):
    pass


class _LineState(CodegenState):
    def __init__(self, module: cst.Module, wanted: set[cst.CSTNode]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.line = 1
        self.wanted = wanted
        self.found: dict[cst.CSTNode, int] = {}

    def add_token(self, value: str) -> None:
        if "\n" in value:
            self.line += value.count("\n")

    def add_indent_tokens(self) -> None:
        pass  # indentation holds no newline

    def pop_trailing_newline(self) -> None:
        pass  # only at the very end

    @contextmanager
    def record_syntactic_position(self, node: cst.CSTNode, *, start_node=None, end_node=None) -> Iterator[None]:
        if node in self.wanted and node not in self.found:
            self.found[node] = self.line
            if len(self.found) == len(self.wanted):
                raise _Done
        yield


def node_lines(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, int]:
    """1-based line where each node's syntax starts (a decorator's `@`, a def's `def`, a call's callee)."""
    wanted = set(nodes)
    if not wanted:
        return {}
    state = _LineState(module, wanted)
    try:
        module._codegen(state)
    except _Done:
        pass
    return state.found


def want(context: FileContext, nodes: Iterable[cst.CSTNode]) -> None:
    """Ask for the lines of `nodes` (in `leave_Module`), so the first `lines` call of the file answers everyone."""
    context.shared.setdefault(_WANTED, set()).update(nodes)


def lines(context: FileContext, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, int]:
    """The lines of `nodes`, computed in one pass with every node the file's collectors wanted."""
    nodes = list(nodes)
    found = context.shared.get(_FOUND)
    if found is None or any(n not in found for n in nodes):
        found = node_lines(context.module, context.shared.get(_WANTED, set()) | set(nodes))
        context.shared[_FOUND] = found
    return found


_WANTED, _FOUND = "routes.lines.wanted", "routes.lines.found"
