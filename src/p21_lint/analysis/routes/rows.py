"""The rows of the route table, and what the framework passes (apps.py, urlconf.py) fill in while making them."""

from __future__ import annotations

from dataclasses import dataclass, field

from p21_lint.analysis.routes.facts import FunctionInfo
from p21_lint.analysis.routes.index import Index
from p21_lint.model import Facts


@dataclass(frozen=True)
class RouteRow:
    method: str  # GET, POST, ..., WEBSOCKET, or ANY for a view that accepts every method
    path: str  # full template in FastAPI style: /api/v1/users/{user_id}
    file: str  # where the handler is defined
    line: int
    handler: str  # qualified name of the function, method or class
    framework: str  # fastapi, flask, django
    registered: str  # file:line of the decorator, add_url_rule or path() entry
    name: str  # route name for url_for / reverse / url_path_for
    authenticated: bool
    public: bool
    auth_evidence: tuple[str, ...]
    public_reason: str
    suggestion: str  # what to add to authenticate it, in the project's own terms
    notes: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()  # file:line of the test requests that reach it
    decl_line: int = 0  # line of the registration in `file` when it is there (a decorator), else 0

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Draft:
    """A row being made: evidence is gathered by the framework pass, public reasons by the table."""

    framework: str
    method: str
    path: str
    handler: str
    file: str
    line: int
    registered: str
    name: str = ""
    evidence: list[str] = field(default_factory=list)
    public_reason: str = ""
    suggestion: str = ""  # the kind of advice (AuthJudge.suggestion): fastapi, flask, django-class, drf, ...
    notes: list[str] = field(default_factory=list)
    decl_line: int = 0


def handler_location(index: Index, handler: str, fallback: Facts, fallback_line: int) -> tuple[str, int, FunctionInfo | None]:
    """(file, line, function info) of a handler function or method; the registration when it is not found."""
    canon = index.canon(handler)
    entry = index.functions.get(canon)
    if entry is not None:
        if entry[0].line == 0:  # a function its file gave no line for: point at the registration
            return fallback.path, fallback_line, entry[0]
        return entry[1].path, entry[0].line, entry[0]
    cls = index.classes.get(canon)
    if cls is not None:
        return cls[1].path, cls[0].line, None
    return fallback.path, fallback_line, None


def body_evidence(index: Index, fn: FunctionInfo | None, judge) -> str | None:
    """A check inside the handler itself: `jwt.decode(...)`, `if not current_user.is_authenticated: abort(401)`,
    a call to an auth function."""
    if fn is None or not fn.auth_calls:
        return None
    why = judge.body(fn.auth_calls, index.canon(fn.name), handler=True)
    return f"the handler {why}" if why and not why.startswith("`") else f"the handler calls {why}" if why else None
