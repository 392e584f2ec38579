"""Routes of app-style frameworks (FastAPI / Starlette, Flask, flask-restx / flask-restful): the objects routes are
registered on, the mount graph between them (`include_router`, `register_blueprint`, `add_namespace`, `mount`,
`Api(app)`), and one row per route, method and mount path, with its prefixes and dependencies chained.

FastAPI joins prefixes by concatenation (`include_router` prefix + router prefix + route path); Flask joins with
exactly one slash, and a `register_blueprint(url_prefix=...)` replaces the blueprint's own prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from p21_lint.analysis.routes import paths
from p21_lint.analysis.routes.auth import AuthJudge
from p21_lint.analysis.routes.exprs import unquote
from p21_lint.analysis.routes.facts import Call, HelperCall, Mount, ObjectDef, PathParts, RouteDecl
from p21_lint.analysis.routes.index import Index
from p21_lint.analysis.routes.registrations import HTTP_VERBS, ROUTE_VERBS
from p21_lint.analysis.routes.rows import Draft, body_evidence, handler_location
from p21_lint.model import Facts

KINDS = {
    "fastapi-app": {"fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette"},
    "fastapi-router": {"fastapi.APIRouter", "fastapi.routing.APIRouter", "starlette.routing.Router"},
    "flask-app": {"flask.Flask", "flask.app.Flask", "apiflask.APIFlask", "quart.Quart"},
    "blueprint": {"flask.Blueprint", "flask.blueprints.Blueprint", "apiflask.APIBlueprint", "flask_smorest.Blueprint",
                  "quart.Blueprint"},
    "api": {"flask_restx.Api", "flask_restplus.Api", "flask_restful.Api"},
    "namespace": {"flask_restx.Namespace", "flask_restplus.Namespace"},
}
BY_NAME = {"APIRouter": "fastapi-router", "FastAPI": "fastapi-app", "Blueprint": "blueprint", "Flask": "flask-app"}
FRAMEWORK = {"fastapi-app": "fastapi", "fastapi-router": "fastapi", "flask-app": "flask", "blueprint": "flask",
             "api": "flask", "namespace": "flask"}
APPS = ("fastapi-app", "flask-app")
NOT_ROUTERS = ("starlette.staticfiles.", "fastapi.staticfiles.", "flask.", "werkzeug.")
CLASS_VIEW_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


PARAM = "?param:"


def _substitute(m: Mount, calls: dict[str, list[HelperCall]]) -> list[Mount]:
    """The mounts a helper's `include_router(param)` makes, with the arguments of every call of the helper."""
    out = []
    function = (m.parent if m.parent.startswith(PARAM) else m.child)[len(PARAM):].rpartition(":")[0]
    for call in calls.get(function, []):
        names = []
        for end in (m.parent, m.child):
            if end.startswith(PARAM):
                index = int(end.rpartition(":")[2])
                end = call.args[index] if index < len(call.args) else ""
            names.append(end)
        if all(names):
            out.append(replace(m, parent=names[0], child=names[1]))
    return out


@dataclass
class Node:
    name: str
    kind: str
    obj: ObjectDef | None
    facts: Facts | None
    prefix: PathParts | None
    label: str = ""  # blueprint / namespace name, for endpoint names
    edges: list[Edge] = field(default_factory=list)
    incoming: int = 0


@dataclass
class Edge:
    child: str
    verb: str
    prefix: PathParts | None
    dependencies: tuple[str, ...]
    where: str


@dataclass
class Context:
    """One way of reaching a node from an app: the prefixes on the way, dependencies, hooks, blueprint names."""

    prefixes: list[tuple[str, PathParts]]  # (framework join, parts)
    dependencies: list[tuple[str, str]]  # (dependency, where it is declared)
    hooks: list[tuple[str, str]]  # (function, owner)
    labels: list[str]
    chain: list[str]
    mounted: bool


class AppRoutes:
    def __init__(self, index: Index, judge: AuthJudge) -> None:
        self.index = index
        self.judge = judge
        self.notes: list[str] = []
        self.nodes: dict[str, Node] = {}
        self.hooks: dict[str, list[tuple[str, str]]] = {}  # owner -> (function, where)
        self.app_hooks: dict[str, list[tuple[str, str]]] = {}  # a blueprint's before_app_request: for its whole app
        self.kind_sets = {kind: index.subclasses(set(ctors)) for kind, ctors in KINDS.items()}

    def kind(self, ctor: str) -> str | None:
        ctor = self.index.canon(ctor)
        for kind, ctors in self.kind_sets.items():
            if ctor in ctors:
                return kind
        # a router class made by a factory (`APIRouter = get_api_router_class(APIRoute)`) cannot be followed:
        # its name tells what it is
        return BY_NAME.get(self.index.short(ctor)) if ctor in self.index.objects else None

    # -- the graph -------------------------------------------------------------------------------------------------
    def _nodes(self) -> None:
        index = self.index
        for name, (obj, facts) in index.objects.items():
            kind = self.kind(obj.ctor)
            label = unquote(obj.args[0]) if obj.args else None
            if kind is None:
                base, _, method = index.canon(obj.ctor).rpartition(".")
                owner = index.objects.get(index.canon(base)) if base else None
                if method == "namespace" and owner is not None and self.kind(owner[0].ctor) == "api":
                    kind = "namespace"  # ns = api.namespace("users", path="/users")
            if kind is None:
                continue
            if kind == "namespace" and obj.prefix is None:
                prefix: PathParts | None = (("", "/" + (label or "")),)
            else:
                prefix = obj.prefix
            self.nodes[name] = Node(name, kind, obj, facts, prefix, label or "")

    def _edges(self, files: list[Facts]) -> None:
        index = self.index
        for node in list(self.nodes.values()):
            obj = node.obj
            if node.kind == "api" and obj is not None and obj.args:  # Api(app) / Api(blueprint)
                self._edge(index.canon(obj.args[0]), node.name, "api", None, (), f"{node.facts.path}:{obj.line}")
            if node.kind == "namespace" and obj is not None and not self.kind(obj.ctor):
                base = index.canon(index.canon(obj.ctor).rpartition(".")[0])
                self._edge(base, node.name, "add_namespace", node.prefix, (), f"{node.facts.path}:{obj.line}")
        calls: dict[str, list[HelperCall]] = {}
        for facts in files:
            for c in facts.route_helper_calls:
                calls.setdefault(index.canon(c.function), []).append(c)
        for facts in files:
            for m in facts.route_mounts:
                if m.parent.startswith(PARAM) or m.child.startswith(PARAM):
                    for concrete in _substitute(m, calls):  # a mount inside a helper: once per call of it
                        self._mount(concrete, facts)
                else:
                    self._mount(m, facts)

    def _mount(self, m: Mount, facts: Facts) -> None:
        index = self.index
        where = f"{facts.path}:{m.line}"
        parent, child = index.canon(m.parent), index.canon(m.child.rstrip("()"))
        if m.verb == "init_app":  # api.init_app(app): only an Api is mounted that way
            if child in self.nodes and self.nodes[child].kind == "api":
                self._edge(parent, child, "api", None, (), where)
            return
        if parent not in self.nodes:
            return  # include_router on something that is no app: not a route table matter
        if child not in self.nodes:
            if not child.startswith(NOT_ROUTERS):
                self.notes.append(f"{where}: `{m.verb}({index.short(m.child)})` mounts something that is not a "
                                  "router found in the project; its routes are not listed")
            return
        self._edge(parent, child, m.verb, m.prefix, m.dependencies, where)

    def _edge(self, parent: str, child: str, verb: str, prefix: PathParts | None, deps: tuple[str, ...], where: str) -> None:
        if parent not in self.nodes or child not in self.nodes:
            return
        self.nodes[parent].edges.append(Edge(child, verb, prefix, deps, where))
        self.nodes[child].incoming += 1

    def _contexts(self) -> dict[str, list[Context]]:
        """Every way each node is reached from an app; a router no app reaches gets one unmounted context."""
        out: dict[str, list[Context]] = {}

        def walk(name: str, ctx: Context) -> None:
            out.setdefault(name, []).append(ctx)
            for edge in self.nodes[name].edges:
                if edge.child in ctx.chain or len(ctx.chain) > 20:
                    continue
                child = self.nodes[edge.child]
                deps = [(d, f"`{edge.verb}` at {edge.where}") for d in edge.dependencies]
                walk(edge.child, Context(
                    prefixes=ctx.prefixes + self._prefixes(edge, child),
                    dependencies=ctx.dependencies + deps + self._own_deps(child),
                    hooks=ctx.hooks + self._hooks(child),
                    labels=ctx.labels + ([child.label] if child.kind == "blueprint" and child.label else []),
                    chain=ctx.chain + [edge.child],
                    mounted=ctx.mounted,
                ))

        roots = [n for n in self.nodes.values() if n.kind in APPS and n.incoming == 0]  # a mounted sub-app is no root
        for node in roots:
            app_wide = [h for name in self._reachable(node.name) for h in self.app_hooks.get(name, [])]
            walk(node.name, Context([], self._own_deps(node), self._hooks(node) + app_wide, [], [node.name], True))
        for node in self.nodes.values():
            if node.name not in out and node.incoming == 0:
                join = "flask" if FRAMEWORK[node.kind] == "flask" else "fastapi"
                prefixes = [(join, node.prefix)] if node.prefix else []
                labels = [node.label] if node.kind == "blueprint" and node.label else []
                walk(node.name, Context(prefixes, self._own_deps(node), self._hooks(node), labels, [node.name], False))
        return out

    def _reachable(self, name: str) -> list[str]:
        seen, todo = [name], [name]
        while todo:
            for edge in self.nodes[todo.pop()].edges:
                if edge.child not in seen:
                    seen.append(edge.child)
                    todo.append(edge.child)
        return seen

    def _prefixes(self, edge: Edge, child: Node) -> list[tuple[str, PathParts]]:
        if edge.verb in ("register_blueprint", "add_namespace"):  # the mount's prefix replaces the child's own
            chosen = edge.prefix if edge.prefix is not None else child.prefix
            return [("flask", chosen)] if chosen else []
        out = []
        if edge.prefix:
            out.append(("fastapi" if edge.verb != "api" else "flask", edge.prefix))
        if child.prefix:
            out.append(("fastapi" if FRAMEWORK[child.kind] == "fastapi" else "flask", child.prefix))
        return out

    def _own_deps(self, node: Node) -> list[tuple[str, str]]:
        if node.obj is None or not node.obj.dependencies:
            return []
        where = f"`{self.index.short(node.name)}` at {node.facts.path}:{node.obj.line}"
        return [(d, where) for d in node.obj.dependencies]

    def _hooks(self, node: Node) -> list[tuple[str, str]]:
        return self.hooks.get(node.name, [])

    # -- rows ------------------------------------------------------------------------------------------------------
    def rows(self, files: list[Facts]) -> list[Draft]:
        index = self.index
        self._nodes()
        self._edges(files)
        for facts in files:
            for h in facts.route_hooks:
                hooks = self.app_hooks if h.app_wide else self.hooks
                hooks.setdefault(index.canon(h.owner), []).append((h.function, f"{facts.path}:{h.line}"))
        contexts = self._contexts()
        drafts: list[Draft] = []
        for facts in files:
            for decl in facts.route_decls:
                owner = index.canon(decl.owner)
                node = self.nodes.get(owner)
                known = index.objects.get(owner)
                if node is None and known is not None:  # Slack Bolt's app.options(...), a cache's .get(...)
                    self.notes.append(f"{facts.path}:{decl.line}: `{index.short(owner)}.{decl.verb}(...)` is not listed: "
                                      f"`{index.short(owner)}` is a `{index.canon(known[0].ctor)}`, not a web app or router")
                    continue
                if node is None:
                    framework = "flask" if decl.verb in ("route", "add_url_rule", "add_resource") else "fastapi"
                    ctx = Context([], [], [], [], [], False)
                    note = f"registered on `{decl.owner.lstrip('?')}`, which is not an app or router found in the project"
                    drafts.extend(self._rows(decl, facts, framework, ctx, [note]))
                    continue
                for ctx in contexts.get(owner, []):
                    notes = [] if ctx.mounted else [
                        f"`{index.short(ctx.chain[0])}` is never mounted on an app (no include_router / "
                        "register_blueprint reaches it)"
                    ]
                    drafts.extend(self._rows(decl, facts, FRAMEWORK[node.kind], ctx, notes))
        return drafts

    def _rows(self, decl: RouteDecl, facts: Facts, framework: str, ctx: Context, notes: list[str]) -> list[Draft]:
        index = self.index
        path, path_notes = self._path(ctx, decl, framework)
        handler = index.canon(decl.handler) if not decl.handler.startswith("?") else decl.handler
        methods = self._methods(decl, handler, framework)
        registered = f"{facts.path}:{decl.line}"
        out = []
        for method, method_handler in methods:
            file, line, fn = handler_location(index, method_handler, facts, decl.handler_line or decl.line)
            name = decl.name or index.short(handler)
            if framework == "flask" and not decl.name:
                name = ".".join([*ctx.labels, index.short(handler)])
            draft = Draft(framework, method, path, method_handler, file, line, registered, name,
                          notes=[*notes, *path_notes],
                          decl_line=decl.line if file == facts.path and decl.line <= line else 0)
            if handler.startswith("?"):
                draft.notes.append(f"the handler `{handler[1:]}` cannot be followed statically")
            self._evidence(draft, decl, fn, handler, ctx, framework)
            out.append(draft)
        return out

    def _path(self, ctx: Context, decl: RouteDecl, framework: str) -> tuple[str, list[str]]:
        notes: list[str] = []
        text = ""
        for join, parts in [*ctx.prefixes, (framework, decl.path)]:
            piece = self._resolve(parts, notes)
            text = paths.join_slash(text, piece) if join == "flask" else text + piece
        if framework == "flask":
            text = paths.flask_template(text)
        return paths.normalize(text or "/"), notes

    def _resolve(self, parts: PathParts, notes: list[str]) -> str:
        out = []
        for kind, text in parts:
            if kind == "":
                out.append(text)
                continue
            value, why = self.index.resolve(text) if kind == "ref" else (None, f"`{text}` cannot be known statically")
            if value is None:
                out.append(paths.UNRESOLVED)
                notes.append(f"prefix `{self.index.short(text) if kind == 'ref' else text}` unresolved: {why}")
            else:
                out.append(value)
                if why:
                    notes.append(why)
        return "".join(out)

    def _methods(self, decl: RouteDecl, handler: str, framework: str) -> list[tuple[str, str]]:
        """(method, handler) pairs: a class-based view routes each HTTP method to its own method."""
        cls = self.index.classes.get(handler)
        if cls is not None:  # MethodView / Resource: the methods it defines, own or inherited
            found: dict[str, str] = {}
            for owner in self.index.lineage(handler):
                entry = self.index.classes.get(owner)
                for method, _ in entry[0].methods if entry else ():
                    if method in CLASS_VIEW_METHODS and method.upper() not in found:
                        found[method.upper()] = f"{owner}.{method}"
            if decl.methods:
                return [(m, found.get(m, handler)) for m in decl.methods]
            return sorted(found.items()) or [("ANY", handler)]
        verb = decl.verb
        if verb in HTTP_VERBS:
            return [(verb.upper(), handler)]
        if verb in ("websocket", "websocket_route", "add_api_websocket_route", "add_websocket_route"):
            return [("WEBSOCKET", handler)]
        return [(m, handler) for m in (decl.methods or ("GET",))]

    # -- authentication evidence ---------------------------------------------------------------------------------------
    def _evidence(self, draft: Draft, decl: RouteDecl, fn, handler: str, ctx: Context, framework: str) -> None:
        judge, index = self.judge, self.index
        if decl.public or (fn is not None and fn.public):
            draft.public_reason = "`# p21: public`"
        deps = [(d, "route") for d in decl.dependencies]
        if fn is not None:
            deps += [(d, "parameter") for d in fn.depends]
            deps += [(a, "parameter") for a in fn.annotations if index.canon(a) in index.aliases]
        owner_class = handler.rpartition(".")[0]
        if owner_class in index.classes:  # a method of a class-based view (fastapi-utils @cbv): class attributes
            for cls in index.lineage(owner_class):
                entry = index.classes.get(cls)
                for key, values in entry[0].attrs if entry else ():
                    if key == "__depends__":
                        deps += [(d, f"class attribute of `{index.short(cls)}`") for d in values]
        optional = []  # dependencies or decorators that make authentication optional: public, unless others require it
        for dep, where in [*deps, *ctx.dependencies]:
            if (reason := judge.optional(dep)) is not None:
                optional.append(reason)
                continue
            why = judge.dependency(dep)
            if why is not None:
                judge.note_used(dep, where)
                draft.evidence.append(f"{why} ({where})")
        if fn is not None:
            for deco in fn.decorators:
                if deco.name.rsplit(".", 1)[-1] in ROUTE_VERBS:  # the route decorators themselves
                    continue
                if (reason := judge.optional(deco.name)) is not None:
                    optional.append(reason)
                    continue
                why = judge.decorator(deco)
                if why is not None:
                    judge.note_used(deco.name, "decorator")
                    draft.evidence.append(why)
        cls_name = handler if handler in index.classes else None
        if cls_name is not None:
            for attr in ("decorators", "method_decorators"):
                found = index.class_attr(cls_name, attr)
                for value in found[0] if found else ():
                    why = judge.decorator(Call(value.rstrip("()"), called=value.endswith("()")))
                    if why is not None:
                        judge.note_used(value.rstrip("()"), "decorator")
                        draft.evidence.append(f"{why} in `{attr}` of `{index.short(found[1])}`")
            if (why := judge.mixin(cls_name)) is not None:
                draft.evidence.append(why)
        for hook, where in ctx.hooks:
            why = judge.function(hook)
            if why is not None:
                draft.evidence.append(f"before_request {why} ({where})")
        if (why := body_evidence(index, fn, judge)) is not None:
            draft.evidence.append(why)
        if optional and not draft.evidence:
            draft.public_reason = draft.public_reason or optional[0]
        draft.suggestion = framework
        if framework == "flask" and cls_name:
            resource = any(c.startswith(("flask_restx.", "flask_restful.", "flask_restplus.")) for c in index.lineage(cls_name))
            draft.suggestion = "flask-resource" if resource else "flask-class"
