"""What a rule can ask about the file it is checking, and where its reports go."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from p21_lint import cst
from p21_lint.analysis.names import NameTracker
from p21_lint.model import Level

if TYPE_CHECKING:
    from p21_lint.engine.rule import Rule


@dataclass(slots=True)
class PendingReport:
    rule: type[Rule]
    node: cst.CSTNode
    message: str
    severity: Level
    confidence: Level
    scope: str  # enclosing Class.function at report time, for the fingerprint
    sensitive: bool = False  # the node holds a secret: renderers never show its source line


@dataclass
class FileContext:
    path: str  # POSIX, relative to the project root
    module_name: str
    is_test: bool
    module: cst.Module
    names: NameTracker
    reports: list[PendingReport] = field(default_factory=list)
    # analyses several rules of one family share on this file (the SQL rules' string data flow), by name
    shared: dict[str, Any] = field(default_factory=dict)
    starts: dict[int, int] = field(default_factory=dict)  # id(node) -> line its syntax starts on, once walked

    def line(self, node: cst.CSTNode) -> int:
        """The line where `node`'s own syntax starts (a def's `def`, a decorator's `@`); for facts, after the walk."""
        line = self.starts.get(id(node))
        if line is None:  # a kind the walk does not record (engine/walk.py `lined`)
            from p21_lint.engine.positions import ranges

            line = self.starts[id(node)] = ranges(self.module, [node])[node].start.line
        return line

    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        return self.names.qualified_name(node)

    def add_report(
        self, rule: Rule, node: cst.CSTNode, message: str, severity: Level, confidence: Level, sensitive: bool = False
    ) -> None:
        scope = self.names.scope_path()
        self.reports.append(PendingReport(type(rule), node, message, severity, confidence, scope, sensitive))

    def code_for(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)
