"""Routes of Django and Django REST framework: the url lists walked from the root urlconf (`ROOT_URLCONF`, else
every `urlpatterns` no other list includes), function views, class-based views, `ViewSet.as_view({...})` and DRF
routers with their `@action`s. One row per HTTP method; a function view that accepts every method is one row
with method ANY.
"""

from __future__ import annotations

from p21_lint.analysis.routes import paths
from p21_lint.analysis.routes.auth import (
    DRF_PERMISSION_DECORATOR,
    LOGIN_REQUIRED_MIDDLEWARE,
    PUBLIC_DECORATORS,
    AuthJudge,
)
from p21_lint.analysis.routes.exprs import unquote
from p21_lint.analysis.routes.facts import (
    Call,
    FunctionInfo,
    RouterRegistration,
    UrlEntry,
)
from p21_lint.analysis.routes.index import Index
from p21_lint.analysis.routes.rows import Draft, body_evidence
from p21_lint.model import Facts

METHOD_DECORATORS = {
    "django.views.decorators.http.require_GET": ("GET",),
    "django.views.decorators.http.require_POST": ("POST",),
    "django.views.decorators.http.require_safe": ("GET", "HEAD"),
}
REQUIRE_METHODS = "django.views.decorators.http.require_http_methods"
API_VIEW = "rest_framework.decorators.api_view"
ACTION = "rest_framework.decorators.action"
ADMIN_SITE = "django.contrib.admin.site."
DRF_ROUTERS = {"rest_framework.routers.DefaultRouter", "rest_framework.routers.SimpleRouter"}
# HTTP methods of library class-based views, by class name
LIBRARY_VIEW_METHODS = {
    "TemplateView": ("GET",), "RedirectView": ("GET",), "ListView": ("GET",), "DetailView": ("GET",),
    "ArchiveIndexView": ("GET",), "YearArchiveView": ("GET",), "MonthArchiveView": ("GET",),
    "DayArchiveView": ("GET",), "DateDetailView": ("GET",), "CreateView": ("GET", "POST"),
    "UpdateView": ("GET", "POST"), "FormView": ("GET", "POST"), "DeleteView": ("GET", "POST"),
    "LoginView": ("GET", "POST"), "LogoutView": ("POST",), "PasswordChangeView": ("GET", "POST"),
    "CreateAPIView": ("POST",), "ListAPIView": ("GET",), "RetrieveAPIView": ("GET",), "DestroyAPIView": ("DELETE",),
    "UpdateAPIView": ("PUT", "PATCH"), "ListCreateAPIView": ("GET", "POST"),
    "RetrieveUpdateAPIView": ("GET", "PUT", "PATCH"), "RetrieveDestroyAPIView": ("GET", "DELETE"),
    "RetrieveUpdateDestroyAPIView": ("GET", "PUT", "PATCH", "DELETE"),
}
LIBRARY_VIEW_PACKAGES = ("django.views.", "django.contrib.auth.views.", "rest_framework.generics.")
VIEW_HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
# viewset actions: what each library base provides, and the HTTP method and route of each action
VIEWSET_ACTIONS = {
    "ModelViewSet": ("list", "create", "retrieve", "update", "partial_update", "destroy"),
    "ReadOnlyModelViewSet": ("list", "retrieve"),
    "ListModelMixin": ("list",), "CreateModelMixin": ("create",), "RetrieveModelMixin": ("retrieve",),
    "UpdateModelMixin": ("update", "partial_update"), "DestroyModelMixin": ("destroy",),
}
ACTION_ROUTES = {  # action -> (method, detail)
    "list": ("GET", False), "create": ("POST", False), "retrieve": ("GET", True), "update": ("PUT", True),
    "partial_update": ("PATCH", True), "destroy": ("DELETE", True),
}


class DjangoRoutes:
    def __init__(self, index: Index, judge: AuthJudge) -> None:
        self.index = index
        self.judge = judge
        self.notes: list[str] = []
        self.lists: dict[str, list[tuple[UrlEntry, Facts]]] = {}
        self.registrations: dict[str, list[tuple[RouterRegistration, Facts]]] = {}
        self.drafts: list[Draft] = []
        middleware = index.setting("MIDDLEWARE") or ()
        self.login_middleware = LOGIN_REQUIRED_MIDDLEWARE in middleware
        self.drf_default = index.setting("REST_FRAMEWORK.DEFAULT_PERMISSION_CLASSES")

    def rows(self, files: list[Facts]) -> list[Draft]:
        for facts in files:
            for entry in facts.url_entries:
                self.lists.setdefault(entry.owner, []).append((entry, facts))
            for reg in facts.router_registrations:
                self.registrations.setdefault(self.index.canon(reg.router), []).append((reg, facts))
        if not self.lists:
            return []
        for root in self._roots():
            self._walk(root, "", [], [], [root])
        return self.drafts

    def _roots(self) -> list[str]:
        root = self.index.setting_str("ROOT_URLCONF")
        if root and f"{root}.urlpatterns" in self.lists:
            return [f"{root}.urlpatterns"]
        if root:
            self.notes.append(f"ROOT_URLCONF `{root}` is not among the checked files; starting from every urlpatterns")
        included = set()
        for entries in self.lists.values():
            for entry, _ in entries:
                if entry.kind in ("include", "extend"):
                    target = self._list_of(entry)
                    if target:
                        included.add(target)
        return sorted(n for n in self.lists if n.endswith(".urlpatterns") and n not in included)

    def _list_of(self, entry: UrlEntry) -> str | None:
        """The url list an include / extend entry reaches, if it is one."""
        target = entry.target
        if entry.target_kind == "module":
            return f"{target}.urlpatterns"
        if entry.target_kind == "list":
            return target
        canon = self.index.canon(target)
        for candidate in (f"{canon}.urlpatterns", canon, f"{canon}"):
            if candidate in self.lists:
                return candidate
        return None

    def _walk(self, name: str, prefix: str, namespaces: list[str], wrappers: list[Call], chain: list[str]) -> None:
        for entry, facts in sorted(self.lists.get(name, []), key=lambda e: (e[1].path, e[0].line)):
            piece, notes = self._piece(entry)
            where = f"{facts.path}:{entry.line}"
            if entry.kind == "view" and self.index.canon(entry.target).startswith(ADMIN_SITE):
                self.notes.append(f"{where}: the Django admin site is not listed (Django requires a staff login)")
                continue
            if entry.kind == "view":
                self._view(entry, facts, prefix + piece, namespaces, [*wrappers, *entry.wrappers], notes)
                continue
            router = self._router_of(entry)
            if router is not None:
                self._router(router, prefix + piece, namespaces, wrappers, notes)
                continue
            target = self._list_of(entry)
            if target is None or target not in self.lists:
                shown = entry.target.lstrip("?")
                self.notes.append(f"{where}: `include({shown})` cannot be followed: not a url list in the checked files")
                continue
            if target in chain:
                continue
            namespace = entry.namespace or self._app_name(target)
            self._walk(target, prefix + piece, namespaces + ([namespace] if namespace else []),
                       [*wrappers, *entry.wrappers], [*chain, target])

    def _app_name(self, list_name: str) -> str:
        module = list_name.rsplit(".", 1)[0]
        const = self.index.consts.get(f"{module}.app_name")
        return const.value if const is not None and isinstance(const.value, str) else ""

    def _router_of(self, entry: UrlEntry) -> str | None:
        canon = self.index.canon(entry.target)
        if entry.kind == "view" or not canon.endswith(".urls"):
            return None
        router = self.index.canon(canon[: -len(".urls")])
        obj = self.index.objects.get(router)
        if router in self.registrations or (obj is not None and self.index.canon(obj[0].ctor) in DRF_ROUTERS):
            return router
        return None

    def _piece(self, entry: UrlEntry) -> tuple[str, list[str]]:
        text, why = self.index.join(entry.path)
        notes = []
        if text is None:
            notes.append(f"route unresolved: {why}")
            return paths.UNRESOLVED, notes
        if entry.regex:
            text, exact = paths.django_regex_template(text)
            if not exact:
                notes.append("a regular expression route: only its named groups are kept")
            return text, notes
        return paths.django_template(text), notes

    # -- views -----------------------------------------------------------------------------------------------------
    def _view(self, entry: UrlEntry, facts: Facts, route: str, namespaces: list[str], wrappers: list[Call],
              notes: list[str]) -> None:
        index = self.index
        target = index.canon(entry.target) if not entry.target.startswith("?") else entry.target
        path = paths.normalize(route)
        name = ":".join([*namespaces, entry.name]) if entry.name else ""
        registered = f"{facts.path}:{entry.line}"
        if entry.target_kind == "viewset":
            for method, action in entry.actions:
                self._class_row(target, method, action, path, name, registered, facts, entry.line, wrappers, notes)
            return
        if target in index.classes or entry.target_kind == "class":
            methods = self._class_methods(target)
            if not methods:
                self._add(Draft("django", "ANY", path, target, facts.path, entry.line, registered, name,
                                notes=[*notes, f"`{index.short(target)}`: its HTTP methods are not known"]),
                          wrappers, None, target)
                return
            for method, _ in methods:
                self._class_row(target, method, method.lower(), path, name, registered, facts,
                                entry.line, wrappers, notes)
            return
        fn_entry = index.functions.get(target)
        fn = fn_entry[0] if fn_entry else None
        file, line = (fn_entry[1].path, fn.line) if fn_entry else (facts.path, entry.line)
        extra = [] if fn_entry else [f"the view `{target.lstrip('?')}` is not found in the checked files"]
        for method in self._function_methods(fn):
            draft = Draft("django", method, path, target, file, line, registered, name, notes=[*notes, *extra])
            self._add(draft, wrappers, fn, None)

    def _function_methods(self, fn: FunctionInfo | None) -> tuple[str, ...]:
        for deco in fn.decorators if fn else ():
            name = self.index.canon(deco.name)
            if name in METHOD_DECORATORS:
                return METHOD_DECORATORS[name]
            if name in (REQUIRE_METHODS, API_VIEW):
                given = tuple(m.upper() for v in deco.args if (m := unquote(v)))
                return given or ("GET",)
        return ("ANY",)

    def _class_methods(self, cls: str) -> list[tuple[str, str]]:
        found: dict[str, str] = {}
        for owner in self.index.lineage(cls):
            entry = self.index.classes.get(owner)
            if entry is not None:
                for method, _ in entry[0].methods:
                    if method in VIEW_HTTP_METHODS:
                        found.setdefault(method.upper(), f"{owner}.{method}")
            elif owner.startswith(LIBRARY_VIEW_PACKAGES):
                for method in LIBRARY_VIEW_METHODS.get(self.index.short(owner), ()):
                    found.setdefault(method, owner)
        return sorted(found.items())

    def _method_info(self, cls: str, method: str) -> tuple[FunctionInfo | None, Facts | None, int, str]:
        """The method's info, file, line and qualified name, from the class or its nearest project base."""
        for owner in self.index.lineage(cls):
            entry = self.index.functions.get(f"{owner}.{method}")
            if entry is not None:
                return entry[0], entry[1], entry[0].line, f"{owner}.{method}"
            info = self.index.classes.get(owner)
            for name, line in info[0].methods if info else ():
                if name == method:
                    return None, info[1], line, f"{owner}.{method}"
        return None, None, 0, ""

    def _class_row(self, cls: str, method: str, action: str, path: str, name: str, registered: str, facts: Facts,
                   line: int, wrappers: list[Call], notes: list[str], action_call: Call | None = None) -> None:
        fn, fn_facts, fn_line, handler = self._method_info(cls, action)
        cls_entry = self.index.classes.get(cls)
        if fn_facts is None:  # inherited from a library class: point at the view class, else at the registration
            fn_facts, fn_line = (cls_entry[1], cls_entry[0].line) if cls_entry else (facts, line)
            handler = cls
        extra = [] if cls_entry else [f"the view class `{cls.lstrip('?')}` is not found in the checked files"]
        draft = Draft("django", method, path, handler, fn_facts.path, fn_line, registered, name, notes=[*notes, *extra])
        self._add(draft, wrappers, fn, cls, action_call)

    # -- DRF routers -----------------------------------------------------------------------------------------------
    def _router(self, router: str, prefix: str, namespaces: list[str], wrappers: list[Call], notes: list[str]) -> None:
        index = self.index
        obj = index.objects.get(router)
        trailing = "/"
        if obj is not None:
            for key, values in obj[0].kwargs:
                if key == "trailing_slash" and values and values[0] == "False":
                    trailing = ""
        for reg, facts in self.registrations.get(router, []):
            route_prefix, why = index.join(reg.prefix)
            if route_prefix is None:
                route_prefix = paths.UNRESOLVED
            cls = index.canon(reg.viewset)
            base = f"{route_prefix}/" if route_prefix else ""
            lookup = self._lookup(cls)
            basename = reg.basename or self._basename(cls)
            registered = f"{facts.path}:{reg.line}"
            for action in self._actions(cls):
                method, detail = ACTION_ROUTES[action]
                route = f"{base}{{{lookup}}}{trailing}" if detail else f"{base.rstrip('/') + trailing if base else ''}"
                name = ":".join([*namespaces, f"{basename}-{'detail' if detail else 'list'}"])
                self._class_row(cls, method, action, paths.normalize(prefix + route), name, registered, facts,
                                reg.line, wrappers, notes)
            for action, call in self._extra_actions(cls):
                detail = (call.kwarg("detail") or ("False",))[0] == "True"
                url_path = unquote((call.kwarg("url_path") or ("",))[0]) or action
                url_name = unquote((call.kwarg("url_name") or ("",))[0]) or action.replace("_", "-")
                methods = tuple(m.upper() for v in (call.kwarg("methods") or ()) if (m := unquote(v))) or ("GET",)
                route = f"{base}{{{lookup}}}/{url_path}{trailing}" if detail else f"{base}{url_path}{trailing}"
                name = ":".join([*namespaces, f"{basename}-{url_name}"])
                for method in methods:
                    self._class_row(cls, method, action, paths.normalize(prefix + route), name, registered, facts,
                                    reg.line, wrappers, notes, action_call=call)
            if cls not in index.classes:
                self.notes.append(f"{registered}: viewset `{reg.viewset.lstrip('?')}` is not found in the checked files")

    def _actions(self, cls: str) -> list[str]:
        found: list[str] = []
        for owner in self.index.lineage(cls):
            entry = self.index.classes.get(owner)
            names = [m for m, _ in entry[0].methods] if entry else []
            if entry is None and owner.startswith("rest_framework."):
                names = list(VIEWSET_ACTIONS.get(self.index.short(owner), ()))
            found.extend(n for n in names if n in ACTION_ROUTES and n not in found)
        return sorted(found, key=list(ACTION_ROUTES).index)

    def _extra_actions(self, cls: str) -> list[tuple[str, Call]]:
        out: dict[str, Call] = {}
        for owner in self.index.lineage(cls):
            entry = self.index.classes.get(owner)
            for method, _ in entry[0].methods if entry else ():
                fn = self.index.functions.get(f"{owner}.{method}")
                for deco in fn[0].decorators if fn else ():
                    if self.index.canon(deco.name) == ACTION and method not in out:
                        out[method] = deco
        return sorted(out.items())

    def _lookup(self, cls: str) -> str:
        for attr in ("lookup_url_kwarg", "lookup_field"):
            found = self.index.class_attr(cls, attr)
            if found and found[0] and (text := unquote(found[0][0])):
                return text
        return "pk"

    def _basename(self, cls: str) -> str:
        found = self.index.class_attr(cls, "queryset")
        if found and found[0]:
            model = found[0][0].split(".objects", 1)[0].rstrip("()")
            return self.index.short(model).lower()
        return self.index.short(cls).lower()

    # -- authentication evidence ---------------------------------------------------------------------------------------
    def _add(self, draft: Draft, wrappers: list[Call], fn: FunctionInfo | None, cls: str | None,
             action: Call | None = None) -> None:
        judge, index = self.judge, self.index
        decorators = [*wrappers, *(fn.decorators if fn else ())]
        drf = cls is not None and any(c.startswith("rest_framework.") for c in index.lineage(cls))
        drf = drf or any(index.canon(d.name) == API_VIEW for d in decorators)
        if fn is not None and fn.public:
            draft.public_reason = "`# p21: public`"
        if cls is not None and (entry := index.classes.get(cls)) is not None and entry[0].public:
            draft.public_reason = "`# p21: public`"
        if cls is not None and (entry := index.classes.get(cls)) is not None:
            decorators += list(entry[0].decorators)
        for deco in decorators:
            name = index.canon(deco.name)
            if name in PUBLIC_DECORATORS:
                draft.public_reason = f"`@{index.short(name)}`"
                continue
            if name in DRF_PERMISSION_DECORATOR:
                continue  # judged with the permission classes below
            if (optional := judge.optional(deco.name)) is not None:
                draft.public_reason = draft.public_reason or optional
                continue
            why = judge.decorator(deco)
            if why is not None:
                judge.note_used(deco.name, "decorator")
                draft.evidence.append(why)
        permission = None
        if action is not None and action.kwarg("permission_classes") is not None:
            permission = (action.kwarg("permission_classes"), "@action")
        elif cls is not None:
            found = index.class_attr(cls, "permission_classes")
            if found is not None:
                permission = (found[0], f"`{index.short(found[1])}`")
        for deco in decorators:
            if permission is None and index.canon(deco.name) in DRF_PERMISSION_DECORATOR:
                permission = (deco.args, "`@permission_classes`")
        if permission is not None:
            state, why = judge.permission_classes(permission[0], draft.method)
            if state == "auth":
                draft.evidence.append(f"{why} on {permission[1]}")
            elif state == "public":
                draft.public_reason = f"{why} on {permission[1]}"
        elif drf and self.drf_default:
            state, why = judge.permission_classes(self.drf_default, draft.method)
            if state == "auth":
                draft.evidence.append(f"DEFAULT_PERMISSION_CLASSES = [{', '.join(index.short(v) for v in self.drf_default)}] in settings")
        if cls is not None and (why := judge.mixin(cls)) is not None:
            draft.evidence.append(why)
        if self.login_middleware and not draft.public_reason:
            draft.evidence.append("LoginRequiredMiddleware in settings")
        if (why := body_evidence(index, fn, judge)) is not None:
            draft.evidence.append(why)
        draft.suggestion = "drf" if drf else "django-class" if cls is not None else "django"
        self.drafts.append(draft)
