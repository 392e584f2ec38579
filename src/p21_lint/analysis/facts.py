"""Fact collectors: visitors in the per-file traversal that record what the project pass needs.

A collector is like a rule but returns Facts fields instead of findings. It declares byte TRIGGERS so files
that cannot contribute are not parsed for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import libcst as cst

if TYPE_CHECKING:
    from p21_lint.engine.context import FileContext


class FactCollector(cst.BatchableCSTVisitor):
    TRIGGERS: ClassVar[tuple[bytes, ...]] = ()

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context

    @classmethod
    def wants(cls, source: bytes) -> bool:
        return not cls.TRIGGERS or any(t in source for t in cls.TRIGGERS)

    def collect(self) -> dict[str, Any]:
        raise NotImplementedError


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


COLLECTORS: tuple[type[FactCollector], ...] = (Classes,)
