"""Collects what routes refer to: objects (apps, routers, security schemes, settings), functions and classes with
their auth evidence, FastAPI dependency aliases, and string constants (prefixes, settings, Django settings)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from p21_lint import cst
from p21_lint.analysis.collector import FactCollector
from p21_lint.analysis.names import dotted
from p21_lint.analysis.routes import exprs
from p21_lint.analysis.routes.facts import (
    Alias,
    Call,
    ClassInfo,
    Const,
    FunctionInfo,
    ObjectDef,
)

# objects made inside functions are kept only when they come from a web framework (an app in a factory)
FRAMEWORK_ROOTS = frozenset({"fastapi", "starlette", "flask", "flask_restx", "flask_restful", "flask_restplus",
                             "flask_smorest", "apiflask", "quart", "rest_framework", "django", "connexion"})
# annotations that are never project aliases, so not worth recording
_NOT_ALIASES = frozenset({"builtins", "typing", "typing_extensions", "collections", "datetime", "uuid", "decimal",
                          "pydantic", "sqlalchemy", "sqlmodel", "starlette", "enum", "pathlib", "django", "flask"})
# class attributes that configure views: permissions, decorators, methods, lookups
VIEW_ATTRS = frozenset({"permission_classes", "authentication_classes", "decorators", "method_decorators",
                        "http_method_names", "lookup_field", "lookup_url_kwarg", "queryset", "model", "methods",
                        "permission_required", "login_required"})
VIEW_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "trace", "list", "create",
                          "retrieve", "update", "partial_update", "destroy", "dispatch"})

# evidence of authentication inside a function body
TOKEN_CALLS = frozenset({
    "jwt.decode", "jwt.api_jwt.decode", "jose.jwt.decode", "authlib.jose.jwt.decode", "joserfc.jwt.decode",
    "flask_jwt_extended.verify_jwt_in_request", "flask_jwt_extended.view_decorators.verify_jwt_in_request",
    "firebase_admin.auth.verify_id_token", "google.oauth2.id_token.verify_oauth2_token",
    "rest_framework_simplejwt.tokens.AccessToken", "itsdangerous.URLSafeTimedSerializer.loads",
})
AUTH_CALL_NAME = re.compile(
    r"^(get_current_\w*user|(decode|verify|validate)_\w*(token|jwt)\w*|(token|jwt)_(decode|verify)\w*"
    r"|verify_jwt_in_request|require_(auth|login|user)\w*|check_(auth|token)\w*|(verify|validate)_api_key)$"
)
AUTH_ATTRS = frozenset({"is_authenticated", "has_perm", "has_perms"})
REFUSALS = frozenset({"abort", "HTTPException", "HTTPError", "Response", "JSONResponse"})
# exceptions and calls that refuse a request for lack of authentication: what each one means
DENIALS = {"PermissionDenied": "403", "Unauthorized": "401", "Forbidden": "403", "NotAuthenticated": "401",
           "AuthenticationFailed": "401", "redirect_to_login": "redirect-login", "unauthorized": "redirect-login"}
_MAX_CONST = 200


def auth_call(name: str) -> bool:
    return name in TOKEN_CALLS or bool(AUTH_CALL_NAME.match(name.rsplit(".", 1)[-1]))


@dataclass
class _Function:
    node: cst.FunctionDef
    name: str
    decorators: tuple[Call, ...]
    depends: tuple[str, ...]
    annotations: tuple[str, ...]
    public: bool
    view_like: bool
    auth_calls: set[str] = field(default_factory=set)


class Symbols(FactCollector):
    TRIGGERS = (b"route", b"Route", b"Router", b"FastAPI", b"Flask", b"Blueprint", b"Depends", b"Security",
                b"Annotated", b"jwt", b"token", b"urlpatterns", b"View", b"request", b"login_required",
                b"permission", b"settings", b"Settings", b"Namespace", b"Resource", b"_STR", b"PREFIX", b"prefix",
                b"ROOT_URLCONF", b"MIDDLEWARE", b"REST_FRAMEWORK", b"URL")

    def __init__(self, context) -> None:
        super().__init__(context)
        self.objects: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        self.functions: list[_Function] = []
        self.stack: list[_Function] = []
        self.classes: list[tuple[cst.ClassDef, dict[str, Any]]] = []
        self.class_stack: list[dict[str, Any] | None] = []
        self.aliases: list[tuple[str, tuple[str, ...]]] = []
        self.constants: list[Const] = []

    # -- functions ---------------------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        ctx = self.context
        depends: list[str] = []
        annotations: list[str] = []
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        for param in every:
            annotation = param.annotation.annotation if param.annotation is not None else None
            target = exprs.depends_target(ctx, param.default) if param.default is not None else None
            if target == "" and annotation is not None:
                target = exprs.ref(ctx, annotation) or ""
            if target:
                depends.append(target)
            elif isinstance(param.default, (cst.Name, cst.Attribute)):  # `user = CurrentUserDep`
                annotations.extend(self._alias_candidate(param.default))
            if annotation is not None:
                inline = exprs.annotated_depends(ctx, annotation)
                if inline is not None:
                    depends.extend(inline)
                else:
                    annotations.extend(self._alias_candidate(annotation))
        decorators = tuple(c for d in node.decorators if (c := exprs.call_info(ctx, d.decorator)))
        first = every[0].name.value if every else ""
        in_class = bool(self.class_stack) and self.class_stack[-1] is not None and not self.stack
        view_like = first in ("request", "req") or (in_class and node.name.value in VIEW_METHODS)
        record = _Function(node, exprs.defined_name(ctx, node.name.value), decorators, tuple(dict.fromkeys(depends)),
                           tuple(dict.fromkeys(annotations)), exprs.public_marker(node), view_like)
        self.stack.append(record)
        if in_class:
            self.class_stack[-1]["methods"].append(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        record = self.stack.pop()
        if self.stack:  # a decorator's inner wrapper, a dependency factory's inner dependency: they act for it
            parent = self.stack[-1]
            parent.auth_calls |= record.auth_calls
            parent.depends = tuple(dict.fromkeys((*parent.depends, *record.depends)))
        if record.decorators or record.depends or record.annotations or record.auth_calls or record.view_like:
            self.functions.append(record)

    def _alias_candidate(self, node: cst.BaseExpression) -> list[str]:
        name = self.context.qualified_name(node)
        if not name or name.split(".", 1)[0] in _NOT_ALIASES:
            return []
        return [name]

    def visit_Call(self, node: cst.Call) -> None:
        if not self.stack:
            return
        name = self.context.qualified_name(node.func) or dotted(node.func)
        if name and auth_call(name):
            self.stack[-1].auth_calls.add(name)
        elif name and name.rsplit(".", 1)[-1] in REFUSALS:  # abort(401), HTTPException(status_code=403)
            for arg in node.args:
                if isinstance(arg.value, cst.Integer) and arg.value.value in ("401", "403"):
                    self.stack[-1].auth_calls.add(arg.value.value)
        elif name and name.rsplit(".", 1)[-1] in DENIALS:
            self.stack[-1].auth_calls.add(DENIALS[name.rsplit(".", 1)[-1]])
        elif name and name.rsplit(".", 1)[-1] == "redirect" and "login" in self.context.code_for(node).lower():
            self.stack[-1].auth_calls.add("redirect-login")  # redirect(url_for("auth.login"))

    def visit_Raise(self, node: cst.Raise) -> None:
        if self.stack and isinstance(node.exc, (cst.Name, cst.Attribute)):  # `raise PermissionDenied`
            name = dotted(node.exc) or ""
            if name.rsplit(".", 1)[-1] in DENIALS:
                self.stack[-1].auth_calls.add(DENIALS[name.rsplit(".", 1)[-1]])

    def visit_Return(self, node: cst.Return) -> None:
        if self.stack and isinstance(node.value, cst.Tuple):  # `return jsonify(error="..."), 401`
            for element in node.value.elements:
                if isinstance(element.value, cst.Integer) and element.value.value in ("401", "403"):
                    self.stack[-1].auth_calls.add(element.value.value)

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
        """`not current_user.is_authenticated`, `not request.user.has_perm(...)`: a login check (reading
        `is_authenticated` alone may be anything, e.g. a login page sending logged-in users home)."""
        if not self.stack or not isinstance(node.operator, cst.Not):
            return
        target = node.expression.func if isinstance(node.expression, cst.Call) else node.expression
        if isinstance(target, cst.Attribute) and target.attr.value in AUTH_ATTRS:
            self.stack[-1].auth_calls.add("!" + target.attr.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if not self.stack:
            return
        attr = node.attr.value
        if attr == "is_anonymous":
            self.stack[-1].auth_calls.add("!is_authenticated")
        elif attr in ("HTTP_401_UNAUTHORIZED", "HTTP_403_FORBIDDEN", "UNAUTHORIZED", "FORBIDDEN"):
            self.stack[-1].auth_calls.add("401" if "401" in attr or attr == "UNAUTHORIZED" else "403")

    # -- classes -----------------------------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.stack:  # classes inside functions are not views anyone routes to
            self.class_stack.append(None)
            return
        ctx = self.context
        decorators = tuple(c for d in node.decorators if (c := exprs.call_info(ctx, d.decorator)))
        info = {"name": exprs.defined_name(ctx, node.name.value), "decorators": decorators, "attrs": [],
                "methods": [], "public": exprs.public_marker(node)}
        self.classes.append((node, info))
        self.class_stack.append(info)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.class_stack.pop()

    # -- assignments: objects, constants, aliases, class attributes ----------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._assigned(node, node.targets[0].target.value, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and isinstance(node.target, cst.Name):
            self._assigned(node, node.target.value, node.value)
        elif node.value is None and self.class_stack and self.class_stack[-1] is not None and not self.stack:
            self._class_depends(node.annotation.annotation, None)  # `user: CurrentUser` on a class-based view

    def _class_depends(self, annotation: cst.BaseExpression | None, value: cst.BaseExpression | None) -> None:
        """Dependencies declared as class attributes (fastapi-utils `@cbv`): every route method of the class gets them."""
        ctx, found = self.context, []
        target = exprs.depends_target(ctx, value) if value is not None else None
        if target == "" and annotation is not None:
            target = exprs.ref(ctx, annotation) or ""
        if target:
            found.append(target)
        if annotation is not None:
            inline = exprs.annotated_depends(ctx, annotation)
            found.extend(inline if inline is not None else self._alias_candidate(annotation))
        if found:
            self.class_stack[-1]["attrs"].append(("__depends__", tuple(found)))

    def visit_TypeAlias(self, node: cst.TypeAlias) -> None:
        self._assigned(node, node.name.value, node.value)

    def _assigned(self, node: cst.CSTNode, name: str, value: cst.BaseExpression) -> None:
        ctx = self.context
        if self.stack:
            if isinstance(value, cst.Call):
                ctor = exprs.ref(ctx, value.func)
                if ctor and ctor.split(".", 1)[0] in FRAMEWORK_ROOTS:
                    self._object(node, exprs.defined_name(ctx, name), ctor, value)
            return
        if self.class_stack:
            info = self.class_stack[-1]
            if info is None:
                return
            if name in VIEW_ATTRS:
                info["attrs"].append((name, exprs.values(ctx, value)))
            elif isinstance(value, cst.Call) and exprs.depends_target(ctx, value) is not None:
                annotation = node.annotation.annotation if isinstance(node, cst.AnnAssign) else None
                self._class_depends(annotation, value)
            self._constant(f"{info['name']}.{name}", value)
            return
        qualified = exprs.defined_name(ctx, name)
        inline = exprs.annotated_depends(ctx, value)
        target = exprs.depends_target(ctx, value)
        if inline is not None or target:
            self.aliases.append((qualified, inline if inline is not None else (target,)))
        elif isinstance(value, cst.Call):
            ctor = exprs.ref(ctx, value.func)
            if ctor:
                self._object(node, qualified, ctor, value)
        else:
            self._constant(qualified, value)

    def _object(self, node: cst.CSTNode, name: str, ctor: str, call: cst.Call) -> None:
        ctx = self.context
        prefix_node = next((n for key in ("prefix", "url_prefix", "path") if (n := exprs.kwarg(call, key)) is not None), None)
        fields = {
            "name": name,
            "ctor": ctor,
            "args": tuple(exprs.value(ctx, a.value) for a in call.args if a.keyword is None and not a.star),
            "kwargs": tuple((a.keyword.value, exprs.values(ctx, a.value)) for a in call.args
                            if a.keyword is not None and a.keyword.value not in ("dependencies", "prefix", "url_prefix")),
            "prefix": exprs.path_parts(ctx, prefix_node) if prefix_node is not None else None,
            "dependencies": exprs.dependency_list(ctx, call),
        }
        self.objects.append((node, fields))

    def _constant(self, name: str, value: cst.BaseExpression) -> None:
        text = exprs.literal(value)
        if text is not None:
            if len(text) <= _MAX_CONST and "\n" not in text:
                self.constants.append(Const(name, text))
            return
        items = exprs.elements(value)
        if items is not None:
            strings = [exprs.literal(i) for i in items]
            if strings and all(s is not None and len(s) <= _MAX_CONST for s in strings):
                self.constants.append(Const(name, tuple(strings)))  # type: ignore[arg-type]
            return
        if isinstance(value, cst.Dict):
            for element in value.elements:
                key = exprs.literal(element.key) if isinstance(element, cst.DictElement) else None
                if key is not None and key.isidentifier():
                    self._constant(f"{name}.{key}", element.value)
            return
        if isinstance(value, (cst.FormattedString, cst.BinaryOperation)):
            parts = exprs.path_parts(self.context, value)
            if any(kind == "ref" for kind, _ in parts) and not any(kind == "?" for kind, _ in parts):
                self.constants.append(Const(name, "", parts))

    # -- result ------------------------------------------------------------------------------------------------
    def collect(self) -> dict[str, Any]:
        line = self.context.line
        functions = tuple(
            FunctionInfo(f.name, line(f.node), f.decorators, f.depends, f.annotations,
                         tuple(sorted(f.auth_calls)), f.public)
            for f in self.functions
        )
        classes = tuple(
            ClassInfo(info["name"], line(node), info["decorators"], tuple(info["attrs"]),
                      tuple((m.name.value, line(m)) for m in info["methods"]), info["public"])
            for node, info in self.classes
        )
        return {
            "route_objects": tuple(ObjectDef(line=line(n), **fields) for n, fields in self.objects),
            "web_functions": functions,
            "web_classes": classes,
            "type_aliases": tuple(Alias(name, deps) for name, deps in self.aliases),
            "constants": tuple(self.constants),
        }
