"""Fact collectors: visitors in the per-file traversal that record what the project pass needs.

A collector is like a rule but returns Facts fields instead of findings. It declares byte TRIGGERS so files
that cannot contribute are not parsed for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from p21_lint import cst
from p21_lint.analysis.client_calls import ClientCalls
from p21_lint.analysis.collector import FactCollector
from p21_lint.analysis.errors import ErrorFacts
from p21_lint.analysis.routes.django import DjangoUrls
from p21_lint.analysis.routes.registrations import Registrations
from p21_lint.analysis.routes.symbols import Symbols

if TYPE_CHECKING:
    from p21_lint.engine.context import FileContext

__all__ = ["COLLECTORS", "FactCollector"]


class Classes(FactCollector):
    """Module-level classes and their bases, so the project can follow inheritance across modules
    (which classes are exceptions, which views derive from an authenticated base)."""

    TRIGGERS = (b"class ",)

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.found: list[tuple[str, tuple[str, ...]]] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if len(self.context.names.scopes) != 1:  # only module-level classes
            return
        bases = tuple(q for arg in node.bases if arg.keyword is None and (q := self.context.qualified_name(arg.value)))
        self.found.append((node.name.value, bases))

    def collect(self) -> dict[str, Any]:
        return {"classes": tuple(self.found)}


COLLECTORS: tuple[type[FactCollector], ...] = (Classes, ErrorFacts, Symbols, Registrations, DjangoUrls, ClientCalls)
