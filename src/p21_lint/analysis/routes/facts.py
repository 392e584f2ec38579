"""What one file tells the route table: small frozen records, stored in `model.Facts` and cached with it.

Names are qualified names as `FileContext.qualified_name` gives them (`app.api.deps.get_current_user`); a name
bound inside a function (an app made in a `create_app()` factory) is `module.create_app.<locals>.app`. The
project pass (table.py) follows imports between modules, so a name is recorded as the file sees it.

A URL path is recorded as `PathParts`: ("", text) for literal text, ("ref", name) for a module constant or a
settings attribute to resolve later, ("?", source) for an expression that cannot be known statically.
This module imports nothing of p21-lint, so `model.py` can name these types.
"""

from __future__ import annotations

from dataclasses import dataclass

Part = tuple[str, str]
PathParts = tuple[Part, ...]
Value = str  # a qualified name, a literal in quotes ('GET'), True/False/None, or "?"


@dataclass(frozen=True, slots=True)
class Call:
    """A decorator or a wrapper call as written: `@permission_classes([IsAuthenticated])` -> name plus args."""

    name: str  # qualified name of the callee (or of the decorator when it is not called)
    args: tuple[Value, ...] = ()  # positional arguments, lists and tuples flattened
    kwargs: tuple[tuple[str, tuple[Value, ...]], ...] = ()
    called: bool = False

    def kwarg(self, key: str) -> tuple[Value, ...] | None:
        for k, v in self.kwargs:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class ObjectDef:
    """`name = Ctor(...)`: an app, router, blueprint, namespace, security scheme, settings object, DRF router."""

    name: str
    ctor: str
    line: int
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, tuple[Value, ...]], ...] = ()
    prefix: PathParts | None = None  # prefix= / url_prefix= / path=
    dependencies: tuple[str, ...] = ()  # dependencies=[Depends(x)]


@dataclass(frozen=True, slots=True)
class RouteDecl:
    """A route registered on an app-style object: `@router.get("/x")`, `router.add_api_route(...)`,
    `app.add_url_rule(...)`, `@ns.route("/x")` on a Resource class, `router.get("/x")(fn)`."""

    owner: str  # the app / router / blueprint / namespace (qualified name, or "?" + source)
    verb: str  # get, post, ..., route, api_route, websocket, add_api_route, add_url_rule, ...
    methods: tuple[str, ...]  # methods=[...] when given, upper case
    path: PathParts
    handler: str  # qualified name of the function or class; "?" + source when unknown
    line: int  # the decorator or the call
    name: str = ""  # name= / endpoint=
    dependencies: tuple[str, ...] = ()  # dependencies=[Depends(x)] on the route
    public: bool = False  # a `# p21: public` comment
    handler_line: int = 0  # the handler's def, when it is a plain function of this file (`add_url_rule(..., fn)`)


@dataclass(frozen=True, slots=True)
class Mount:
    """`parent.include_router(child, prefix=...)`, `register_blueprint`, `add_namespace`, `mount`, `Api(bp)`.
    A parent or child that is a parameter of the enclosing function is `?param:FUNCTION:INDEX` (see HelperCall)."""

    parent: str
    child: str
    verb: str
    prefix: PathParts | None
    line: int
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HelperCall:
    """A call passing an app or router to a function (`add_versioned_routers(app, api_router)`): a `Mount` made
    inside that function on its parameters (`?param:FUNCTION:INDEX`) applies to the arguments of each such call."""

    function: str
    args: tuple[str, ...]  # positional arguments, as names ("" where not a name)
    line: int


@dataclass(frozen=True, slots=True)
class Hook:
    """`@bp.before_request` / `app.before_request(fn)`: runs before every request of its owner (of the whole app for
    a blueprint's `before_app_request`)."""

    owner: str
    function: str
    line: int
    app_wide: bool = False


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """What a function tells about authentication: as a handler, a dependency or a decorator."""

    name: str
    line: int  # 0 when not needed (a function no route can name)
    decorators: tuple[Call, ...] = ()
    depends: tuple[str, ...] = ()  # Depends(x) / Security(x) in parameters, Annotated[T, Depends(x)] included
    annotations: tuple[str, ...] = ()  # other parameter annotations: possibly aliases defined elsewhere
    # what its body (nested functions included) does about authentication: token decoders and auth-sounding calls
    # by name, "!is_authenticated" / "!has_perm" (a negated check), "401" / "403" (a refusal), "redirect-login"
    auth_calls: tuple[str, ...] = ()
    public: bool = False  # a `# p21: public` comment on the def or its decorators


@dataclass(frozen=True, slots=True)
class ClassInfo:
    """A class that may be a view: its decorators, the attributes that configure auth and routing, its methods."""

    name: str
    line: int
    decorators: tuple[Call, ...] = ()
    attrs: tuple[tuple[str, tuple[Value, ...]], ...] = ()  # permission_classes, decorators, lookup_field, ...
    methods: tuple[tuple[str, int], ...] = ()  # (name, line)
    public: bool = False

    def attr(self, key: str) -> tuple[Value, ...] | None:
        for k, v in self.attrs:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class Alias:
    """`CurrentUser = Annotated[User, Depends(get_current_user)]`: a type alias that carries dependencies."""

    name: str
    depends: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Const:
    """A module-level (or class-level) constant: a string, or a list of strings (MIDDLEWARE, permission classes).
    Dict literals are flattened: `REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]` is `module.REST_FRAMEWORK.DEFAULT_...`."""

    name: str
    value: str | tuple[str, ...]
    parts: PathParts = ()  # for a string built from other constants: `API_PREFIX = f"{BASE}/v1"`


@dataclass(frozen=True, slots=True)
class UrlEntry:
    """One `path(...)` / `re_path(...)` / `url(...)` in a Django url list, or a list spliced into it."""

    owner: str  # the list: `module.urlpatterns`, a named list, or `module.urlpatterns@LINE` for an inline include
    kind: str  # view | include | extend (urlpatterns += other)
    path: PathParts
    regex: bool
    target: str  # the view (function or class), the included module / list / router, "?" + source when unknown
    target_kind: str  # function | class | viewset | module | list | router | ?
    line: int
    name: str = ""
    namespace: str = ""
    actions: tuple[tuple[str, str], ...] = ()  # ViewSet.as_view({"get": "list"})
    wrappers: tuple[Call, ...] = ()  # login_required(views.home), csrf_exempt(...)


@dataclass(frozen=True, slots=True)
class RouterRegistration:
    """DRF `router.register(r"users", UserViewSet, basename="user")`."""

    router: str
    prefix: PathParts
    viewset: str
    line: int
    basename: str = ""


@dataclass(frozen=True, slots=True)
class ClientCall:
    """A request a test makes: `client.get(f"{settings.API_V1_STR}/users/{user.id}")`, `reverse("user-detail")`."""

    method: str  # GET, POST, ..., WEBSOCKET
    url: PathParts  # empty when the URL comes from a route name
    line: int
    route_name: str = ""  # url_for / reverse / url_path_for target
    note: str = ""
