"""Line and column ranges of the few nodes a file reports, as libcst's PositionProvider gives them, for less.

PositionProvider generates the whole file's code, splits every token with a regex and keeps every node's range.
Reported nodes are few, so this runs the same code generation with a cheap newline test per token and stops as soon
as the last wanted node is closed. The ranges are PositionProvider's own (tests/test_walk.py compares).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import libcst as cst
from libcst._position import CodePosition, CodeRange
from libcst.metadata.position_provider import NEWLINE_RE, PositionProvidingCodegenState


class _Done(Exception):
    pass


class _State(PositionProvidingCodegenState):
    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self._update_position(token)

    def add_token(self, value: str) -> None:  # nothing keeps the text: only positions are wanted
        self._update_position(value)

    def _update_position(self, value: str) -> None:
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        segments = NEWLINE_RE.split(value)
        self.line += len(segments) - 1
        self.column = len(segments[-1])

    @contextmanager
    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
    ) -> Iterator[None]:
        # PositionProvider's, without its try/finally: once the last wanted node is closed, stopping records nothing
        start = CodePosition(self.line, self.column)
        yield
        computed = self.provider._computed
        computed[node] = CodeRange(
            computed[start_node].start if start_node is not None else start,
            computed[end_node].end if end_node is not None else CodePosition(self.line, self.column),
        )

    def after_codegen(self, node: cst.CSTNode) -> None:
        super().after_codegen(node)
        wanted = self.provider.wanted
        if node in wanted:
            wanted.discard(node)
            if not wanted:
                raise _Done


def ranges(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, CodeRange]:
    wanted = set(nodes)
    provider = SimpleNamespace(_computed={}, wanted=set(wanted))
    state = _State(default_indent=module.default_indent, default_newline=module.default_newline, provider=provider)
    if wanted:
        try:
            module._codegen(state)
        except _Done:
            pass
    return {node: provider._computed[node] for node in wanted}
