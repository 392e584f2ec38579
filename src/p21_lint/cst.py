"""libcst, imported on first use: `from p21_lint import cst`, then `cst.Call` as with `import libcst as cst`.

Importing libcst takes a quarter of a second (its 300 node dataclasses), a third of a re-run whose every file's
answer is cached, and such a run never needs it. So the modules that define rules and facts get libcst through this
module (PEP 562's module `__getattr__`), and touch it only inside functions; tests/test_determinism.py checks that a
warm run never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from libcst import *  # noqa: F403


def __getattr__(name: str) -> Any:
    import libcst

    value = getattr(libcst, name)
    globals()[name] = value  # later lookups are plain module attributes
    return value
