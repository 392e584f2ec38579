"""The fact-collector base class, in a module of its own so that collectors in other modules can derive from it
while `analysis/facts.py` imports them to list them in COLLECTORS (no import cycle)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from p21_lint.engine.context import FileContext


class FactCollector:
    """Reads Facts from a file in the walk (engine/walk.py), with libcst's hook names, like a rule."""

    TRIGGERS: ClassVar[tuple[bytes, ...]] = ()

    def __init__(self, context: FileContext) -> None:
        self.context = context

    @classmethod
    def wants(cls, source: bytes) -> bool:
        return not cls.TRIGGERS or any(t in source for t in cls.TRIGGERS)

    def collect(self) -> dict[str, Any]:
        raise NotImplementedError
