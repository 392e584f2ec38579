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

from p21_lint import cst
from p21_lint.analysis.collector import FactCollector
from p21_lint.analysis.names import dotted
from p21_lint.analysis.routes import exprs
from p21_lint.analysis.routes.facts import ClientCall, PathParts

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


def _names(node: cst.BaseExpression) -> list[str]:
    """parametrize's argument names: `"method,url"` or `("method", "url")`."""
    text = exprs.literal(node)
    if text is not None:
        return [n.strip() for n in text.split(",") if n.strip()]
    items = exprs.elements(node) or []
    names = [exprs.literal(i) for i in items]
    return [n for n in names if n] if all(names) else []


class ClientCalls(FactCollector):
    TRIGGERS = (b"client", b"Client", b"reverse", b"url_for", b"url_path_for", b"requests", b"httpx")

    def __init__(self, context) -> None:
        super().__init__(context)
        self.found: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        self.clients: set[str] = set()  # names bound to a test client
        self.strings: list[dict[str, PathParts]] = [{}]  # string values of names, per scope
        self.named: list[dict[str, str]] = [{}]  # names bound to `url_for(...)` / `reverse(...)`: the route name
        self.params: list[list[dict[str, tuple[str, PathParts]]]] = [[]]  # parametrize cases, per function
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

    def _parametrize(self, node: cst.FunctionDef) -> list[dict[str, tuple[str, PathParts]]]:
        """The cases of `@pytest.mark.parametrize("method,url", [("get", "/a"), ...])`, one dict per case (several
        decorators multiply, as in pytest); empty when the test is not parametrized."""
        cases: list[dict[str, tuple[str, PathParts]]] = [{}]
        for deco in node.decorators:
            call = deco.decorator
            if not isinstance(call, cst.Call) or self.context.qualified_name(call.func) not in PARAMETRIZE:
                continue
            names_node, values = exprs.positional(call, 0), exprs.positional(call, 1)
            keys = _names(names_node) if names_node is not None else []
            rows = exprs.elements(values) if values is not None else None
            if not keys or rows is None:
                continue
            found = []
            for row in rows:
                if isinstance(row, cst.Call) and row.args:  # pytest.param(...)
                    cells = [a.value for a in row.args if a.keyword is None]
                else:
                    cells = exprs.elements(row) if len(keys) > 1 else [row]
                if cells is None or len(cells) != len(keys):
                    continue
                found.append({key: (exprs.literal(cell) or "", exprs.path_parts(self.context, cell, self.strings[-1]))
                              for key, cell in zip(keys, cells, strict=True)})
            if found:
                cases = [{**a, **b} for a in cases for b in found]
        return cases if cases != [{}] else []

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
        seen = set()
        for case in self.params[-1] or [{}]:  # a parametrized test: each case is a request
            method = self._method(verb, method_node, case)
            if method is None:
                continue  # the method is not known: it can cover nothing
            for fields in self._urls(url, case):
                key = (method, tuple(sorted(fields.items())))
                if key not in seen:
                    seen.add(key)
                    self.found.append((node, {"method": method, **fields}))

    def _method(self, verb: str, node: cst.BaseExpression | None, case: dict[str, tuple[str, PathParts]]) -> str | None:
        if verb == "websocket_connect":
            return "WEBSOCKET"
        if node is None:
            return "GET" if verb == "open" else verb.upper()
        text = exprs.literal(node)
        if text is None and isinstance(node, cst.Name) and node.value in case:
            text = case[node.value][0]
        return text.upper() if text else None

    def _urls(self, node: cst.BaseExpression, case: dict[str, tuple[str, PathParts]]) -> list[dict[str, Any]]:
        ctx = self.context
        if isinstance(node, cst.Name) and node.value in case:
            return [{"url": _strip_url(case[node.value][1])}]
        if (named := self._named(node)) is not None:
            return [{"url": (), "route_name": named}]
        # reverse("x") + "?page=2"
        route = self._route_name(node.left if isinstance(node, cst.BinaryOperation) else node, case)
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

    def _route_name(self, node: cst.BaseExpression, case: dict | None = None) -> str | None:
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
        if text is None and isinstance(name, cst.Name) and case and name.value in case:
            text = case[name.value][0]  # `app.url_path_for(route_name)` with route_name parametrized
        return text or ""

    def collect(self) -> dict[str, Any]:
        if not self.found:
            return {}
        return {"client_calls": tuple(ClientCall(line=self.context.line(n), **f) for n, f in self.found)}
