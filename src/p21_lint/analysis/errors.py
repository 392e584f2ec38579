"""The project's API error type: what each file tells about exceptions, and the project-wide answer.

Per file (`ErrorFacts`, a fact collector): exception classes with what their constructors take, exception
handlers registered with the app, and the ways an error leaves a route handler or a service function (`raise`,
`abort()`, an error payload returned with a success status).

Per project (`find_api_error`): the API error type is the class named in config (`api-error`), else the project's
exception classes named like `APIError` / `ApiError` / `AppError`, else those an exception handler is registered
for; its error-code enum is the Enum its constructor is annotated with, else an Enum named like `ErrorCode`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from p21_lint import cst
from p21_lint.analysis.collector import FactCollector
from p21_lint.analysis.web import (
    HANDLER_METHODS,
    ROUTE,
    FunctionKinds,
    handler_exception,
    is_service_module,
)
from p21_lint.model import ErrorClass, HandlerRegistration, RaiseSite

if TYPE_CHECKING:
    from p21_lint.engine.context import FileContext
    from p21_lint.engine.project import Project

# What a route or service raises instead of the API error (ERR002).
BARE_RAISES = frozenset({
    "builtins.Exception", "builtins.BaseException",
    "fastapi.HTTPException", "fastapi.exceptions.HTTPException", "starlette.exceptions.HTTPException",
    "werkzeug.exceptions.HTTPException",
})
ABORTS = frozenset({
    "flask.abort", "werkzeug.exceptions.abort", "werkzeug.abort", "quart.abort",
    "flask_smorest.abort", "flask_restx.abort", "flask_restful.abort",
})
# Exceptions the framework itself turns into a response with their own status: never a 500 without a handler.
FRAMEWORK_HANDLED = frozenset({
    "fastapi.HTTPException", "fastapi.exceptions.HTTPException", "starlette.exceptions.HTTPException",
    "werkzeug.exceptions.HTTPException", "rest_framework.exceptions.APIException",
})
JSON_RESPONSES = frozenset({
    "fastapi.responses.JSONResponse", "fastapi.responses.ORJSONResponse", "fastapi.responses.UJSONResponse",
    "starlette.responses.JSONResponse", "flask.jsonify", "flask.make_response", "quart.jsonify",
    "django.http.JsonResponse", "rest_framework.response.Response",
})
ENUM_BASES = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"})
WEB_PACKAGES = frozenset({"fastapi", "starlette", "flask", "quart", "django", "rest_framework", "litestar", "sanic"})
CATCH_ALL = "*"
_ERROR_KEYS = frozenset({"error", "errors", "error_message", "error_code", "err"})
_FAILED = frozenset({"error", "fail", "failed", "failure"})
_CODE_PARAMS = frozenset({"code", "error_code", "err_code"})
_MESSAGE_PARAMS = frozenset({"message", "msg", "detail", "description", "error", "text", "reason"})
API_ERROR_NAME = re.compile(r"^(api|app|application|rest)_?(error|exception)$", re.IGNORECASE)
ERROR_CODE_NAME = re.compile(r"error_?codes?$", re.IGNORECASE)
_EXCEPTION_ROOTS = frozenset({"builtins.Exception", "builtins.BaseException"}) | FRAMEWORK_HANDLED


def string_value(node: cst.BaseExpression) -> str | None:
    """The text of a plain string literal (not an f-string), else None."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _int_value(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value)
    return None


def _is_exception_like(name: str, bases: tuple[str, ...]) -> bool:
    return name.endswith(("Error", "Exception")) or any(b.rsplit(".", 1)[-1].endswith(("Error", "Exception")) for b in bases)


def error_dict(node: cst.BaseExpression) -> bool:
    """`{"error": ...}`, `{"success": False, ...}`, `{"status": "error", ...}`: a body that says the request failed."""
    if not isinstance(node, cst.Dict):
        return False
    for element in node.elements:
        if not isinstance(element, cst.DictElement):
            continue
        key = string_value(element.key)
        value = element.value
        if key in _ERROR_KEYS and not (isinstance(value, cst.Name) and value.value == "None"):
            return True
        if key in ("success", "ok") and isinstance(value, cst.Name) and value.value == "False":
            return True
        if key == "status" and (string_value(value) or "").lower() in _FAILED:
            return True
    return False


class ErrorFacts(FactCollector):
    TRIGGERS = (b"raise", b"abort", b"Error", b"Exception", b"error", b"success", b"EXCEPTION_HANDLER")

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.kinds = FunctionKinds(context.path, context.qualified_name)
        self.service = is_service_module(context.path)
        self.classes: list[tuple[cst.ClassDef, list[tuple[str, str]] | None]] = []
        self.handlers: list[tuple[str, cst.CSTNode, str]] = []
        self.sites: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        self.payloads: list[list[cst.CSTNode] | None] = []  # per enclosing function: error payloads returned
        # enclosing classes and functions, innermost last: an index into self.classes for a recorded exception
        # class, -1 for another class, None for a function
        self._frames: list[int | None] = []
        self._with_init: set[int] = set()  # classes whose `__init__` was seen: it, not their fields, is the constructor

    # -- where we are --------------------------------------------------------------------------------------
    def _where(self) -> str:
        if self.kinds.current == ROUTE:
            return ROUTE
        return "service" if self.service else ""

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.kinds.enter_class(node)
        frame = -1
        if not self._frames and not self.context.is_test:  # module-level classes only
            bases = tuple(q for a in node.bases if a.keyword is None and (q := self.context.qualified_name(a.value)))
            if _is_exception_like(node.name.value, bases):
                frame = len(self.classes)
                self.classes.append((node, None))
        self._frames.append(frame)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.kinds.leave_class()
        self._frames.pop()

    def _own_class(self) -> list[tuple[str, str]] | None:
        """The params list of the exception class whose body we are directly in, created on first use."""
        index = self._frames[-1] if self._frames else None
        if index is None or index < 0:
            return None
        node, params = self.classes[index]
        if params is None:
            params = []
            self.classes[index] = (node, params)
        return params

    def _annotation(self, annotation: cst.Annotation | None) -> str:
        if annotation is None:
            return ""
        expr = annotation.annotation
        if isinstance(expr, cst.Subscript):  # Optional[ErrorCode], Annotated[ErrorCode, ...]
            expr = expr.slice[0].slice.value if expr.slice and isinstance(expr.slice[0].slice, cst.Index) else expr
        if isinstance(expr, cst.BinaryOperation):  # ErrorCode | None
            expr = expr.left
        return self.context.qualified_name(expr) or ""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = self._own_class() if node.name.value == "__init__" else None
        if params is not None:
            self._with_init.add(self._frames[-1])
            params[:] = [(p.name.value, self._annotation(p.annotation))
                         for p in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params)[1:]]
        if node.name.value == "process_exception" and self._frames and self._frames[-1] is not None:
            self.handlers.append((CATCH_ALL, node, "Django middleware process_exception"))
        self.kinds.enter_function(node)
        self._frames.append(None)
        self.payloads.append([] if self.kinds.current == ROUTE else None)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.kinds.leave_function()
        self._frames.pop()
        pending = self.payloads.pop()
        for value in pending or ():
            self.sites.append((value, {"kind": "payload", "target": "", "where": ROUTE, "function": node.name.value}))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        """A dataclass-style field (`code: ErrorCode`); not a ClassVar, not a private attribute."""
        if not self._frames or self._frames[-1] in self._with_init or not isinstance(node.target, cst.Name):
            return
        annotation = self._annotation(node.annotation)
        if node.target.value.startswith("_") or "ClassVar" in self.context.code_for(node.annotation.annotation):
            return
        params = self._own_class()
        if params is not None:
            params.append((node.target.value, annotation))

    def visit_Assign(self, node: cst.Assign) -> None:
        # `response.status_code = 404` in a FastAPI handler: its error payloads carry that status
        sets_status = any(isinstance(t.target, cst.Attribute) and t.target.attr.value == "status_code" for t in node.targets)
        if sets_status and self.payloads:
            self.payloads[-1] = None

    # -- handlers ------------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if self.context.is_test:
            return
        func = node.func
        method = func.attr.value if isinstance(func, cst.Attribute) else ""
        if method in HANDLER_METHODS or method in ("add_exception_handler", "register_error_handler"):
            exc = handler_exception(node)
            qualified = self.context.qualified_name(exc) if exc is not None else None
            if qualified:
                self.handlers.append((qualified, node, method))
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "exception_handlers" and isinstance(arg.value, cst.Dict):
                for element in arg.value.elements:
                    if isinstance(element, cst.DictElement) and (q := self.context.qualified_name(element.key)):
                        self.handlers.append((q, element, "exception_handlers="))
        where = self._where()
        if where and self.context.qualified_name(func) in ABORTS:
            self._site(node, "abort", self.context.qualified_name(func) or "", where)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if string_value(node.key) == "EXCEPTION_HANDLER" and not self.context.is_test:
            self.handlers.append((CATCH_ALL, node, "DRF EXCEPTION_HANDLER"))

    # -- errors leaving a function -------------------------------------------------------------------------
    def visit_Raise(self, node: cst.Raise) -> None:
        if node.exc is None or self.context.is_test:
            return
        call = node.exc if isinstance(node.exc, cst.Call) else None
        target = self.context.qualified_name(call.func if call else node.exc)
        if not target:
            return
        where = self._where()
        attributes, free = _arguments(call, self.context.qualified_name) if call else ((), False)
        bare = target in BARE_RAISES and bool(where)  # ERR002's
        free_string = free and not target.startswith("builtins.")  # a project exception with a free string: ERR003's
        if bare or free_string:
            self._site(node, "raise", target, where, attributes, free)

    def visit_Return(self, node: cst.Return) -> None:
        pending = self.payloads[-1] if self.payloads else None
        if pending is not None and node.value is not None and self._success_payload(node.value):
            pending.append(node)

    def _success_payload(self, value: cst.BaseExpression) -> bool:
        """An error body sent with a success status: `return {"error": ...}`, `jsonify(error=...)`,
        `JSONResponse({"error": ...})` without a 4xx/5xx status."""
        if isinstance(value, cst.Tuple):  # Flask: (body, status)
            parts = [e.value for e in value.elements]
            status = _int_value(parts[1]) if len(parts) > 1 else None
            return status is not None and status < 400 and self._success_payload(parts[0])
        if isinstance(value, cst.Dict):
            return error_dict(value)
        if not isinstance(value, cst.Call) or self.context.qualified_name(value.func) not in JSON_RESPONSES:
            return False
        positional = [a.value for a in value.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in value.args if a.keyword is not None}
        status = keywords.get("status_code", keywords.get("status", positional[1] if len(positional) > 1 else None))
        if status is not None and (_int_value(status) is None or _int_value(status) >= 400):
            return False
        body = keywords.get("content", keywords.get("data", positional[0] if positional else None))
        if body is None:  # jsonify(error="...", ...)
            return any(k in _ERROR_KEYS for k in keywords)
        return error_dict(body)

    def _site(self, node: cst.CSTNode, kind: str, target: str, where: str, attributes=(), free=False) -> None:
        function = self.kinds.name or "<module>"
        self.sites.append((node, {"kind": kind, "target": target, "where": where, "function": function,
                                  "attributes": tuple(attributes), "free_string": free}))

    def collect(self) -> dict[str, Any]:
        if not (self.classes or self.handlers or self.sites):
            return {}
        line = self.context.line
        return {
            "error_classes": tuple(
                ErrorClass(node.name.value, line(node), tuple(params) if params is not None else None)
                for node, params in self.classes
            ),
            "exception_handlers": tuple(HandlerRegistration(exc, line(node), how) for exc, node, how in self.handlers),
            "raise_sites": tuple(RaiseSite(line=line(node), **info) for node, info in self.sites),
        }


def _arguments(call: cst.Call, qualified_name) -> tuple[list[str], bool]:
    """(qualified names of attribute arguments, whether the arguments are literals only with a string among them)."""
    attributes: list[str] = []
    has_string = opaque = False
    for arg in call.args:
        value = arg.value
        if arg.star:
            opaque = True
        elif isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            has_string = True
        elif isinstance(value, (cst.Integer, cst.Float)) or (isinstance(value, cst.Name) and value.value in ("None", "True", "False")):
            pass
        elif isinstance(value, cst.Attribute) and (q := qualified_name(value)):
            attributes.append(q)
        else:
            opaque = True  # a variable or a call: it may well hold the error code
    return attributes, has_string and not opaque


# -- the project's answer ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiError:
    """The project's API error type(s), or why there is none (`roots` empty)."""

    roots: tuple[str, ...]  # qualified names of the API error classes (the top of their hierarchy)
    members: frozenset[str]  # the roots and every project subclass of them
    enum: str | None  # the error-code enum, when the project has one
    how: str  # how it was found, or why nothing was: for debug-config and messages
    classes: dict[str, tuple[str, ErrorClass]]  # project exception classes: qualified name -> (path, class)
    bases: dict[str, tuple[str, ...]]  # every project class -> its qualified bases
    handlers: tuple[tuple[str, HandlerRegistration], ...]  # (path, registration)

    @property
    def name(self) -> str:
        """`APIError`: the short name of the first root, for messages."""
        return self.roots[0].rsplit(".", 1)[-1] if self.roots else ""

    @property
    def enum_name(self) -> str:
        return self.enum.rsplit(".", 1)[-1] if self.enum else ""

    def ancestors(self, qualified: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.bases.get(qualified, ()))
        while todo:
            base = todo.pop()
            if base not in seen:
                seen.add(base)
                todo.extend(self.bases.get(base, ()))
        return seen

    def handler_for(self, qualified: str) -> HandlerRegistration | None:
        """A registered handler that catches `qualified` (itself, an ancestor, or a catch-all)."""
        lineage = {qualified, *self.ancestors(qualified), CATCH_ALL}
        return next((h for _, h in self.handlers if h.exception in lineage), None)

    def is_exception(self, qualified: str) -> bool:
        """Derives from Exception, or from an outside class named like one (not `APIError(BaseModel)`, a schema)."""
        outside = {a for a in self.ancestors(qualified) if a not in self.bases}
        return bool(outside & _EXCEPTION_ROOTS) or any(
            a.rsplit(".", 1)[-1].endswith(("Error", "Exception")) or ".exceptions." in a for a in outside
        )

    def framework_handled(self, qualified: str) -> bool:
        return bool(self.ancestors(qualified) & FRAMEWORK_HANDLED)

    def example(self, qualified: str, status: str) -> str:
        """`raise APIError(ErrorCode.<MEMBER>, "<message>", 404)`, shaped by the class's own constructor (its code,
        message and status parameters, in order, up to the first other one)."""
        params = next((self.classes[c][1].params for c in (qualified, *self._mro(qualified))
                       if c in self.classes and self.classes[c][1].params is not None), None)
        code = f"{self.enum_name}.<MEMBER>" if self.enum else '"<CODE>"'
        if params is None:
            parts = [code, '"<message>"', status] if self.enum else ['"<message>"', status]
        else:
            parts = []
            for name, annotation in params:
                if name in _CODE_PARAMS or (self.enum and annotation == self.enum):
                    parts.append(code)
                elif "status" in name:
                    parts.append(status)
                elif name in _MESSAGE_PARAMS:
                    parts.append('"<message>"')
                else:
                    break
        return f"`raise {qualified.rsplit('.', 1)[-1]}({', '.join(parts)})`"

    def takes_code(self, qualified: str) -> bool:
        """Whether `qualified`'s constructor takes the error code: its own (or nearest project ancestor's) `__init__`
        or fields name a code parameter or the enum; unknown (no constructor of its own anywhere) counts as yes."""
        for cls in (qualified, *self._mro(qualified)):
            entry = self.classes.get(cls)
            if entry is not None and entry[1].params is not None:
                return any(n in _CODE_PARAMS or (self.enum and a == self.enum) for n, a in entry[1].params)
        return True

    def _mro(self, qualified: str) -> list[str]:
        out, current = [], qualified
        while True:
            parents = [b for b in self.bases.get(current, ()) if b in self.classes]
            if not parents or parents[0] in out:
                return out
            current = parents[0]
            out.append(current)


def _project_enums(bases: dict[str, tuple[str, ...]]) -> set[str]:
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name not in found and (set(parents) & (ENUM_BASES | found)):
                found.add(name)
                changed = True
    return found


def is_web_app(project: Project) -> bool:
    return any(q.split(".", 1)[0] in WEB_PACKAGES for f in project.facts.values() for _, q in f.imports)


def find_api_error(project: Project, configured: str | None) -> ApiError:
    facts = [f for f in project.facts.values() if not f.is_test]
    bases = {f"{f.module}.{name}": b for f in facts for name, b in f.classes}
    classes = {f"{f.module}.{c.name}": (f.path, c) for f in facts for c in f.error_classes}
    handlers = tuple((f.path, h) for f in facts for h in f.exception_handlers)
    base = ApiError((), frozenset(), None, "", classes, bases, handlers)

    def descendants(roots: set[str]) -> frozenset[str]:
        return frozenset(roots | project.subclasses_of(roots))

    if configured:
        roots = (configured,)
        how = f"`{configured}` (configured: api-error)"
        if configured not in classes and configured not in bases:
            how += "; note: no class of that name is defined in the checked files"
    else:
        named = {q for q, (_, c) in classes.items() if API_ERROR_NAME.match(c.name) and base.is_exception(q)}
        registered = {h.exception for _, h in handlers if h.exception in classes}
        pool, why = (named, "named like an API error type") if named else (registered, "an exception handler is registered for it")
        roots = tuple(sorted(q for q in pool if not (base.ancestors(q) & pool)))
        if not roots:
            return ApiError((), frozenset(), None, _why_none(classes, handlers), classes, bases, handlers)
        how = ", ".join(f"`{r}` ({why})" for r in roots)
    members = descendants(set(roots))
    enum = _find_enum(roots, classes, bases)
    found = ApiError(roots, members, enum, how, classes, bases, handlers)
    return found


def _find_enum(roots: tuple[str, ...], classes: dict[str, tuple[str, ErrorClass]], bases: dict[str, tuple[str, ...]]) -> str | None:
    """The Enum the API error's own constructor takes (`code: ErrorCode`), else one named ErrorCode(s). Subclasses
    do not count: `ProcessorError(processor: PaymentProcessor)` carries data, not the code."""
    enums = _project_enums(bases)
    for root in roots:
        entry = classes.get(root)
        for _, annotation in (entry[1].params or ()) if entry else ():
            if annotation in enums:
                return annotation
    named = sorted(e for e in enums if ERROR_CODE_NAME.search(e.rsplit(".", 1)[-1]))
    return named[0] if named else None


def _why_none(classes: dict[str, tuple[str, ErrorClass]], handlers: tuple[tuple[str, HandlerRegistration], ...]) -> str:
    some = ", ".join(sorted(c.name for _, c in classes.values())[:5]) or "none"
    registered = ", ".join(sorted({h.exception for _, h in handlers})[:5]) or "none"
    return (
        "none found: no project exception class is named like APIError / ApiError / AppError and no exception handler "
        f"is registered for one (project exception classes: {some}; handlers registered for: {registered}); "
        'set `api-error = "package.module.APIError"` in [tool.p21-lint] to name it'
    )


def describe(project: Project, configured: str | None) -> list[str]:
    """Lines for `debug-config`: the API error type, its error-code enum and handler, or why there is none."""
    api = find_api_error(project, configured)
    if not api.roots:
        return [f"api error type: {api.how}", "  ERR002, ERR003 and ERR004 stay silent without one"]
    lines = [f"api error type: {api.how}"]
    lines.append(f"  error-code enum: `{api.enum}`" if api.enum else "  error-code enum: none (ERR003 stays silent)")
    for root in api.roots:
        handler = api.handler_for(root)
        if handler is not None:
            path = next(p for p, h in api.handlers if h is handler)
            lines.append(f"  handler for `{root}`: {handler.how} at {path}:{handler.line}")
        elif api.framework_handled(root):
            lines.append(f"  handler for `{root}`: the framework's own (it derives from an HTTP exception)")
        else:
            lines.append(f"  handler for `{root}`: none registered (ERR004)")
    return lines
