"""Collects how app-style frameworks (FastAPI, Starlette, Flask, flask-restx / flask-restful) register routes:
decorators and their call forms, `add_api_route` / `add_url_rule` / `add_resource`, and how routers, blueprints
and namespaces are mounted (`include_router`, `register_blueprint`, `add_namespace`, `mount`, `init_app`).

Registrations in test files are not collected: a route registered only inside a test is not a route of the app.
"""

from __future__ import annotations

import re
from typing import Any

from p21_lint import cst
from p21_lint.analysis.collector import FactCollector
from p21_lint.analysis.routes import exprs
from p21_lint.analysis.routes.facts import HelperCall, Hook, Mount, PathParts, RouteDecl

HTTP_VERBS = ("get", "post", "put", "patch", "delete", "options", "head", "trace")
ROUTE_VERBS = frozenset({*HTTP_VERBS, "route", "api_route", "websocket", "websocket_route"})
ROUTERISH = re.compile(r"(^|_)(app|application|api|router|routers|blueprint|bp)(_|$)", re.IGNORECASE)
HOOK_VERBS = frozenset({"before_request", "before_app_request"})
MOUNT_VERBS = {"include_router": "prefix", "register_blueprint": "url_prefix", "add_namespace": "path", "mount": "path"}
# owners whose verb-named methods are never routes (`@mock.patch("x")`)
_NOT_OWNERS = frozenset({"unittest", "mock", "pytest", "requests", "httpx", "aiohttp", "responses", "respx", "click",
                         "typer", "celery", "builtins"})


def _looks_like_path(node: cst.BaseExpression | None) -> bool:
    text = exprs.literal(node) if node is not None else None
    return node is not None and (text is None or text == "" or text.startswith("/"))


class Registrations(FactCollector):
    TRIGGERS = (b"route", b"Router", b"register_blueprint", b"add_url_rule", b"add_namespace", b"add_resource",
                b".mount(", b"before_request", b"before_app_request", b"init_app", b".websocket", b".get(", b".post(",
                b".put(", b".patch(", b".delete(", b".head(", b".options(")

    def __init__(self, context) -> None:
        super().__init__(context)
        self.routes: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        self.mounts: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        self.hooks: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        self.defs: dict[str, cst.FunctionDef] = {}  # functions of this file, for handlers registered by a call
        self.functions: list[tuple[str, list[str]]] = []  # enclosing functions and their positional parameters
        self.helper_calls: list[tuple[cst.CSTNode, dict[str, Any]]] = []

    def _owner(self, node: cst.BaseExpression) -> str | None:
        name = exprs.ref(self.context, node)
        if name is None:
            return exprs.unknown(self.context, node)
        return None if name.split(".", 1)[0] in _NOT_OWNERS else name

    def _handler(self, node: cst.BaseExpression) -> str:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "as_view":
            node = node.func.value  # UserAPI.as_view("users") routes to the class
        return exprs.ref(self.context, node) or exprs.unknown(self.context, node)

    # -- decorators --------------------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        name = exprs.defined_name(self.context, node.name.value)
        self.defs.setdefault(name, node)
        self._decorated(node)
        params = node.params
        self.functions.append((name, [p.name.value for p in (*params.posonly_params, *params.params)]))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.pop()

    def _param(self, name: str) -> str:
        """`?param:FUNCTION:INDEX` when `name` is a parameter of the function being visited, else `name`."""
        if not self.functions:
            return name
        function, params = self.functions[-1]
        prefix = exprs.scope_prefix(self.context) + "."
        if name.startswith(prefix) and name[len(prefix):] in params:
            return f"?param:{function}:{params.index(name[len(prefix):])}"
        return name

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._decorated(node)  # flask-restx `@ns.route("/x")` on a Resource

    def _decorated(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        if self.context.is_test:
            return
        handler = exprs.defined_name(self.context, node.name.value)
        public = None
        for deco in node.decorators:
            expr = deco.decorator
            if isinstance(expr, cst.Attribute) and expr.attr.value in HOOK_VERBS:
                owner = self._owner(expr.value)
                if owner:
                    self.hooks.append((deco, {"owner": owner, "function": handler,
                                              "app_wide": expr.attr.value == "before_app_request"}))
                continue
            if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
                continue
            verb = expr.func.attr.value
            path = exprs.arg(expr, 0, "path") or exprs.kwarg(expr, "rule")
            if verb not in ROUTE_VERBS or not _looks_like_path(path):
                continue
            owner = self._owner(expr.func.value)
            if owner is None:
                continue
            if public is None:
                public = exprs.public_marker(node)
            self._route(deco, expr, owner, verb, path, handler, public)

    def _route(self, node: cst.CSTNode, call: cst.Call, owner: str, verb: str, path: cst.BaseExpression,
               handler: str, public: bool = False, path_parts: PathParts | None = None) -> None:
        ctx = self.context
        methods = exprs.kwarg(call, "methods")
        name = exprs.kwarg(call, "name") or exprs.kwarg(call, "endpoint")
        self.routes.append((node, {
            "owner": owner,
            "verb": verb,
            "methods": exprs.methods(ctx, methods) if methods is not None else (),
            "path": path_parts if path_parts is not None else exprs.path_parts(ctx, path),
            "handler": handler,
            "name": (exprs.literal(name) or "") if name is not None else "",
            "dependencies": exprs.dependency_list(ctx, call),
            "public": public,
        }))

    # -- calls -------------------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if self.context.is_test:
            return
        self._helper_call(node)
        func = node.func
        if isinstance(func, cst.Call) and isinstance(func.func, cst.Attribute):
            self._call_form(node, func)
            return
        if not isinstance(func, cst.Attribute):
            return
        verb = func.attr.value
        if verb in MOUNT_VERBS:
            self._mount(node, verb)
        elif verb in ("add_api_route", "add_route", "add_api_websocket_route", "add_websocket_route"):
            path, endpoint = exprs.arg(node, 0, "path"), exprs.arg(node, 1, "endpoint")
            owner = self._owner(func.value)
            if owner and endpoint is not None and _looks_like_path(path):
                self._route(node, node, owner, verb, path, self._handler(endpoint))
        elif verb == "add_url_rule":
            path = exprs.arg(node, 0, "rule")
            view = exprs.arg(node, 2, "view_func")
            owner = self._owner(func.value)
            if owner and _looks_like_path(path):
                handler = self._handler(view) if view is not None else "?(no view_func)"
                self._route(node, node, owner, verb, path, handler)
        elif verb == "add_resource":  # flask-restful / flask-restx: api.add_resource(Resource, "/a", "/b")
            args = [a.value for a in node.args if a.keyword is None and not a.star]
            owner = self._owner(func.value)
            if owner and args:
                for path in args[1:]:
                    if _looks_like_path(path):
                        self._route(node, node, owner, verb, path, self._handler(args[0]))
        elif verb in HOOK_VERBS and node.args:
            owner = self._owner(func.value)
            if owner:
                self.hooks.append((node, {"owner": owner, "function": self._handler(node.args[0].value),
                                          "app_wide": verb == "before_app_request"}))
        elif verb == "init_app" and node.args:  # api.init_app(app): the API is mounted on the app
            child, parent = self._owner(func.value), exprs.ref(self.context, node.args[0].value)
            if child and parent:
                self.mounts.append((node, {"parent": parent, "child": child, "verb": verb, "prefix": None}))

    def _helper_call(self, node: cst.Call) -> None:
        """`setup_routes(app)`, `add_versioned_routers(app, api_router, ...)`: an app or router handed to a function,
        kept when an argument is named like one (the function may mount it, see `_param`)."""
        args = [a.value for a in node.args if a.keyword is None and not a.star]
        names = [(exprs.ref(self.context, a) or "") if isinstance(a, (cst.Name, cst.Attribute)) else "" for a in args]
        if not any(ROUTERISH.search(n.rsplit(".", 1)[-1]) for n in names if n):
            return
        function = exprs.ref(self.context, node.func)
        if function and not function.split(".", 1)[0] in _NOT_OWNERS:
            self.helper_calls.append((node, {"function": function, "args": tuple(names)}))

    def _call_form(self, node: cst.Call, inner: cst.Call) -> None:
        """`router.get("/x")(handler)`: a decorator applied by hand."""
        verb = inner.func.attr.value  # type: ignore[union-attr]
        path = exprs.arg(inner, 0, "path") or exprs.kwarg(inner, "rule")
        if verb not in ROUTE_VERBS or path is None or exprs.literal(path) is None or not node.args:
            return
        if not _looks_like_path(path):
            return
        owner = self._owner(inner.func.value)  # type: ignore[union-attr]
        if owner:
            self._route(node, inner, owner, verb, path, self._handler(node.args[0].value))

    def _mount(self, node: cst.Call, verb: str) -> None:
        ctx = self.context
        if verb == "mount":  # app.mount("/static", StaticFiles(...)) / app.mount("/v2", v2_app)
            path, child_node = exprs.arg(node, 0, "path"), exprs.arg(node, 1, "app")
            prefix = exprs.path_parts(ctx, path) if path is not None else None
        else:
            child_node = exprs.arg(node, 0, "router" if verb == "include_router" else "blueprint")
            key = MOUNT_VERBS[verb]
            prefix_node = exprs.kwarg(node, key)
            prefix = exprs.path_parts(ctx, prefix_node) if prefix_node is not None else None
        parent = self._owner(node.func.value)  # type: ignore[union-attr]
        if child_node is None or parent is None:
            return
        if isinstance(child_node, cst.Call):
            child = exprs.ref(ctx, child_node.func)
            child = f"{child}()" if child else exprs.unknown(ctx, child_node)
        else:
            child = exprs.ref(ctx, child_node) or exprs.unknown(ctx, child_node)
        self.mounts.append((node, {"parent": self._param(parent), "child": self._param(child), "verb": verb,
                                   "prefix": prefix, "dependencies": exprs.dependency_list(ctx, node)}))

    def _called(self) -> dict[str, cst.FunctionDef]:
        """Handlers registered by a call (`add_url_rule(..., view_func=fn)`) and defined in this file."""
        return {f["handler"]: self.defs[f["handler"]] for n, f in self.routes
                if isinstance(n, cst.Call) and f["handler"] in self.defs}

    def collect(self) -> dict[str, Any]:
        called = self._called()
        line = self.context.line
        handler_lines = {name: line(node) for name, node in called.items()}
        return {
            "route_decls": tuple(RouteDecl(line=line(n), handler_line=handler_lines.get(f["handler"], 0), **f)
                                 for n, f in self.routes),
            "route_mounts": tuple(Mount(line=line(n), **f) for n, f in self.mounts),
            "route_hooks": tuple(Hook(line=line(n), **f) for n, f in self.hooks),
            "route_helper_calls": tuple(HelperCall(line=0, **f) for _, f in self.helper_calls),
        }
