"""What a rule can ask about the file it is checking, and where its reports go."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

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


@dataclass
class FileContext:
    path: str  # POSIX, relative to the project root
    module_name: str
    is_test: bool
    module: cst.Module
    names: NameTracker
    reports: list[PendingReport] = field(default_factory=list)

    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        return self.names.qualified_name(node)

    def add_report(self, rule: Rule, node: cst.CSTNode, message: str, severity: Level, confidence: Level) -> None:
        self.reports.append(PendingReport(type(rule), node, message, severity, confidence, self.names.scope_path()))

    def code_for(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)
