"""Collects Django url lists (`urlpatterns` and any module-level list of `path()` / `re_path()` / `url()`) and
DRF router registrations. The views they name are described by symbols.py; the project pass walks the lists
from the root urlconf (table.py)."""

from __future__ import annotations

from typing import Any

from p21_lint import cst
from p21_lint.analysis.collector import FactCollector
from p21_lint.analysis.routes import exprs
from p21_lint.analysis.routes.facts import Call, RouterRegistration, UrlEntry

PATH_FUNCS = frozenset({"django.urls.path", "django.urls.conf.path"})
REGEX_FUNCS = frozenset({"django.urls.re_path", "django.urls.conf.re_path", "django.conf.urls.url"})
INCLUDE_FUNCS = frozenset({"django.urls.include", "django.urls.conf.include", "django.conf.urls.include"})


class DjangoUrls(FactCollector):
    TRIGGERS = (b"urlpatterns", b"path(", b"url(", b".register(")

    def __init__(self, context) -> None:
        super().__init__(context)
        self.entries: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        self.registrations: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        self.depth = 0  # inside a function or class: lists there are not urlconfs

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth += 1

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth -= 1

    # -- url lists -----------------------------------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if self.depth or self.context.is_test or len(node.targets) != 1:
            return
        target = node.targets[0].target
        if isinstance(target, cst.Name):
            self._list(exprs.defined_name(self.context, target.value), node.value, target.value == "urlpatterns")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self.depth or self.context.is_test or not isinstance(node.operator, cst.AddAssign):
            return
        if isinstance(node.target, cst.Name):
            self._list(exprs.defined_name(self.context, node.target.value), node.value, True)

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.is_test or not isinstance(node.func, cst.Attribute):
            return
        attr = node.func.attr.value
        if attr in ("append", "extend", "insert") and self.depth == 0 and isinstance(node.func.value, cst.Name):
            owner = exprs.defined_name(self.context, node.func.value.value)
            value = node.args[-1].value if node.args else None
            if value is not None:
                self._list(owner, value if attr == "extend" else cst.List([cst.Element(value)]), True)
        elif attr == "register" and len(node.args) >= 2:
            self._register(node)

    def _list(self, owner: str, value: cst.BaseExpression, known: bool) -> None:
        """Entries of a url list expression. `known`: the name is urlpatterns (else it must hold path() calls)."""
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            self._list(owner, value.left, known)
            self._list(owner, value.right, known)
            return
        if isinstance(value, cst.Call) and exprs.ref(self.context, value.func) in (
            "rest_framework.urlpatterns.format_suffix_patterns",
        ) and value.args:
            self._list(owner, value.args[0].value, known)
            return
        items = exprs.elements(value)
        if items is None:
            if known and isinstance(value, (cst.Name, cst.Attribute)):
                target = exprs.ref(self.context, value)
                if target and target != owner:
                    self._entry(value, owner, "extend", (), False, target, "?")
            return
        calls = [i for i in items if isinstance(i, cst.Call) and self._path_func(i) is not None]
        if not calls and not known:
            return
        for item in items:
            if isinstance(item, cst.Call) and (kind := self._path_func(item)) is not None:
                self._path(item, owner, kind)

    def _path_func(self, node: cst.Call) -> str | None:
        name = self.context.qualified_name(node.func)
        if name in PATH_FUNCS:
            return "path"
        if name in REGEX_FUNCS:
            return "regex"
        return None

    def _path(self, node: cst.Call, owner: str, kind: str) -> None:
        ctx = self.context
        route = exprs.arg(node, 0, "route") or exprs.arg(node, 0, "regex")
        view = exprs.arg(node, 1, "view")
        if route is None or view is None:
            return
        parts = exprs.path_parts(ctx, route)
        regex = kind == "regex"
        name_node = exprs.kwarg(node, "name")
        name = (exprs.literal(name_node) or "") if name_node is not None else ""
        wrappers: list[Call] = []
        while True:
            if isinstance(view, cst.Call) and ctx.qualified_name(view.func) in INCLUDE_FUNCS:
                self._include(node, owner, parts, regex, view)
                return
            if isinstance(view, cst.Call) and isinstance(view.func, cst.Attribute) and view.func.attr.value == "as_view":
                cls = exprs.ref(ctx, view.func.value) or exprs.unknown(ctx, view.func.value)
                mapping = exprs.positional(view, 0)
                if isinstance(mapping, cst.Dict):
                    actions = tuple(
                        (m.upper(), a) for e in mapping.elements if isinstance(e, cst.DictElement)
                        and (m := exprs.literal(e.key)) and (a := exprs.literal(e.value))
                    )
                    self._entry(node, owner, "view", parts, regex, cls, "viewset", name, actions=actions, wrappers=wrappers)
                else:
                    self._entry(node, owner, "view", parts, regex, cls, "class", name, wrappers=wrappers)
                return
            if isinstance(view, cst.Call) and view.args:  # login_required(views.home), cache_page(60)(views.home)
                info = exprs.call_info(ctx, view.func)
                if info is not None:
                    wrappers.append(info)
                view = view.args[0].value
                continue
            target = exprs.ref(ctx, view) or exprs.unknown(ctx, view)
            self._entry(node, owner, "view", parts, regex, target, "function", name, wrappers=wrappers)
            return

    def _include(self, node: cst.Call, owner: str, parts, regex: bool, include: cst.Call) -> None:
        ctx = self.context
        arg = exprs.arg(include, 0, "arg")
        namespace_node = exprs.kwarg(include, "namespace")
        namespace = (exprs.literal(namespace_node) or "") if namespace_node is not None else ""
        if isinstance(arg, cst.Tuple) and arg.elements:  # include(("app.urls", "app_name"))
            items = [e.value for e in arg.elements]
            namespace = namespace or (exprs.literal(items[1]) or "" if len(items) > 1 else "")
            arg = items[0]
        if arg is None:
            return
        text = exprs.literal(arg)
        if text is not None:
            self._entry(node, owner, "include", parts, regex, text, "module", namespace=namespace)
        elif isinstance(arg, (cst.List, cst.Tuple)):
            inline = f"{owner}@{len(self.entries)}"
            self._entry(node, owner, "include", parts, regex, inline, "list", namespace=namespace)
            self._list(inline, arg, True)
        else:
            target = exprs.ref(ctx, arg) or exprs.unknown(ctx, arg)
            self._entry(node, owner, "include", parts, regex, target, "?", namespace=namespace)

    def _entry(self, node: cst.CSTNode, owner: str, kind: str, parts, regex: bool, target: str, target_kind: str,
               name: str = "", namespace: str = "", actions=(), wrappers=()) -> None:
        self.entries.append((node, {
            "owner": owner, "kind": kind, "path": parts, "regex": regex, "target": target,
            "target_kind": target_kind, "name": name, "namespace": namespace, "actions": tuple(actions),
            "wrappers": tuple(wrappers),
        }))

    # -- DRF routers -------------------------------------------------------------------------------------------
    def _register(self, node: cst.Call) -> None:
        ctx = self.context
        router = exprs.ref(ctx, node.func.value)  # type: ignore[union-attr]
        prefix, viewset = exprs.arg(node, 0, "prefix"), exprs.arg(node, 1, "viewset")
        if router is None or prefix is None or viewset is None or exprs.literal(prefix) is None:
            return
        basename = exprs.arg(node, 2, "basename") or exprs.kwarg(node, "base_name")
        self.registrations.append((node, {
            "router": router,
            "prefix": exprs.path_parts(ctx, prefix),
            "viewset": exprs.ref(ctx, viewset) or exprs.unknown(ctx, viewset),
            "basename": (exprs.literal(basename) or "") if basename is not None else "",
        }))

    def collect(self) -> dict[str, Any]:
        line = self.context.line
        return {
            "url_entries": tuple(UrlEntry(line=line(n), **f) for n, f in self.entries),
            "router_registrations": tuple(RouterRegistration(line=line(n), **f) for n, f in self.registrations),
        }
