"""Line numbers of chosen nodes, without libcst's PositionProvider.

PositionProvider records a range for every node of the file (about twice the cost of the parse, PERFORMANCE.md).
Facts need the line of a few nodes (a route decorator, a test-client call), so this regenerates the code once,
counting newlines, records the line where each wanted node's syntax starts, and stops as soon as all are found.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import libcst as cst
from libcst._nodes.internal import CodegenState


class _Done(Exception):
    pass


class _LineState(CodegenState):
    def __init__(self, module: cst.Module, wanted: set[cst.CSTNode]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.line = 1
        self.wanted = wanted
        self.found: dict[cst.CSTNode, int] = {}

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" in value:
            self.line += value.count("\n")

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
