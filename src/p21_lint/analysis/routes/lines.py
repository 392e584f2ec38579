"""Line numbers of chosen nodes, without libcst's PositionProvider.

PositionProvider records a range for every node of the file (about twice the cost of the parse, PERFORMANCE.md).
Facts need the line of a few nodes (a route decorator, a handler's `def`, a test-client call), so this walks the
code generation once, counting newlines without building the text, records the line where each wanted node's
syntax starts, and stops as soon as all are found. Collectors of the same file ask for their nodes while they
visit (`want`) and the first `lines` call answers all of them in one pass.
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


# One file is checked at a time in a process: what its collectors want is answered in one pass.
_pending: dict[int, tuple[cst.Module, set[cst.CSTNode]]] = {}
_answered: dict[int, tuple[cst.Module, dict[cst.CSTNode, int]]] = {}


def want(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> None:
    entry = _pending.setdefault(id(module), (module, set()))
    entry[1].update(nodes)


def lines(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, int]:
    """The lines of `nodes` (wanted before or now), computed together with every other node wanted in `module`."""
    nodes = list(nodes)
    key = id(module)
    answered = _answered.get(key)
    if answered is not None and answered[0] is module and all(n in answered[1] for n in nodes):
        return answered[1]
    entry = _pending.pop(key, None)
    pending = entry[1] if entry is not None and entry[0] is module else set()
    _pending.clear()  # anything left belongs to a file already done
    found = node_lines(module, pending | set(nodes))
    _answered.clear()
    _answered[key] = (module, found)
    return found
