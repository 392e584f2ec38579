"""What a function is to the web framework, read from its own decorators and class: a route handler, an exception
handler, or neither.

This is the per-file view a rule can have while it visits a function, before the project-wide route table exists:
`@app.get("/x")`, `@router.post(...)`, `@bp.route(...)`, DRF `@api_view` / `@action`, the HTTP-method methods of
class-based views, and Django function views (`def view(request, ...)` in a views module). A route mounted
elsewhere (`router.get(path)(fn)`, `urls.py`) is the route table's business.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from p21_lint import cst
from p21_lint.analysis.names import dotted

QualifiedName = Callable[["cst.BaseExpression"], "str | None"]

ROUTE = "route"
EXCEPTION_HANDLER = "exception-handler"

# `@<anything>.<method>(path, ...)`: FastAPI / Starlette / Flask / Quart / Sanic / Litestar-style route decorators
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route", "route", "websocket"})
ROUTE_FUNCTIONS = frozenset({"rest_framework.decorators.api_view", "rest_framework.decorators.action"})
HANDLER_METHODS = frozenset({"exception_handler", "errorhandler", "app_errorhandler"})
# class-based views: a base from one of these packages makes `get`/`post`/... (and DRF's viewset actions) handlers
VIEW_BASE_PREFIXES = (
    "rest_framework.views.", "rest_framework.generics.", "rest_framework.viewsets.", "rest_framework.mixins.",
    "django.views.", "flask.views.", "flask_restful.", "flask_restx.", "flask_smorest.", "starlette.endpoints.",
    "fastapi_utils.cbv.",
)
VIEW_METHODS = frozenset({
    "get", "post", "put", "patch", "delete", "head", "options",
    "list", "create", "retrieve", "update", "partial_update", "destroy",
})
_SERVICE_PART = re.compile(r"^(services?|use_?cases?|domain|business|logic|interactors?)$|_(services?|use_?cases?)$")


def decorator_method(decorator: cst.Decorator) -> tuple[str, cst.Call | None]:
    """(`get`, the call) for `@router.get("/x")`; ("", None) when the decorator is no `<obj>.<name>(...)` call."""
    d = decorator.decorator
    if isinstance(d, cst.Call) and isinstance(d.func, cst.Attribute):
        return d.func.attr.value, d
    return "", None


def _is_path(expr: cst.BaseExpression) -> bool:
    """An URL path: a literal that starts with "/" (or is empty: FastAPI's `@router.get("")`), an f-string, or a
    constant. Slack Bolt's `@app.options("action_id")` and the like name no path."""
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        text = expr.evaluated_value
        return isinstance(text, str) and (text == "" or text.startswith("/"))
    if isinstance(expr, cst.FormattedString):
        first = expr.parts[0] if expr.parts else None
        return not isinstance(first, cst.FormattedStringText) or first.value.startswith("/")
    return isinstance(expr, cst.Name)


def _has_path(call: cst.Call) -> bool:
    """A route decorator names its path: first positional argument or `path=` / `rule=`."""
    for arg in call.args:
        if arg.keyword is None and arg.star == "":
            return _is_path(arg.value)
        if arg.keyword is not None and arg.keyword.value in ("path", "rule"):
            return _is_path(arg.value)
    return False


def is_route_decorator(decorator: cst.Decorator, qualified_name: QualifiedName) -> bool:
    method, call = decorator_method(decorator)
    if call is not None and method in ROUTE_METHODS and _has_path(call):
        return True
    d = decorator.decorator
    func = d.func if isinstance(d, cst.Call) else d
    return qualified_name(func) in ROUTE_FUNCTIONS


def is_view_class(bases: tuple[str, ...]) -> bool:
    return any(b.startswith(VIEW_BASE_PREFIXES) for b in bases)


def is_views_module(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] == "views.py" or "views" in parts[:-1]


def is_service_module(path: str) -> bool:
    """Business logic by location: `services/`, `order_service.py`, `domain/`, `use_cases/` ..."""
    parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
    return any(_SERVICE_PART.search(part) for part in parts)


def function_kind(
    node: cst.FunctionDef, class_bases: tuple[str, ...] | None, path: str, qualified_name: QualifiedName
) -> str | None:
    """ROUTE, EXCEPTION_HANDLER or None for a function, given the bases of the class it is a method of (None at module
    or function level)."""
    for decorator in node.decorators:
        if is_route_decorator(decorator, qualified_name):
            return ROUTE
        if decorator_method(decorator)[0] in HANDLER_METHODS:
            return EXCEPTION_HANDLER
    if class_bases is not None:
        return ROUTE if node.name.value in VIEW_METHODS and is_view_class(class_bases) else None
    params = node.params.params
    if params and params[0].name.value == "request" and is_views_module(path):
        return ROUTE  # a Django function view
    return None


class FunctionKinds:
    """A stack of the enclosing functions' kinds, fed by a rule's own visit/leave methods (a nested `def` inside a
    route is not the route). `current` is the innermost function's kind."""

    def __init__(self, path: str, qualified_name: QualifiedName) -> None:
        self.path = path
        self.qualified_name = qualified_name
        self._classes: list[tuple[str, ...] | None] = []  # bases of enclosing classes; None marks a function level
        self._kinds: list[tuple[str | None, str]] = []  # (kind, function name)

    def enter_class(self, node: cst.ClassDef) -> None:
        bases = tuple(q for a in node.bases if a.keyword is None and (q := self.qualified_name(a.value)))
        self._classes.append(bases)

    def leave_class(self) -> None:
        self._classes.pop()

    def enter_function(self, node: cst.FunctionDef) -> None:
        bases = self._classes[-1] if self._classes else None
        self._kinds.append((function_kind(node, bases, self.path, self.qualified_name), node.name.value))
        self._classes.append(None)

    def leave_function(self) -> None:
        self._kinds.pop()
        self._classes.pop()

    @property
    def current(self) -> str | None:
        return self._kinds[-1][0] if self._kinds else None

    @property
    def name(self) -> str:
        return self._kinds[-1][1] if self._kinds else ""


def handler_exception(call: cst.Call) -> cst.BaseExpression | None:
    """The exception type a handler registration names: the first argument of `exception_handler(T)`,
    `errorhandler(T)`, `add_exception_handler(T, fn)`, `register_error_handler(T, fn)`."""
    for arg in call.args:
        if arg.keyword is None and arg.star == "":
            return arg.value
        if arg.keyword is not None and arg.keyword.value in ("exc_class_or_status_code", "code_or_exception"):
            return arg.value
    return None


def last_name(expr: cst.BaseExpression) -> str:
    """`HTTPException` for `fastapi.HTTPException` or a bare name; "" for anything else."""
    text = dotted(expr)
    return text.rsplit(".", 1)[-1] if text else ""
