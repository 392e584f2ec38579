"""Which dependencies, decorators, permission classes and mixins authenticate a request, and which routes are
public. Used by the route table to fill `authenticated`, `public` and `auth_evidence` for every row.

A dependency authenticates when it is configured as such (`auth-dependencies`), is a `fastapi.security` scheme,
depends on one (through type aliases and other dependencies, transitively), decodes or verifies a token, checks
`is_authenticated`, refuses with 401/403, or comes from a known auth library. A dependency that cannot be read
(defined outside the project) authenticates when its name says so (`get_current_user`, `require_admin`):
evidence "by name".
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from p21_lint.analysis.routes.exprs import OPTIONAL
from p21_lint.analysis.routes.facts import Call
from p21_lint.analysis.routes.index import Index
from p21_lint.analysis.routes.symbols import TOKEN_CALLS

SECURITY_SCHEMES = frozenset({"OAuth2PasswordBearer", "OAuth2AuthorizationCodeBearer", "OAuth2", "HTTPBearer",
                              "HTTPBasic", "HTTPDigest", "HTTPBase", "APIKeyHeader", "APIKeyCookie", "APIKeyQuery",
                              "OpenIdConnect"})
AUTH_PROVIDERS = ("fastapi_users.FastAPIUsers.current_user", "fastapi_users.fastapi_users.FastAPIUsers.current_user",
                  "fastapi_jwt_auth.AuthJWT", "fastapi_jwt_auth.auth_jwt.AuthJWT", "async_fastapi_jwt_auth.AuthJWT",
                  "fastapi_another_jwt_auth.AuthJWT", "fastapi_login.LoginManager", "fastapi_azure_auth.")
AUTH_DECORATORS = frozenset({
    "flask_login.login_required", "flask_login.utils.login_required", "flask_login.fresh_login_required",
    "flask_jwt_extended.jwt_required", "flask_jwt_extended.view_decorators.jwt_required",
    "flask_jwt_extended.fresh_jwt_required", "flask_jwt.jwt_required", "flask_security.auth_required",
    "flask_security.login_required", "flask_security.roles_required", "flask_security.roles_accepted",
    "flask_security.permissions_required", "flask_security.permissions_accepted", "flask_security.auth_token_required",
    "flask_security.http_auth_required", "flask_praetorian.auth_required", "flask_praetorian.roles_required",
    "flask_praetorian.roles_accepted", "flask_user.login_required", "flask_user.roles_required",
    "django.contrib.auth.decorators.login_required", "django.contrib.auth.decorators.permission_required",
    "django.contrib.auth.decorators.user_passes_test",
    "django.contrib.admin.views.decorators.staff_member_required",
})
PUBLIC_DECORATORS = frozenset({"django.contrib.auth.decorators.login_not_required"})
AUTH_MIXINS = frozenset({
    "django.contrib.auth.mixins.LoginRequiredMixin", "django.contrib.auth.mixins.PermissionRequiredMixin",
    "django.contrib.auth.mixins.UserPassesTestMixin", "django.contrib.auth.mixins.AccessMixin",
    "braces.views.LoginRequiredMixin", "braces.views.PermissionRequiredMixin", "braces.views.StaffuserRequiredMixin",
    "braces.views.SuperuserRequiredMixin", "braces.views.GroupRequiredMixin",
    "flask_login.mixins.LoginRequiredMixin",
})
# objects whose `login_required` authenticates (flask_httpauth's HTTPBasicAuth / HTTPTokenAuth, ...)
AUTH_OBJECT_PACKAGES = ("flask_httpauth.", "flask_login.", "flask_security.", "flask_jwt_extended.", "flask_praetorian.")
METHOD_DECORATOR = frozenset({"django.utils.decorators.method_decorator"})
DRF_PERMISSION_DECORATOR = frozenset({"rest_framework.decorators.permission_classes"})
LOGIN_CHECKS = frozenset({"!is_authenticated", "!has_perm", "!has_perms"})  # negated: `if not ...: refuse`
REFUSAL_MARKS = frozenset({"401", "403", "redirect-login"})
ALLOW_ANY = "AllowAny"
READ_ONLY_PUBLIC = frozenset({"IsAuthenticatedOrReadOnly", "DjangoModelPermissionsOrAnonReadOnly"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# libraries whose names may sound like auth but are not (`OAuth2PasswordRequestForm` is the login form)
NOT_AUTH_PACKAGES = ("fastapi.", "starlette.", "pydantic.", "sqlalchemy.", "sqlmodel.", "typing.", "builtins.")
LOGIN_REQUIRED_MIDDLEWARE = "django.contrib.auth.middleware.LoginRequiredMiddleware"
DRF_ROOT = "rest_framework."

# names that say "authentication", for what cannot be read (a dependency or decorator from another package)
AUTH_DEPENDENCY_NAME = re.compile(
    r"(current_?\w*user|authenticat|auth|jwt|token|api_?key|login|oauth|permission|require_\w*(user|admin|role|scope)"
    r"|verify|superuser|admin|role|scope|credential|principal|session_user)", re.IGNORECASE)
AUTH_DECORATOR_NAME = re.compile(
    r"((login|auth|jwt|token|permission|permissions|role|roles|admin|staff|superuser|user|scope|scopes)_(required|accepted|only)"
    r"|requires?_(auth|login|role|roles|permission|permissions|admin|user|scope|scopes|token)\w*"
    r"|^(authenticated|protected|restricted|authorize|authorized)$)", re.IGNORECASE)
# the usual public endpoints: a path segment equal to one of these (or starting with one and a dash, as in
# `reset-password-request`; underscores count as dashes) makes the route public by default
DEFAULT_PUBLIC_SEGMENTS = frozenset({
    "login", "signin", "sign-in", "sign_in", "signup", "sign-up", "sign_up", "register", "registration",
    "token", "access-token", "refresh", "refresh-token", "health", "healthz", "health-check", "healthcheck", "livez",
    "readyz", "ping", "docs", "redoc", "openapi", "openapi.json", "swagger", "swagger.json",
    "password-recovery", "password-reset", "reset-password", "forgot-password", "verify-email", "logout",
    "oauth", "oauth2", "sso", ".well-known",
})


@dataclass(frozen=True)
class AuthSettings:
    public: tuple[str, ...] = ()  # "/health", "POST /auth/login", globs
    auth_dependencies: tuple[str, ...] = ()  # qualified or bare names
    public_defaults: bool = True


def _configured(name: str, configured: tuple[str, ...]) -> bool:
    short = name.rsplit(".", 1)[-1]
    return any(name == c or short == c or name.endswith("." + c) for c in configured)


class AuthJudge:
    def __init__(self, index: Index, settings: AuthSettings) -> None:
        self.index = index
        self.settings = settings
        self._deps: dict[str, str | None] = {}
        self._funcs: dict[str, str | None] = {}
        self.used: dict[str, int] = {}  # auth dependencies / aliases / decorators seen on routes, for suggestions
        self._optional: dict[str, str | None] = {}

    # -- optional authentication: public by design ---------------------------------------------------------------
    def optional(self, name: str) -> str | None:
        """Why a dependency or decorator makes authentication optional (`jwt_optional`,
        `get_current_user_authorizer(required=False)`, `login_required(optional=True)`): the route serves anonymous
        requests on purpose. None when it does not."""
        bare = name.removesuffix(OPTIONAL).lstrip("?")
        canon = self.index.canon(bare)
        short = self.index.short(canon)
        if name.endswith(OPTIONAL):
            return f"authentication is optional (`{short}(...)` with required=False / optional=True)"
        if "optional" in short.lower() and AUTH_DEPENDENCY_NAME.search(short.lower().replace("optional", "")):
            return f"authentication is optional (`{short}`)"
        if canon in self._optional:
            return self._optional[canon]
        self._optional[canon] = None  # a cycle is no evidence
        entry = self.index.functions.get(canon)  # a dependency that itself takes an optional user (and no other)
        depends = entry[0].depends if entry else ()
        if not any(self.dependency(dep) is not None for dep in depends):
            for dep in depends:
                if (why := self.optional(dep)) is not None:
                    self._optional[canon] = f"{why} through `{short}`"
                    break
        return self._optional[canon]

    # -- FastAPI dependencies --------------------------------------------------------------------------------------
    def dependency(self, name: str) -> str | None:
        """Evidence that dependency `name` authenticates the request, or None."""
        if name.startswith("?") or name.endswith(OPTIONAL):
            return None
        canon = self.index.canon(name)
        if canon in self._deps:
            return self._deps[canon]
        self._deps[canon] = None  # a cycle is no evidence
        found = self._dependency(canon)
        self._deps[canon] = found
        return found

    def _dependency(self, canon: str) -> str | None:
        index, short = self.index, self.index.short(canon)
        if _configured(canon, self.settings.auth_dependencies):
            return f"`{short}` (auth-dependencies)"
        if _scheme(canon):
            return f"security scheme `{short}`"
        if any(canon.startswith(p) for p in AUTH_PROVIDERS):
            return f"`{short}`"
        alias = index.aliases.get(canon)
        if alias is not None:
            for dep in alias.depends:
                if (why := self.dependency(dep)) is not None:
                    return f"`{short}` → {why}"
            return None
        entry = index.objects.get(canon)
        if entry is not None:
            ctor = index.canon(entry[0].ctor)
            if _scheme(ctor) or any(_scheme(c) for c in index.ancestors(ctor)):
                return f"security scheme `{short}` ({index.short(ctor)})"
            if any(ctor.startswith(p) for p in AUTH_PROVIDERS):
                return f"`{short}` ({index.short(ctor)})"
            if ctor in index.classes or ctor in index.bases:
                return self.dependency(ctor)
            if ctor in index.functions and (why := self.function(ctor)) is not None:  # made by a dependency factory
                return f"`{short}` = {why}"
            if AUTH_DEPENDENCY_NAME.search(index.short(ctor)) and not ctor.startswith(NOT_AUTH_PACKAGES):
                return f"`{short}` = `{index.short(ctor)}(...)` (by name)"
            base = ctor.rpartition(".")[0]  # fastapi_users.current_user(...) made by a method of an auth object
            if base and (owner := index.objects.get(index.canon(base))) is not None:
                if any(index.canon(owner[0].ctor).startswith(p.rsplit(".", 1)[0]) for p in AUTH_PROVIDERS):
                    return f"`{short}` ({index.short(base)})"
        if canon in index.classes or canon in index.bases:
            if any(_scheme(c) for c in index.ancestors(canon)):
                return f"`{short}` (a security scheme)"
            for method in ("__call__", "__init__"):
                if (why := self.function(f"{canon}.{method}")) is not None:
                    return why
        if canon in index.functions:
            return self.function(canon)
        base = canon.rpartition(".")[0]
        if base and (owner := index.objects.get(index.canon(base))) is not None:  # auth.current_user of a provider
            if any(index.canon(owner[0].ctor).startswith(p.rsplit(".", 1)[0]) for p in AUTH_PROVIDERS):
                return f"`{short}`"
        if AUTH_DEPENDENCY_NAME.search(short) and not canon.startswith(NOT_AUTH_PACKAGES):
            return f"`{short}` (by name)"
        return None

    def function(self, name: str) -> str | None:
        """Evidence that a project function (a dependency, a decorator, a before_request hook) authenticates."""
        canon = self.index.canon(name)
        if canon in self._funcs:
            return self._funcs[canon]
        self._funcs[canon] = None
        found = self._function(canon)
        self._funcs[canon] = found
        return found

    def _function(self, canon: str) -> str | None:
        index = self.index
        entry = index.functions.get(canon)
        if entry is None:
            return None
        fn, _ = entry
        short = index.short(canon)
        if _configured(canon, self.settings.auth_dependencies):
            return f"`{short}` (auth-dependencies)"
        for dep in (*fn.depends, *fn.annotations):
            if dep in fn.annotations and index.canon(dep) not in index.aliases:
                continue
            if (why := self.dependency(dep)) is not None:
                return f"`{short}` → {why}"
        if (why := self.body(fn.auth_calls, canon, handler=False)) is not None:
            return f"`{short}` → {why}"
        for deco in fn.decorators:
            if (why := self.decorator(deco)) is not None:
                return f"`{short}` → {why}"
        if AUTH_DEPENDENCY_NAME.search(short) and re.search(r"user|auth|token|login|permission|admin|key", short, re.I):
            return f"`{short}` (by name)"
        return None

    def body(self, calls: tuple[str, ...], owner: str, handler: bool) -> str | None:
        """Evidence in a function body: a token decoded, a login check that refuses (`if not
        current_user.is_authenticated: abort(401)`), a call to an auth function. A dependency, hook or decorator
        that refuses with 401/403 or redirects to the login page authenticates; a handler needs more, since it may
        refuse for other reasons (a permission on an object it loaded)."""
        refusals = [c for c in calls if c in REFUSAL_MARKS]
        checks = [c for c in calls if c in LOGIN_CHECKS]
        tokens = [c for c in calls if c in TOKEN_CALLS]
        if tokens:
            return f"calls `{tokens[0]}`"
        if checks and refusals:
            return f"checks `{checks[0][1:]}` and {_describe(refusals[0])}"
        if refusals and not handler:
            return _describe(refusals[0])
        for call in calls:
            if call in REFUSAL_MARKS or call in LOGIN_CHECKS:
                continue
            callee = self.index.canon(call)
            if callee in self.index.functions:
                if callee != owner and (why := self.function(callee)) is not None:
                    return why
            else:
                return f"calls `{self.index.short(call)}`"
        return None

    # -- decorators, permission classes, mixins (Flask, Django, DRF) ---------------------------------------------------
    def _auth_object(self, name: str) -> bool:
        """An instance of an auth library's class: flask_httpauth's `HTTPTokenAuth()`, flask-login's manager."""
        owner = self.index.objects.get(self.index.canon(name))
        return owner is not None and self.index.canon(owner[0].ctor).startswith(AUTH_OBJECT_PACKAGES)

    def decorator(self, call: Call) -> str | None:
        if call.name.endswith(OPTIONAL):
            return None
        name = self.index.canon(call.name.lstrip("?"))
        short = self.index.short(name)
        if _configured(name, self.settings.auth_dependencies) or name in AUTH_DECORATORS:
            return f"`@{short}`"
        base, _, attr = name.rpartition(".")
        if base and attr in ("login_required", "auth_required", "jwt_required") and self._auth_object(base):
            return f"`@{self.index.short(base)}.{attr}`"  # flask_httpauth: token_auth.login_required
        auth_args = [a for a in call.args if self._auth_object(a)]
        if auth_args:  # apifairy's `@authenticate(token_auth)`
            return f"`@{short}({self.index.short(auth_args[0])})`"
        if name in DRF_PERMISSION_DECORATOR:
            state, why = self.permission_classes(call.args)
            return why if state == "auth" else None
        if name in METHOD_DECORATOR and call.args:
            return self.decorator(Call(call.args[0].rstrip("()"), called=call.args[0].endswith("()")))
        if name in self.index.functions and (why := self.function(name)) is not None:
            return f"`@{why[1:]}" if why.startswith("`") else why
        if AUTH_DECORATOR_NAME.search(short):
            return f"`@{short}` (by name)"
        return None

    def permission_classes(self, values: tuple[str, ...], method: str = "ANY") -> tuple[str, str]:
        """("auth" | "public" | "none", evidence) for a DRF permission_classes list, for a request of `method`."""
        names = [v.rstrip("()") for v in values]
        shorts = [n.rsplit(".", 1)[-1].strip("'\"") for n in names]
        if names and all(s == ALLOW_ANY for s in shorts):
            return "public", "permission_classes = [AllowAny]"
        if names and method in SAFE_METHODS and all(s in READ_ONLY_PUBLIC or s == ALLOW_ANY for s in shorts):
            return "public", f"permission_classes = [{', '.join(shorts)}]: reads are public"
        if names and not any(n.startswith("?") for n in names):
            return "auth", "permission_classes = [" + ", ".join(self.index.short(n.strip("'\"")) for n in names) + "]"
        if names:
            return "auth", "permission_classes set"
        return "none", "permission_classes = [] (no permission required)"

    def mixin(self, class_name: str) -> str | None:
        for base in self.index.ancestors(class_name):
            if base in AUTH_MIXINS or _configured(base, self.settings.auth_dependencies):
                return f"`{self.index.short(base)}`"
        return None

    # -- what to suggest -------------------------------------------------------------------------------------------
    def note_used(self, name: str, where: str) -> None:
        """Count an auth dependency or decorator seen on a route, to suggest the project's own in messages."""
        canon = self.index.canon(name.lstrip("?"))
        kind = "alias" if canon in self.index.aliases else "decorator" if where == "decorator" else "dependency"
        key = f"{kind}:{canon}"
        self.used[key] = self.used.get(key, 0) + 1

    def _favourite(self, kind: str) -> str | None:
        """The most used of a kind, preferring names that say authentication (`CurrentUser` over `CommonParams`)."""
        found = sorted((not AUTH_DEPENDENCY_NAME.search(k.rsplit(".", 1)[-1]), -n, k)
                       for k, n in self.used.items() if k.startswith(kind + ":"))
        return found[0][2].split(":", 1)[1] if found else None

    def suggestion(self, kind: str) -> str:
        """What to add to a route of `kind` (fastapi, flask, flask-class, django, django-class, drf), in the
        project's own terms when it has some."""
        if kind == "fastapi":
            alias, dep = self._favourite("alias"), self._favourite("dependency")
            if alias is None and dep is None:
                return ("add a dependency that authenticates the caller, e.g. a parameter "
                        "`current_user: User = Depends(get_current_user)` where `get_current_user` reads an "
                        "`OAuth2PasswordBearer` token, or `dependencies=[Depends(get_current_user)]`")
            if alias is not None and self.index.aliases[alias].depends:  # the alias's own dependency: the plain one
                dep = self.index.aliases[alias].depends[0]
            parts = []
            if alias is not None:
                short = self.index.short(alias)
                parts.append(f"a parameter `{_param_name(short)}: {short}`")
            if dep is not None:
                parts.append(f"`dependencies=[Depends({self.index.short(dep)})]`")
            return "add " + " or ".join(parts)
        if kind == "drf":
            return "set `permission_classes = [IsAuthenticated]` (or a stricter permission)"
        decorator = self._favourite("decorator")
        decorator = self.index.short(decorator) if decorator else None
        if kind == "django-class":
            return "add `LoginRequiredMixin` as the first base class (or `@method_decorator(login_required, name=\"dispatch\")`)"
        if kind == "flask-resource":
            return f"add `method_decorators = [{decorator or 'login_required'}]` to the resource class"
        if kind == "flask-class":
            return f"add `decorators = [{decorator or 'login_required'}]` to the view class"
        return f"add `@{decorator or 'login_required'}`"

    # -- public routes -----------------------------------------------------------------------------------------------
    def public_reason(self, method: str, path: str) -> str | None:
        for pattern in self.settings.public:
            verb, _, glob = pattern.strip().partition(" ")
            if not glob:
                verb, glob = "", verb
            if verb and verb.upper() not in (method, "ANY") and method != "ANY":
                continue
            if fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(path.rstrip("/") or "/", glob.rstrip("/") or "/"):
                return f"public = [\"{pattern}\"] in config"
        if self.settings.public_defaults:
            segments = [s.lower().replace("_", "-") for s in path.split("/") if s and not s.startswith("{")]
            usual = [s for s in segments if s in DEFAULT_PUBLIC_SEGMENTS
                     or any(s.startswith(d + "-") for d in DEFAULT_PUBLIC_SEGMENTS if d != "token")]
            if usual:
                return f"a usual public endpoint (`{usual[-1]}`)"
            if path == "/" and method in ("GET", "HEAD", "ANY"):
                return "the site root"
        return None


def _scheme(name: str) -> bool:
    return name.startswith("fastapi.security.") and name.rsplit(".", 1)[-1] in SECURITY_SCHEMES


def _describe(call: str) -> str:
    if call in ("401", "403"):
        return f"refuses with {call}"
    if call == "redirect-login":
        return "redirects to the login page"
    return f"calls `{call}`"


def _param_name(alias: str) -> str:
    """`CurrentUser` -> `current_user`."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", alias).lower()
    return snake.removesuffix("_dep") if snake != "_dep" else "user"
