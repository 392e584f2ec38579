"""ERR: the standard "All endpoints must have comprehensive error handling"."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from p21_lint import cst
from p21_lint.analysis.errors import (
    ABORTS,
    API_ERROR_NAME,
    BARE_RAISES,
    JSON_RESPONSES,
    ApiError,
    find_api_error,
    is_web_app,
)
from p21_lint.analysis.web import (
    EXCEPTION_HANDLER,
    ROUTE,
    FunctionKinds,
    handler_exception,
    last_name,
)
from p21_lint.engine.rule import ProjectRule, Rule, RuleOption
from p21_lint.engine.walk import children
from p21_lint.model import Level, Location, RaiseSite

if TYPE_CHECKING:
    from p21_lint.engine.context import FileContext
    from p21_lint.engine.project import Project, ProjectReport

STANDARD_ERRORS = "All endpoints must have comprehensive error handling"


def _is_inert(body: cst.BaseSuite) -> bool:
    """A handler body that does nothing with an error: pass, `...`, continue, a bare return, a docstring.
    Both an indented block and a same-line body (`except Exception: pass`)."""
    if isinstance(body, cst.SimpleStatementSuite):
        smalls = list(body.body)
    elif all(isinstance(stmt, cst.SimpleStatementLine) for stmt in body.body):
        smalls = [small for stmt in body.body for small in stmt.body]
    else:
        return False
    for small in smalls:
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
        if caught is None or not _is_inert(node.body):
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


# -- the project's API error type (ERR002-ERR004: project rules over the facts of analysis/errors.py) ----------
def _api_error(project: Project) -> ApiError:
    return find_api_error(project, project.config.api_error if project.config else None)


def _site_location(path: str, site: RaiseSite) -> Location:
    return Location(path, site.line)


def _use_instead(api: ApiError, status: str = "404") -> str:
    return api.example(api.roots[0], status)


class ErrorBypassesApiError(ProjectRule):
    """A route handler or a service function raises a bare `Exception`, an `HTTPException` or `abort()`, or a route
    returns an error payload with a success status, although the project has an API error type.

    A project rule fed by per-file facts (RaiseSite): whether the project has an API error type is known only once
    every file has been read, so the per-file pass records the sites and this rule decides."""

    code = "ERR002"
    name = "error-bypasses-api-error"
    standard = STANDARD_ERRORS
    severity = Level.MEDIUM
    cwe = 755

    def check(self, project: Project, out: ProjectReport) -> None:
        api = _api_error(project)
        if not api.roots:
            return
        for facts in sorted(project.facts.values(), key=lambda f: f.path):
            for site in facts.raise_sites:
                message = self._message(site, api)
                if message:
                    out.report(_site_location(facts.path, site), message, anchor=f"{site.function}:{site.kind}:{site.target}")

    @staticmethod
    def _message(site: RaiseSite, api: ApiError) -> str:
        where = f"route handler `{site.function}`" if site.where == ROUTE else f"service function `{site.function}`"
        if site.where == "service" and site.function == "<module>":
            where = "service module"
        if site.kind == "payload":
            return (
                f"{where} returns an error payload with a success status (200): clients, retries and monitoring all "
                f"see success; write {_use_instead(api, '400')} and let its handler set the status"
            )
        if site.target in api.members or not site.where or (site.kind == "raise" and site.target not in BARE_RAISES):
            return ""  # the API error itself, code outside routes and services, or another exception (ERR003's)
        short = site.target.rsplit(".", 1)[-1]
        if site.kind == "abort":
            what, why = "`abort()`", "answers with the framework's own error body instead of the project's"
        elif short in ("Exception", "BaseException"):
            what, why = f"`raise {short}(...)`", "surfaces as a 500 with no error code"
        else:
            what, why = f"`raise {short}(...)`", f"bypasses `{api.name}`: the client gets a different error body and no error code"
        return f"{what} in {where} {why}; write {_use_instead(api)} instead"


class ApiErrorWithoutCode(ProjectRule):
    """The API error is raised with a free string where the project has an error-code enum."""

    code = "ERR003"
    name = "api-error-without-code"
    standard = STANDARD_ERRORS
    severity = Level.LOW

    def check(self, project: Project, out: ProjectReport) -> None:
        api = _api_error(project)
        if not api.enum:
            return
        prefix = api.enum + "."
        for facts in sorted(project.facts.values(), key=lambda f: f.path):
            for site in facts.raise_sites:
                if site.kind != "raise" or site.target not in api.members or not site.free_string:
                    continue
                if any(a.startswith(prefix) for a in site.attributes) or not api.takes_code(site.target):
                    continue
                short = site.target.rsplit(".", 1)[-1]
                out.report(
                    _site_location(facts.path, site),
                    f"`{short}` is raised with a free string and no `{api.enum_name}` member: clients cannot branch on "
                    f"a message that may change; pass the code, e.g. {api.example(site.target, '404')}",
                    anchor=f"{site.function}:{site.target}",
                )


class ApiErrorWithoutHandler(ProjectRule):
    """The API error type has no exception handler registered in the app: it would surface as a 500."""

    code = "ERR004"
    name = "api-error-without-handler"
    standard = STANDARD_ERRORS
    severity = Level.HIGH
    cwe = 755

    def check(self, project: Project, out: ProjectReport) -> None:
        api = _api_error(project)
        if not api.roots or not is_web_app(project):
            return
        for root in api.roots:
            entry = api.classes.get(root)
            if entry is None or api.handler_for(root) is not None or api.framework_handled(root):
                continue
            path, cls = entry
            out.report(
                Location(path, cls.line),
                f"no exception handler is registered for `{cls.name}`: every `raise {cls.name}(...)` reaches the "
                f"client as a 500 with a generic body; register one, e.g. `@app.exception_handler({cls.name})` "
                f"(FastAPI) or `@app.errorhandler({cls.name})` (Flask), that returns its code, message and status",
                anchor=root,
            )


# -- ERR005: internals in an error response (per file) --------------------------------------------------------
_DB_PREFIXES = ("sqlalchemy.", "psycopg2", "psycopg.", "asyncpg", "pymysql", "MySQLdb", "aiomysql", "sqlite3.",
                "aiosqlite", "django.db.", "pymongo.", "motor.", "redis.")
_DB_NAMES = frozenset({"DatabaseError", "IntegrityError", "OperationalError", "ProgrammingError", "DataError",
                       "DBAPIError", "SQLAlchemyError", "PyMongoError", "InterfaceError", "InternalError"})
_BROAD = frozenset({"builtins.Exception", "builtins.BaseException"})
_LEAKY_ATTRIBUTES = frozenset({"args", "orig", "statement", "pgerror", "diag"})
_TO_STRING = frozenset({"builtins.str", "builtins.repr", "builtins.format"})
_RESPONSE_PREFIXES = ("fastapi.responses.", "starlette.responses.", "django.http.", "rest_framework.response.",
                      "werkzeug.exceptions.", "rest_framework.exceptions.")
_DEBUG = re.compile(r"\bDEBUG\b|\.debug\b")
_RESPONSES = JSON_RESPONSES | BARE_RAISES | ABORTS | {"flask.Response", "quart.Response", "fastapi.Response"}


class InternalsInErrorResponse(Rule):
    """The text of a caught broad or database exception, or a traceback, goes into a response or an HTTP error."""

    code = "ERR005"
    name = "internals-in-error-response"
    standard = STANDARD_ERRORS
    severity = Level.MEDIUM
    cwe = 209
    IN_TESTS = False
    TRIGGERS = (b"except", b"traceback", b"exception_handler", b"errorhandler")

    def __init__(self, context: FileContext, options: dict) -> None:
        super().__init__(context, options)
        self.kinds = FunctionKinds(context.path, context.qualified_name)
        self.caught: list[tuple[str, str] | None] = []  # (bound name, caught type) of enclosing handlers, if revealing
        self.done: set[int] = set()
        self.debug_only = 0  # depth of `if settings.DEBUG:` bodies: details there are meant for the developer
        self.debug_tests: list[bool] = []  # whether each enclosing `if` body is one

    def visit_If_body(self, node: cst.If) -> None:
        self.debug_tests.append(self._debug_test(node.test))
        self.debug_only += self.debug_tests[-1]

    def leave_If_body(self, node: cst.If) -> None:
        self.debug_only -= self.debug_tests.pop()

    def _debug_test(self, test: cst.BaseExpression) -> bool:
        todo: list[cst.CSTNode] = [test]
        while todo:  # the text only where a name or string mentions debug: code generation costs more than this
            current = todo.pop()
            if (type(current) is cst.Name or type(current) is cst.SimpleString) and "debug" in current.value.lower():
                return bool(_DEBUG.search(self.context.code_for(test)))
            todo.extend(children(current))
        return False

    def _revealing(self, expr: cst.BaseExpression | None) -> str:
        """The short name of a caught type whose message is internal (broad or database), else ""."""
        if expr is None:
            return ""
        for element in [e.value for e in expr.elements] if isinstance(expr, cst.Tuple) else [expr]:
            q = self.context.qualified_name(element) or ""
            short = q.rsplit(".", 1)[-1]
            if q in _BROAD or q.startswith(_DB_PREFIXES) or short in _DB_NAMES:
                return short
        return ""

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        name = node.name.name if node.name is not None else None
        caught = self._revealing(node.type)
        self.caught.append((name.value, caught) if isinstance(name, cst.Name) and caught else None)

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.caught.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.kinds.enter_class(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.kinds.leave_class()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.kinds.enter_function(node)
        entry = None
        if self.kinds.current == EXCEPTION_HANDLER:  # `@app.exception_handler(Exception) def h(request, exc)`
            params = node.params.params
            for decorator in node.decorators:
                call = decorator.decorator
                caught = self._revealing(handler_exception(call)) if isinstance(call, cst.Call) else ""
                if caught and params:
                    entry = (params[-1].name.value, caught)
        self.caught.append(entry)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.kinds.leave_function()
        self.caught.pop()

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and self.kinds.current in (ROUTE, EXCEPTION_HANDLER):
            self._check(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        q = self.context.qualified_name(node.func) or ""
        if q in _RESPONSES or q.startswith(_RESPONSE_PREFIXES) or API_ERROR_NAME.match(last_name(node.func)):
            for arg in node.args:
                self._check(arg.value)

    def _check(self, expr: cst.BaseExpression) -> None:
        if self.debug_only:
            return
        names = {entry[0]: entry[1] for entry in self.caught if entry}
        found = self._leak(expr, names)
        if found is None or id(found[0]) in self.done:
            return
        node, caught = found
        self.done.add(id(node))
        shown = " ".join(self.context.code_for(node).split())
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        if caught == "traceback":
            message = (f"`{shown}` sends the server's stack trace to the client; log it with `logger.exception(...)` "
                       "and return a fixed message with an error code")
        else:
            message = (f"`{shown}` puts the text of a caught `{caught}` into the response: it can show SQL, table "
                       "names, file paths or library internals to the client; log it with `logger.exception(...)` "
                       "and return a fixed message with an error code")
        self.report(node, message)

    def _leak(self, expr: cst.CSTNode, names: dict[str, str]) -> tuple[cst.CSTNode, str] | None:
        todo: list[cst.CSTNode] = [expr]
        while todo:
            node = todo.pop()
            if isinstance(node, (cst.Lambda, cst.FunctionDef)):
                continue
            if isinstance(node, cst.Call):
                q = self.context.qualified_name(node.func) or ""
                if q.startswith("traceback.format_"):
                    return node, "traceback"
                first = node.args[0].value if node.args else None
                if q in _TO_STRING and isinstance(first, cst.Name) and first.value in names:
                    return node, names[first.value]
                if isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
                    hit = next((a.value for a in node.args if isinstance(a.value, cst.Name) and a.value.value in names), None)
                    if hit is not None:
                        return node, names[hit.value]
            elif isinstance(node, cst.FormattedStringExpression):
                if isinstance(node.expression, cst.Name) and node.expression.value in names:
                    return node, names[node.expression.value]
            elif isinstance(node, cst.Attribute):
                if isinstance(node.value, cst.Name) and node.value.value in names and node.attr.value in _LEAKY_ATTRIBUTES:
                    return node, names[node.value.value]
            elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
                operands = node.right.elements if isinstance(node.right, cst.Tuple) else [node.right]
                for operand in operands:
                    value = operand.value if isinstance(operand, cst.Element) else operand
                    if isinstance(value, cst.Name) and value.value in names:
                        return node, names[value.value]
            todo.extend(reversed(children(node)))
        return None
