"""ERR: the standard "All endpoints must have comprehensive error handling"."""

from __future__ import annotations

import libcst as cst

from p21_lint.engine.rule import Rule, RuleOption
from p21_lint.model import Level

STANDARD_ERRORS = "All endpoints must have comprehensive error handling"


def _is_inert(stmt: cst.BaseStatement) -> bool:
    """A statement that does nothing with an error: pass, `...`, continue, a bare return, a docstring."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        if isinstance(small, (cst.Pass, cst.Continue)):
            continue
        if isinstance(small, cst.Return) and (small.value is None or (isinstance(small.value, cst.Name) and small.value.value == "None")):
            continue
        if isinstance(small, cst.Expr) and isinstance(small.value, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString)):
            continue
        return False
    return True


class SwallowedException(Rule):
    """`except:` / `except Exception:` whose body only passes, continues or returns: the error vanishes."""

    code = "ERR001"
    name = "swallowed-exception"
    standard = STANDARD_ERRORS
    severity = Level.MEDIUM
    cwe = 390
    TRIGGERS = (b"except", b"suppress")
    OPTIONS = (
        RuleOption(
            "broad-exceptions",
            list,
            ["builtins.Exception", "builtins.BaseException"],
            "Qualified names of exception types so broad that silently catching them hides real failures.",
        ),
    )

    def _broad(self, expr: cst.BaseExpression | None) -> str | None:
        """The broad type `expr` names (`Exception`), `""` for a bare except, None if it is specific."""
        if expr is None:
            return ""
        elements = [e.value for e in expr.elements] if isinstance(expr, cst.Tuple) else [expr]
        for element in elements:
            qualified = self.context.qualified_name(element)
            if qualified in self.options["broad-exceptions"]:
                return qualified.rsplit(".", 1)[-1]
        return None

    def _check_handler(self, node: cst.ExceptHandler | cst.ExceptStarHandler, star: str) -> None:
        caught = self._broad(node.type)
        if caught is None or not all(_is_inert(s) for s in node.body.body):
            return
        what = f"except{star} {caught}:" if caught else "except:"
        self.report(
            node,
            f"`{what}` swallows every error silently, so a failure disappears without a trace; catch the specific "
            "exception you expect, or log it with `logger.exception(...)`, or re-raise",
        )

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._check_handler(node, "")

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._check_handler(node, "*")

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.qualified_name(node.func) != "contextlib.suppress":
            return
        for arg in node.args:
            caught = self._broad(arg.value)
            if caught:
                self.report(
                    node,
                    f"`suppress({caught})` swallows every error silently; suppress only the specific exception you "
                    "expect, or catch it and log it with `logger.exception(...)`",
                )
                return
