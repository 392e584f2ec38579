"""Collects the HTTP requests tests make through a test client, for the endpoints gate (TEST001).

A test client is a name containing `client` (`client`, `self.client`, `api_client`, a pytest fixture), a name bound
to a client constructor (`TestClient(app)`, `httpx.AsyncClient(...)`, `app.test_client()`, Django `Client()`,
DRF `APIClient()`), or `requests` / `httpx` themselves. The URL is kept as parts: literal text, constants to
resolve in the project pass (`settings.API_V1_STR`), and unknown pieces (`user.id`); strings assigned to local
names and `pytest.mark.parametrize` values are followed. `url_for(...)`, `reverse(...)` and
`app.url_path_for(...)` are kept as route names.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from p21_lint.analysis.collector import FactCollector
from p21_lint.analysis.names import dotted
from p21_lint.analysis.routes import exprs
from p21_lint.analysis.routes.facts import ClientCall, PathParts
from p21_lint.analysis.routes.lines import lines as file_lines
from p21_lint.analysis.routes.lines import want

VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "trace"})
CLIENT_CTORS = frozenset({
    "fastapi.testclient.TestClient", "starlette.testclient.TestClient", "httpx.AsyncClient", "httpx.Client",
    "django.test.Client", "django.test.AsyncClient", "django.test.client.Client", "rest_framework.test.APIClient",
    "flask.testing.FlaskClient", "async_asgi_testclient.TestClient",
})
HTTP_MODULES = frozenset({"requests", "httpx"})
NAMED_URL_FUNCS = frozenset({"flask.url_for", "django.urls.reverse", "django.urls.base.reverse",
                             "django.shortcuts.reverse", "rest_framework.reverse.reverse", "django.urls.reverse_lazy"})
PARAMETRIZE = frozenset({"pytest.mark.parametrize"})


def _strip_url(parts: PathParts) -> PathParts:
    """Drop scheme and host (`http://testserver/users` -> `/users`) and the query string."""
    out = list(parts)
    if out and out[0][0] == "" and out[0][1].startswith(("http://", "https://")):
        rest = out[0][1].split("://", 1)[1]
        out[0] = ("", rest[rest.index("/"):] if "/" in rest else "")
    for i, (kind, text) in enumerate(out):
        if kind == "" and ("?" in text or "#" in text):
            cut = min(p for p in (text.find("?"), text.find("#")) if p >= 0)
            out = out[:i] + [("", text[:cut])]
            break
    return tuple(p for p in out if p != ("", ""))


class ClientCalls(FactCollector):
    TRIGGERS = (b"client", b"Client", b"reverse", b"url_for", b"url_path_for", b"requests", b"httpx")

    def __init__(self, context) -> None:
        super().__init__(context)
        self.found: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        self.clients: set[str] = set()  # names bound to a test client
        self.strings: list[dict[str, PathParts]] = [{}]  # string values of names, per scope
        self.named: list[dict[str, str]] = [{}]  # names bound to `url_for(...)` / `reverse(...)`: the route name
        self.params: list[dict[str, list[tuple[str, PathParts]]]] = [{}]  # parametrize values, per function
        # `self.url = reverse("x")` in setUp, `self.base = "/api"`: per class, seen by every method after it
        self.members: list[dict[str, PathParts | str]] = [{}]

    # -- scopes and bindings -------------------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.members.append({})

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.members.pop()

    def _strings(self) -> dict[str, PathParts]:
        members = {k: v for k, v in self.members[-1].items() if isinstance(v, tuple)}
        return {**members, **self.strings[-1]}

    def _named(self, node: cst.BaseExpression) -> str | None:
        key = dotted(node)
        if key is None:
            return None
        found = self.named[-1].get(key, self.members[-1].get(key))
        return found if isinstance(found, str) else None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.strings.append(dict(self.strings[-1]))
        self.named.append(dict(self.named[-1]))
        self.params.append(self._parametrize(node))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.strings.pop()
        self.named.pop()
        self.params.pop()

    def _parametrize(self, node: cst.FunctionDef) -> dict[str, list[tuple[str, PathParts]]]:
        """`@pytest.mark.parametrize("method,url", [("get", "/a"), ...])` -> {"url": [...], "method": [...]}."""
        out: dict[str, list[tuple[str, PathParts]]] = {}
        for deco in node.decorators:
            call = deco.decorator
            if not isinstance(call, cst.Call) or self.context.qualified_name(call.func) not in PARAMETRIZE:
                continue
            names_node, cases = exprs.positional(call, 0), exprs.positional(call, 1)
            names = exprs.literal(names_node) if names_node is not None else None
            rows = exprs.elements(cases) if cases is not None else None
            if names is None or rows is None:
                continue
            keys = [n.strip() for n in names.split(",") if n.strip()]
            for row in rows:
                if isinstance(row, cst.Call) and row.args:  # pytest.param(...)
                    row = cst.Tuple([cst.Element(a.value) for a in row.args if a.keyword is None]) if len(keys) > 1 else row.args[0].value
                cells = exprs.elements(row) if len(keys) > 1 else [row]
                if cells is None or len(cells) != len(keys):
                    continue
                for key, cell in zip(keys, cells, strict=True):
                    text = exprs.literal(cell)
                    parts = exprs.path_parts(self.context, cell, self.strings[-1])
                    out.setdefault(key, []).append((text or "", parts))
        return out

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, (cst.Name, cst.Attribute)):
            self._bind(node.targets[0].target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name) and self._is_client(node.item, made=True):
            self.clients.add(node.asname.name.value)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        name = dotted(target)
        if name is None:
            return
        member = name.startswith(("self.", "cls.")) and name.count(".") == 1
        if self._is_client(value, made=True):
            self.clients.add(name)
        elif (route := self._route_name(value)) is not None:
            if member:
                self.members[-1][name] = route
            elif isinstance(target, cst.Name):
                self.named[-1][name] = route
        elif isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.BinaryOperation)):
            parts = exprs.path_parts(self.context, value, self._strings())
            if member:
                self.members[-1][name] = parts
            elif isinstance(target, cst.Name):
                self.strings[-1][name] = parts

    def _is_client(self, node: cst.BaseExpression, made: bool = False) -> bool:
        """Whether `node` is (made=True: constructs) a test client."""
        if isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.Call):
            func = node.func
            if self.context.qualified_name(func) in CLIENT_CTORS:
                return True
            return isinstance(func, cst.Attribute) and func.attr.value == "test_client"
        if made:
            return False
        name = dotted(node)
        if name is None:
            return False
        last = name.rsplit(".", 1)[-1]
        return name in self.clients or "client" in last.lower() or self.context.qualified_name(node) in HTTP_MODULES

    # -- requests ----------------------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if not self.context.is_test or not isinstance(node.func, cst.Attribute):
            return
        verb = node.func.attr.value
        if verb not in VERBS and verb not in ("request", "open", "generic", "websocket_connect"):
            return
        if not self._is_client(node.func.value):
            return
        if verb in ("request", "generic"):
            method_node, url = exprs.arg(node, 0, "method"), exprs.arg(node, 1, "url") or exprs.kwarg(node, "path")
        elif verb == "open":
            method_node, url = exprs.kwarg(node, "method"), exprs.arg(node, 0, "path")
        else:
            method_node, url = None, exprs.arg(node, 0, "url") or exprs.kwarg(node, "path")
        if url is None:
            return
        if verb == "websocket_connect":
            methods = [("WEBSOCKET", "")]
        elif method_node is None:
            methods = [("GET" if verb == "open" else verb.upper(), "")]
        elif (text := exprs.literal(method_node)) is not None:
            methods = [(text.upper(), "")]
        elif isinstance(method_node, cst.Name) and method_node.value in self.params[-1]:
            methods = [(m.upper(), "") for m, _ in self.params[-1][method_node.value] if m]
        else:
            return  # the method is not known: it can cover nothing
        for method, _ in methods:
            for fields in self._urls(url):
                self.found.append((node, {"method": method, **fields}))

    def _urls(self, node: cst.BaseExpression) -> list[dict[str, Any]]:
        ctx = self.context
        if isinstance(node, cst.Name) and node.value in self.params[-1]:
            return [{"url": _strip_url(p)} for _, p in self.params[-1][node.value]]
        if (named := self._named(node)) is not None:
            return [{"url": (), "route_name": named}]
        route = self._route_name(node.left if isinstance(node, cst.BinaryOperation) else node)  # reverse("x") + "?p=2"
        if route == "":
            return [{"url": (("?", exprs.unknown(ctx, node)[1:]),), "note": "the route name is not a literal"}]
        if route is not None:
            return [{"url": (), "route_name": route}]
        parts = _strip_url(exprs.path_parts(ctx, node, self._strings())) or (("", "/"),)
        if parts[0][0] == "" and not parts[0][1].startswith("/"):
            return []  # `redis_client.get("key")`: not a request to the app
        if all(kind != "" for kind, _ in parts):
            return [{"url": parts, "note": "the URL is not known statically"}]
        return [{"url": parts}]

    def _route_name(self, node: cst.BaseExpression) -> str | None:
        """The route name of `url_for("x")`, `reverse("x")`, `app.url_path_for("x")`; "" when not a literal."""
        if not isinstance(node, cst.Call):
            return None
        named = self.context.qualified_name(node.func) in NAMED_URL_FUNCS or (
            isinstance(node.func, cst.Attribute) and node.func.attr.value in ("url_path_for", "url_for")
        )
        if not named:
            return None
        name = exprs.arg(node, 0, "name") or exprs.kwarg(node, "endpoint") or exprs.kwarg(node, "viewname")
        text = exprs.literal(name) if name is not None else None
        return text or ""

    def leave_Module(self, original_node: cst.Module) -> None:
        want(self.context, [n for n, _ in self.found])

    def collect(self) -> dict[str, Any]:
        if not self.found:
            return {}
        lines = file_lines(self.context, [n for n, _ in self.found])
        return {"client_calls": tuple(ClientCall(line=lines.get(n, 0), **f) for n, f in self.found)}
