"""Where a file's queries go wrong: the per-file SQL analysis shared by the four SQL rules.

Every function that makes a query call runs through the string data flow (analysis/strings.py) with hooks that
know the drivers (connections, cursors, sessions, composed SQL objects, same-module helpers and wrappers); at every
call that runs SQL (analysis/sql.py's sinks) each possible text of the query is read, and what is wrong becomes a
problem: an unsafe piece and where it landed (SQL001/SQL002), a placeholder the driver does not take (SQL003), a
parameter count that cannot match (SQL004). The rules (rules/sql.py) put these into words.

The first SQL rule to meet a query call in a function analyses that function; the others read the same result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from p21_lint import cst
from p21_lint.analysis import sql as sqlinfo
from p21_lint.analysis.names import LOCAL, dotted
from p21_lint.analysis.sql import FUNCTIONS, Placeholder, Reading, Sink, Spot
from p21_lint.analysis.strings import (
    UNKNOWN,
    Env,
    Flow,
    Hole,
    Hooks,
    Mapping,
    Obj,
    Opaque,
    Safety,
    Seq,
    Str,
    Text,
    Value,
    calls_in,
    union,
    union_all,
)
from p21_lint.engine.context import FileContext
from p21_lint.engine.walk import children
from p21_lint.model import Level

SQL_OBJECT = Obj("sql-object")  # composed by a library (psycopg.sql, sqlalchemy.text): safe to run
_SQL_OBJECT_PREFIXES = ("psycopg.sql.", "psycopg2.sql.")
QUOTER = Obj("quote-name")  # `qn = connection.ops.quote_name`: calling it quotes a name
PROGRAM_TEXT = Opaque(Safety.ALLOWED)  # text the program makes itself: a placeholder, a quoted name, configuration

# Module-level names that carry the request although they are read like globals: not configuration.
INPUT_OBJECTS = (
    "flask.request",
    "flask.session",
    "flask.g",
    "flask_login.current_user",
    "quart.request",
    "quart.session",
    "quart.g",
    "bottle.request",
    "cherrypy.request",
    "sys.argv",
    "sys.stdin",
)
# `self.<attr>` that views, forms and serializers get from the request (Django/DRF class-based views, forms)
_INPUT_ATTRIBUTES = frozenset(
    {
        "request", "kwargs", "args", "data", "cleaned_data", "validated_data", "initial_data", "initial",
        "query_params", "context", "params", "query", "GET", "POST", "body", "json", "payload", "files", "headers",
        "cookies", "form", "user",
    }
)  # fmt: skip
# attributes of a connection, engine or session that are one too (`conn.connection`, `session.bind`)
_CONNECTION_ATTRIBUTES = frozenset(
    {"connection", "conn", "session", "bind", "engine", "pool", "db", "driver_connection", "dbapi_connection"}
)
# functions that quote a name as an identifier: Django's `connection.ops.quote_name`, `psycopg2.extensions.
# quote_ident`, SQLAlchemy's `dialect.identifier_preparer.quote(...)`
_QUOTING = frozenset(
    {"quote_name", "quote_identifier", "quote_ident", "quote_name_unless_alias", "quote_schema", "quote_table"}
)
_PREPARER_QUOTING = frozenset({"quote", "quote_identifier", "quote_schema", "format_table", "format_column"})
_CONFIGURATION_CALLS = frozenset({"os.getenv", "os.environ.get"})


# -- what goes wrong --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HoleProblem:
    """SQL001 / SQL002: an unsafe piece of a query, where it landed and the call that runs it."""

    hole: Hole
    spot: Spot
    reading: Reading
    sink: Sink
    call: cst.Call


@dataclass(frozen=True, eq=False)
class StyleProblem:
    """SQL003: a placeholder the driver does not take."""

    node: cst.CSTNode  # the SQL argument
    wrong: Placeholder
    driver: sqlinfo.Driver


@dataclass(frozen=True, eq=False)
class CountProblem:
    """SQL004: placeholders and parameters that cannot match."""

    node: cst.CSTNode  # the parameters (or the SQL argument when none are passed)
    kind: str  # count | missing-key | not-a-tuple | one-list
    call: cst.Call
    sink: Sink
    placeholders: int = 0
    given: frozenset[int] = frozenset()
    key: str = ""
    style: str | None = None


Problem = HoleProblem | StyleProblem | CountProblem


# -- the per-file analysis -------------------------------------------------------------------------------------


@dataclass
class FileAnalysis:
    context: FileContext
    functions: dict[str, Sink] = field(default_factory=dict)  # extra sinks by qualified name
    methods: dict[str, Sink] = field(default_factory=dict)  # extra sinks by method name
    results: dict[int, list[Problem]] = field(default_factory=dict)  # id(scope node) -> its problems
    reported: set[tuple[str, int]] = field(default_factory=set)  # (code, id(node)) already reported in this file
    _module_exprs: dict[str, cst.BaseExpression] | None = None
    _module_values: dict[str, Value] = field(default_factory=dict)
    _class_values: dict[tuple[int, str], Value | None] = field(default_factory=dict)
    _init_envs: dict[int, Env] = field(default_factory=dict)
    _functions: dict[str, cst.FunctionDef] | None = None
    _active: list[int] = field(default_factory=list)  # functions being evaluated for their return value
    _wrappers: dict[int, dict[str, Sink]] = field(default_factory=dict)  # id(function) -> parameter -> sink
    _candidates: frozenset[str] | None = None
    _module_bound: frozenset[str] | None = None
    _class_attributes: dict[int, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)

    def add_sinks(self, entries: tuple[str, ...]) -> None:
        for entry in entries:
            name, sink = sqlinfo.parse_extra_sink(entry)
            if name.startswith("."):
                self.methods[name[1:]] = sink
            else:
                self.functions[name] = sink

    def is_candidate(self, call: cst.Call) -> bool:
        """A cheap first look: could this call run SQL? (its name is a sink's, or a wrapper's of this file)"""
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if self._candidates is None:
            self._candidates = _BASE_NAMES | frozenset(self.methods)
            self._candidates |= frozenset(n.rsplit(".", 1)[-1] for n in self.functions)
            self._candidates |= self._wrapper_names()
        return name in self._candidates

    def _wrapper_names(self) -> frozenset[str]:
        names = set()
        for stmt in self.context.module.body:
            if isinstance(stmt, cst.FunctionDef) and self.wrapper_sinks(stmt, None):
                names.add(stmt.name.value)
            elif isinstance(stmt, cst.ClassDef):
                names.update(n for n, m in _methods(stmt).items() if self.wrapper_sinks(m, stmt))
        return frozenset(names)

    def wrapper_sinks(self, func: cst.FunctionDef, cls: cst.ClassDef | None) -> dict[str, Sink]:
        """The parameters of `func` that it passes, whole, as the SQL of a sink: `def run(sql): cur.execute(sql)`
        makes `run(...)` a sink too (one level: a wrapper of a wrapper is not followed)."""
        key = id(func)
        if key in self._wrappers:
            return self._wrappers[key]
        self._wrappers[key] = found = {}
        base = _BASE_NAMES | frozenset(self.methods) | frozenset(n.rsplit(".", 1)[-1] for n in self.functions)
        params = func.params
        names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        if not any(_call_name(c) in base and _passes_name(c, names) for c in calls_in(func.body)):
            return found  # a wrapper hands its parameter straight on: `cursor.execute(sql, params)`

        def on_call(flow: Flow, call: cst.Call, env: Env) -> None:
            sink = self.sink_for(flow, call, env, cls, wrappers=False)
            node = (
                argument(call, sink.sql_arg, sink.sql_keywords) if sink is not None and sink.form != "extra" else None
            )
            value = flow.eval(node, env) if node is not None else None
            if isinstance(value, Obj) and value.kind.startswith(_PARAM):
                found.setdefault(value.kind[len(_PARAM) :], sink)

        flow = self._flow(cls, on_call)
        env: Env = {}
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            ann = param.annotation
            known = _annotation_value(self.context, ann.annotation) if ann is not None else None
            env[param.name.value] = known or Obj(_PARAM + param.name.value)
        try:
            flow.run(func.body.body, env)
        except RecursionError:
            pass
        return found

    def target(self, call: cst.Call, cls: cst.ClassDef | None) -> cst.FunctionDef | None:
        """The function of this module a call runs: `helper(...)` at module level, `self.helper(...)` in a class."""
        func = call.func
        if isinstance(func, cst.Name):
            module = self.context.module_name
            bound = self.context.names.lookup(func.value)
            # bound to this module's own def, or not bound yet: a helper defined below the function that calls it
            if bound is None or bound == (f"{module}.{func.value}" if module else func.value):
                if self._functions is None:
                    self._functions = {
                        s.name.value: s for s in self.context.module.body if isinstance(s, cst.FunctionDef)
                    }
                return self._functions.get(func.value)
        elif (
            isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls")
        ):
            return _methods(cls).get(func.attr.value) if cls is not None else None
        return None

    def sink_for(
        self, flow: Flow, call: cst.Call, env: Env, cls: cst.ClassDef | None, wrappers: bool = True
    ) -> Sink | None:
        """Which sink a call is, if any."""
        func = call.func
        qualified = self.context.qualified_name(func)
        if qualified in self.functions:
            return self.functions[qualified]
        if qualified in FUNCTIONS:
            return FUNCTIONS[qualified]
        if wrappers:
            target = self.target(call, cls)
            if target is not None:
                return self._wrapper_call(call, target, cls)
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if method in self.methods:
            return self.methods[method]
        owner = flow.eval(func.value, env)
        if owner == SQL_OBJECT:
            return None
        if isinstance(owner, Obj) and not owner.kind.startswith(_PARAM):
            return sqlinfo.method_sink(owner.kind, method)
        receiver = self.context.code_for(func.value)
        if method == "extra":
            if any(a.keyword is not None and a.keyword.value in ("where", "select") for a in call.args):
                django = ".objects" in receiver or receiver.endswith("objects")
                return Sink(sqlinfo.DRIVERS["django"], "extra", 0, confidence=Level.HIGH if django else Level.MEDIUM)
            return None
        return sqlinfo.by_name_sink(method, receiver)

    def _wrapper_call(self, call: cst.Call, target: cst.FunctionDef, cls: cst.ClassDef | None) -> Sink | None:
        sinks = self.wrapper_sinks(target, cls if isinstance(call.func, cst.Attribute) else None)
        if not sinks:
            return None
        params = [p.name.value for p in (*target.params.posonly_params, *target.params.params)]
        if isinstance(call.func, cst.Attribute) and params:
            params = params[1:]  # self / cls
        name, inner = next(iter(sinks.items()))
        position = params.index(name) if name in params else 99
        # the wrapper passes its SQL on; how it passes parameters is its own business: no count check
        return dataclasses.replace(
            inner,
            sql_arg=position,
            sql_keywords=(name,),
            counts=False,
            form="dbapi" if inner.form in ("dbapi", "asyncpg") else inner.form,
        )

    # module-level names: evaluated lazily, once
    def module_value(self, name: str) -> Value | None:
        if self._module_exprs is None:
            self._module_exprs = _simple_assignments(self.context.module.body)
        if name not in self._module_exprs:
            return None
        if name not in self._module_values:
            self._module_values[name] = UNKNOWN  # a guard against `A = B; B = A`
            flow = self._flow(None)
            self._module_values[name] = flow.eval(self._module_exprs[name], {})
        return self._module_values[name]

    def class_value(self, cls: cst.ClassDef, name: str) -> Value | None:
        """`self.name` in a method: a class attribute, or what `__init__` assigns to it. A field (`name: str`,
        with or without a default: dataclasses, pydantic models) or an attribute another method assigns can hold
        anything; one the class never assigns comes from a base class or the framework: configuration, unless
        frameworks fill it from the request (`self.request`, `self.kwargs`, `self.cleaned_data`)."""
        key = (id(cls), name)
        if key not in self._class_values:
            self._class_values[key] = None
            body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
            if id(cls) not in self._class_attributes:
                self._class_attributes[id(cls)] = _instance_attributes(cls)
            fields, elsewhere = self._class_attributes[id(cls)]
            expr = _simple_assignments(body).get(name)
            value = self._flow(None).eval(expr, {}) if expr is not None else None
            init = self._init_env(cls).get(f"self.{name}")
            if init is not None:
                value = init if value is None else union(value, init)
            if name in elsewhere or (name in fields and not name.isupper()):
                value = UNKNOWN
            elif value is None and name not in _INPUT_ATTRIBUTES:
                value = PROGRAM_TEXT
            self._class_values[key] = value
        return self._class_values[key]

    def is_configuration(self, node: cst.BaseExpression) -> bool:
        """`name.attr[key]` rooted in a module-level name (an import, a module global) that is not web input."""
        chain = []
        root = node
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            chain.append(root)
            root = root.value
        if not isinstance(root, cst.Name):
            return False
        bound = self.context.names.lookup(root.value)
        if bound == LOCAL or (bound is None and root.value not in self._module_names()):
            return False  # a variable of an enclosing function, or a name bound nowhere
        if bound is not None and bound.startswith("builtins."):
            return False
        full = bound or root.value
        for part in reversed(chain):  # the dotted part up to the first subscript: `request.args` of request.args["id"]
            if not isinstance(part, cst.Attribute):
                break
            full += "." + part.attr.value
        return not any(full == name or full.startswith(name + ".") for name in INPUT_OBJECTS)

    def _module_names(self) -> frozenset[str]:
        if self._module_bound is None:
            self._module_bound = frozenset(_bound_names(self.context.module.body))
        return self._module_bound

    def _init_env(self, cls: cst.ClassDef) -> Env:
        if id(cls) not in self._init_envs:
            self._init_envs[id(cls)] = {}
            init = _methods(cls).get("__init__")
            if init is not None:
                flow = self._flow(None)
                env = flow.run_function(init)
                self._init_envs[id(cls)] = env or {}
        return self._init_envs[id(cls)]

    def _flow(self, cls: cst.ClassDef | None, on_call: Callable[[Flow, cst.Call, Env], None] | None = None) -> Flow:
        hooks = Hooks(
            qualified=self.context.qualified_name,
            call_value=lambda flow, call, env: _call_value(flow, call, env) or self._returned(flow, call, env, cls),
            name_value=_name_value,
            annotation_value=lambda ann: _annotation_value(self.context, ann),
            on_call=on_call or (lambda flow, call, env: None),
            attribute_value=_attribute_value,
            configuration=self.is_configuration,
        )
        class_constants = (lambda name: self.class_value(cls, name)) if cls is not None else (lambda name: None)
        return Flow(hooks, self.module_value, class_constants)

    def _returned(self, flow: Flow, call: cst.Call, env: Env, cls: cst.ClassDef | None) -> Value | None:
        """What a function of this module returns for these arguments: one level deep, for query builders
        (`cur.execute(build_query(name))`, `sql, params = self._where(filters)`)."""
        func = call.func
        target = self.target(call, cls)
        if target is None or len(self._active) >= _HELPER_DEPTH or id(target) in self._active:
            return None
        params = [*target.params.posonly_params, *target.params.params]
        if isinstance(func, cst.Attribute) and params:
            params = params[1:]  # self / cls
        env_in: Env = {}
        positional = [a for a in call.args if a.keyword is None]
        if any(a.star for a in call.args):
            return None
        for param, arg in zip(params, positional):
            env_in[param.name.value] = flow.eval(arg.value, env)
        for arg in call.args:
            if arg.keyword is not None:
                env_in[arg.keyword.value] = flow.eval(arg.value, env)
        inner = self._flow(cls)
        for param in (*params, *target.params.kwonly_params):
            if param.name.value not in env_in:
                env_in[param.name.value] = inner.eval(param.default, {}) if param.default is not None else UNKNOWN
        inner.returns = []
        self._active.append(id(target))
        try:
            inner.run(target.body.body, env_in)
        finally:
            self._active.pop()
        return union_all(inner.returns) if inner.returns else UNKNOWN

    def problems(self, scope: cst.FunctionDef | cst.Module, cls: cst.ClassDef | None) -> list[Problem]:
        key = id(scope)
        if key not in self.results:
            checker = _Checker(self, cls)
            flow = self._flow(cls, checker.on_call)
            try:
                if isinstance(scope, cst.FunctionDef):
                    flow.run_function(scope)
                else:
                    flow.run(scope.body, {})
            except RecursionError:  # a string built from hundreds of `+`: report what was found before it
                pass
            self.results[key] = checker.finish()
        return self.results[key]


def file_analysis(context: FileContext) -> FileAnalysis:
    """The one analysis of this file that all four SQL rules read."""
    analysis = context.shared.get("sql")
    if analysis is None:
        analysis = context.shared["sql"] = FileAnalysis(context)
    return analysis


class FunctionProblems:
    """Mixin for a batched visitor (put it first among the bases): tracks the def/class stack and hands each
    function's SQL problems to `on_problems` once, at its first candidate call. The SQL rules and --fix read the
    analysis this one way."""

    context: FileContext

    def start_functions(self) -> None:
        self.analysis = file_analysis(self.context)
        self.stack: list[cst.FunctionDef | cst.ClassDef] = []
        self.done: set[int] = set()

    def on_problems(self, problems: list) -> None:
        raise NotImplementedError

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.append(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if not self.analysis.is_candidate(node):
            return
        scope, cls = enclosing(self.stack, self.context.module)
        if id(scope) in self.done:
            return
        self.done.add(id(scope))
        self.on_problems(self.analysis.problems(scope, cls))


def enclosing(
    stack: list[cst.FunctionDef | cst.ClassDef], module: cst.Module
) -> tuple[cst.FunctionDef | cst.Module, cst.ClassDef | None]:
    """The function a call is in (the module at top level) and, for a method, its class."""
    for i in range(len(stack) - 1, -1, -1):
        if isinstance(stack[i], cst.FunctionDef):
            owner = stack[i - 1] if i > 0 else None
            return stack[i], owner if isinstance(owner, cst.ClassDef) else None
    return module, None


def _methods(cls: cst.ClassDef) -> dict[str, cst.FunctionDef]:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}


def _bound_names(body: Any) -> set[str]:
    """Every name a module binds at its top level (also inside `if`, `try`, `with`, `for` there)."""
    out: set[str] = set()

    def targets(node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Name):
            out.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                targets(element.value)
        elif isinstance(node, cst.StarredElement):
            targets(node.value)

    for stmt in body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            out.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        targets(target.target)
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets(small.target)
                elif isinstance(small, cst.Import):
                    for alias in small.names:  # `import a.b` binds `a`
                        asname = alias.asname.name if alias.asname is not None else None
                        full = dotted(alias.name) or ""
                        out.add(asname.value if isinstance(asname, cst.Name) else full.split(".")[0])
                elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    for alias in small.names:
                        asname = alias.asname.name if alias.asname is not None else None
                        out.add(asname.value if isinstance(asname, cst.Name) else (dotted(alias.name) or ""))
        elif isinstance(stmt, cst.BaseCompoundStatement):
            if isinstance(stmt, cst.For):
                targets(stmt.target)
            if isinstance(stmt, cst.With):
                for item in stmt.items:
                    if item.asname is not None:
                        targets(item.asname.name)
            for block in _blocks(stmt):
                out |= _bound_names(block)
    return out


def _blocks(stmt: cst.BaseCompoundStatement) -> list[Any]:
    """The statement lists inside a compound statement at module level (its branches and handlers)."""
    out: list[Any] = []
    parts = [getattr(stmt, name, None) for name in ("body", "orelse", "finalbody")]
    for part in [*parts, *getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())]:
        if isinstance(part, cst.If):
            out.append([part])  # an `elif`: its own compound statement
            continue
        suite = part if isinstance(part, cst.BaseSuite) else getattr(part, "body", None)
        if isinstance(suite, cst.IndentedBlock):
            out.append(suite.body)
    return out


def _instance_attributes(cls: cst.ClassDef) -> tuple[frozenset[str], frozenset[str]]:
    """The fields a class declares (`name: str` in its body, not ClassVar) and the `self.x` its methods other
    than `__init__` assign."""
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    fields = set()
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    annotation = cst.Module([]).code_for_node(small.annotation.annotation)
                    if "ClassVar" not in annotation and "Final" not in annotation:
                        fields.add(small.target.value)
    elsewhere = set()
    for name, method in _methods(cls).items():
        if name == "__init__":
            continue
        for node in _self_targets(method.body):
            elsewhere.add(node)
    return frozenset(fields), frozenset(elsewhere)


def _self_targets(node: cst.CSTNode) -> set[str]:
    """`x` of every `self.x = ...` / `self.x += ...` inside `node`. Assignments are statements: the search never
    enters an expression, where most of a method's nodes are."""
    found: set[str] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if type(current) is cst.SimpleStatementLine:
            for small in current.body:
                for target in _assigned(small):
                    _add_self_target(target, found)
        else:
            todo.extend(c for c in children(current) if not isinstance(c, cst.BaseExpression))
    return found


def _assigned(small: cst.BaseSmallStatement) -> list[cst.BaseExpression]:
    if isinstance(small, cst.Assign):
        return [t.target for t in small.targets]
    return [small.target] if isinstance(small, (cst.AnnAssign, cst.AugAssign)) else []


def _add_self_target(target: cst.BaseExpression, found: set[str]) -> None:
    if isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _add_self_target(element.value, found)
    elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value in ("self", "cls"):
        found.add(target.attr.value)


def _simple_assignments(body: Any) -> dict[str, cst.BaseExpression]:
    out: dict[str, cst.BaseExpression] = {}
    for stmt in body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
            ):
                out[small.targets[0].target.value] = small.value
            elif isinstance(small, cst.AnnAssign) and small.value is not None and isinstance(small.target, cst.Name):
                out[small.target.value] = small.value
    return out


# -- hooks: what the SQL world adds to the string flow ----------------------------------------------------------


def _call_value(flow: Flow, call: cst.Call, env: Env) -> Value | None:
    qualified = flow.hooks.qualified(call.func)
    if _makes_program_text(call.func, qualified, env):
        return PROGRAM_TEXT
    if qualified in sqlinfo.CONSTRUCTORS:
        return Obj(sqlinfo.CONSTRUCTORS[qualified])
    if qualified is not None and (
        qualified.startswith(_SQL_OBJECT_PREFIXES)
        or FUNCTIONS.get(qualified, None) is not None
        and FUNCTIONS[qualified].form == "text"
    ):
        return SQL_OBJECT
    if isinstance(call.func, cst.Attribute):
        owner = flow.eval(call.func.value, env)
        if owner == SQL_OBJECT:
            return SQL_OBJECT  # sql.SQL(...).format(...), text(...).bindparams(...)
    return None


def _makes_program_text(func: cst.BaseExpression, qualified: str | None, env: Env) -> bool:
    """A call whose result is SQL the program makes, not input: a placeholder generator (its name says so:
    `db.timestamp_placeholder("now")`, `placeholders(n)`), a function that quotes a name as an identifier
    (`connection.ops.quote_name(...)`, or `qn(...)` after `qn = connection.ops.quote_name`), and the
    environment (`os.getenv`)."""
    if qualified in _CONFIGURATION_CALLS:
        return True
    if isinstance(func, cst.Name):
        if env.get(func.value) == QUOTER:
            return True
        name, receiver = func.value, ""
    elif isinstance(func, cst.Attribute):
        name, receiver = func.attr.value, dotted(func.value) or ""
    else:
        return False
    if "placeholder" in name.lower() or name in _QUOTING or name.endswith("_quote_name"):
        return True
    return name in _PREPARER_QUOTING and receiver.endswith("identifier_preparer")


def _attribute_value(owner: Value, attr: str) -> Value | None:
    if attr in _QUOTING or attr.endswith("_quote_name"):
        return QUOTER  # the function itself, bound to a name to call it later
    if isinstance(owner, Obj) and (attr in _CONNECTION_ATTRIBUTES or owner.kind.startswith(_PARAM)):
        return owner
    return None  # `engine.dialect`, `db.big_int`: a property, not the connection


def _name_value(qualified: str) -> Value | None:
    driver = sqlinfo.OBJECTS.get(qualified)
    return Obj(driver) if driver else None


def _annotation_value(context: FileContext, annotation: cst.BaseExpression) -> Value | None:
    if isinstance(annotation, cst.Subscript):  # Optional[Connection], Annotated[Session, Depends(...)]
        first = annotation.slice[0].slice if annotation.slice else None
        return _annotation_value(context, first.value) if isinstance(first, cst.Index) else None
    if isinstance(annotation, cst.BinaryOperation):  # Connection | None
        return _annotation_value(context, annotation.left) or _annotation_value(context, annotation.right)
    if isinstance(annotation, cst.SimpleString):
        return None
    qualified = context.qualified_name(annotation)
    if not qualified:
        return None
    driver = sqlinfo.ANNOTATION_MODULES.get(qualified.split(".")[0])
    if qualified.startswith(("django.db.backends", "django.db.connection")):
        driver = "django"
    return Obj(driver) if driver else None


# -- checking the calls of one function -------------------------------------------------------------------------

_BASE_NAMES = (
    frozenset(sqlinfo.BY_NAME)
    | frozenset(m for ms in sqlinfo.METHODS.values() for m in ms)
    | {"extra"}
    | frozenset(n.rsplit(".", 1)[-1] for n in FUNCTIONS)
)
_PARAM = "param:"  # Obj kind of a wrapper's parameter while its summary is computed


def _passes_name(call: cst.Call, names: set[str]) -> bool:
    return any(isinstance(a.value, cst.Name) and a.value.value in names for a in call.args)


def _call_name(call: cst.Call) -> str:
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""


_HELPER_DEPTH = 3  # query builders call helpers that call validators: `_table_ref()` -> `_require_identifier()`
_RANK = {"value": 4, "identifier": 3, "placeholder": 2, "fragment": 1, "head": 0}


class _Checker:
    """Collects, for one function, where unsafe holes land and what is wrong with the placeholders."""

    def __init__(self, analysis: FileAnalysis, cls: cst.ClassDef | None) -> None:
        self.analysis = analysis
        self.cls = cls
        self.context = analysis.context
        self.holes: dict[int, HoleProblem] = {}
        self.problems: list[Problem] = []

    def on_call(self, flow: Flow, call: cst.Call, env: Env) -> None:
        if not self.analysis.is_candidate(call):
            return
        sink = self.analysis.sink_for(flow, call, env, self.cls)
        if sink is None:
            return
        if sink.form == "extra":
            self._check_extra(flow, call, env, sink)
            return
        sql_node = argument(call, sink.sql_arg, sink.sql_keywords)
        if sql_node is None:
            return
        value = flow.eval(sql_node, env)
        if not isinstance(value, Str):
            return  # a composed SQL object, or text we know nothing about (a parameter of the function)
        sink = self._refine_pandas(flow, call, env, sink)
        readings = []
        receivers = _receivers(call)
        for alternative in value.alternatives:
            if _is_whole(alternative):
                continue
            reading = sqlinfo.read(alternative, sink.driver.dialect, sink.fragment)
            if sink.by_name and not reading.looks_like_sql:
                continue
            readings.append(reading)
            self._note_unsafe(reading, sink, call, receivers)
        if readings:
            self._check_placeholders(flow, call, env, sink, sql_node, value, readings)

    def _note_unsafe(self, reading: Reading, sink: Sink, call: cst.Call, receivers: frozenset[str]) -> None:
        unsafe = [
            (hole, spot)
            for hole, spot in zip(reading.holes, reading.spots)
            if hole.safety is Safety.UNSAFE and spot.kind != "head" and not _of_receiver(hole.node, receivers)
        ]
        # `INSERT INTO t ({cols}) VALUES ({", ".join(f":{c}" for c in cols)})`: the placeholders' names are the
        # columns' names; reported once, where they are columns, and one allowlist check fixes both
        names = any(spot.kind == "identifier" for _, spot in unsafe)
        for hole, spot in unsafe:
            if spot.kind != "placeholder" or not names:
                self._note(HoleProblem(hole, spot, reading, sink, call))

    def finish(self) -> list[Problem]:
        return [*self.problems, *self.holes.values()]

    def _note(self, found: HoleProblem) -> None:
        key = id(found.hole.node)
        previous = self.holes.get(key)
        if previous is None or _RANK[found.spot.kind] > _RANK[previous.spot.kind]:
            self.holes[key] = found

    def _refine_pandas(self, flow: Flow, call: cst.Call, env: Env, sink: Sink) -> Sink:
        """pandas.read_sql(sql, con): the connection's driver decides the placeholder."""
        if sink.form != "pandas":
            return sink
        con = argument(call, 1, ("con",))
        owner = flow.eval(con, env) if con is not None else None
        if isinstance(owner, Obj) and owner.kind in sqlinfo.DBAPI_DRIVERS:
            return Sink(sqlinfo.DRIVERS[owner.kind], "pandas", 0, params_arg=None, params_keywords=("params",))
        return sink

    def _check_extra(self, flow: Flow, call: cst.Call, env: Env, sink: Sink) -> None:
        """QuerySet.extra(where=[...], select={...}): each string is a condition or an expression."""
        for arg in call.args:
            keyword = arg.keyword.value if arg.keyword is not None else ""
            if keyword not in ("where", "select"):
                continue
            container = flow.eval(arg.value, env)
            element = (
                container.values
                if isinstance(container, Mapping)
                else container.element
                if isinstance(container, Seq)
                else None
            )
            if not isinstance(element, Str):
                continue
            fragment = "condition" if keyword == "where" else "expression"
            part = sink if keyword == "where" else dataclasses.replace(sink, form="extra-select")
            for alternative in element.alternatives:
                if _is_whole(alternative):
                    continue
                reading = sqlinfo.read(alternative, None, fragment)
                self._note_unsafe(reading, part, call, frozenset())

    # SQL003 and SQL004
    def _check_placeholders(
        self,
        flow: Flow,
        call: cst.Call,
        env: Env,
        sink: Sink,
        sql_node: cst.CSTNode,
        value: Str,
        readings: list[Reading],
    ) -> None:
        driver = sink.driver
        if driver.known:
            wrong = [p for r in readings for p in r.placeholders if p.style not in driver.styles]
            if wrong:
                self.problems.append(StyleProblem(sql_node, wrong[0], driver))
                return
        if sink.counts:
            problem = self._count_problem(flow, call, env, sink, sql_node, value, readings)
            if problem is not None:
                self.problems.append(problem)

    def _count_problem(
        self,
        flow: Flow,
        call: cst.Call,
        env: Env,
        sink: Sink,
        sql_node: cst.CSTNode,
        value: Str,
        readings: list[Reading],
    ) -> CountProblem | None:
        if not value.exact or len(readings) != len(value.alternatives):
            return None
        for alternative in value.alternatives:
            for piece in alternative:
                if (isinstance(piece, Text) and piece.repeated) or (
                    isinstance(piece, Hole) and piece.safety is not Safety.NUMERIC
                ):
                    return None  # generated placeholders, or text we cannot see: the count is not known
        styles = {p.style for r in readings for p in r.placeholders}
        if len(styles) > 1:
            return None
        style = styles.pop() if styles else None
        params_node, lengths, keys = self._params(flow, call, env, sink)
        if style in ("named", "pyformat"):
            if keys is None or params_node is None:
                return None
            missing = sorted({p.key or "" for r in readings for p in r.placeholders} - keys)
            if missing and all({p.key for p in r.placeholders} - keys for r in readings):
                return CountProblem(params_node, "missing-key", call, sink, key=missing[0], style=style)
            return None
        counts = set()
        for r in readings:
            if style == "dollar":
                counts.add(max((int(p.key) for p in r.placeholders if p.key), default=0))
            else:
                counts.add(len(r.placeholders))
        if params_node is None and lengths is None:
            if sink.by_name or not counts - {0} or sink.params_arg is None and not sink.params_keywords:
                return None
            lengths = frozenset({0})
        if (
            params_node is not None
            and lengths is None
            and counts == {1}
            and sink.form != "asyncpg"
            and getattr(params_node, "lpar", None)
            and not isinstance(params_node, (cst.Tuple, cst.List))
        ):
            return CountProblem(params_node, "not-a-tuple", call, sink, placeholders=1)
        if lengths is None or counts & lengths:
            return None
        node = params_node or sql_node
        if (
            sink.form == "asyncpg"
            and isinstance(params_node, (cst.List, cst.Tuple))
            and params_node is argument(call, 1, ())
        ):
            return CountProblem(node, "one-list", call, sink, placeholders=min(counts), given=lengths, style=style)
        return CountProblem(node, "count", call, sink, placeholders=min(counts), given=lengths, style=style)

    def _params(
        self, flow: Flow, call: cst.Call, env: Env, sink: Sink
    ) -> tuple[cst.CSTNode | None, frozenset[int] | None, set[str] | None]:
        """The parameters' node, their possible counts and, for a dict, its keys."""
        if sink.params_arg == sqlinfo.VARARGS:
            rest = [a for a in call.args if a.keyword is None][sink.sql_arg + 1 :]
            if any(a.star for a in rest):
                return rest[0].value, None, None
            if len(rest) == 1 and isinstance(rest[0].value, (cst.List, cst.Tuple)) and len(rest[0].value.elements) > 1:
                return rest[0].value, frozenset({1}), None
            return (rest[0].value if rest else None), frozenset({len(rest)}), None
        node = (
            argument(call, sink.params_arg, sink.params_keywords)
            if sink.params_arg is not None
            else argument(call, 99, sink.params_keywords)
        )
        if node is None:
            return None, None, None
        value = flow.eval(node, env)
        if isinstance(value, Seq):
            return node, value.lengths, None
        if isinstance(value, Mapping):
            keys = value.keys
            if isinstance(node, cst.Dict) and isinstance(keys, Str) and keys.literal_only:
                return node, None, {"".join(p.text for p in alt) for alt in keys.alternatives}  # type: ignore[union-attr]
            return node, None, None
        return node, None, None


def argument(call: cst.Call, position: int | None, keywords: tuple[str, ...]) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in keywords:
            return arg.value
    positional = [a for a in call.args if a.keyword is None]
    if (
        position is None
        or position < 0
        or position >= len(positional)
        or any(a.star for a in positional[: position + 1])
    ):
        return None
    return positional[position].value


def _receivers(call: cst.Call) -> frozenset[str]:
    """`db` of `db.execute(...)` (both names of `(conn or db).execute(...)`): the object that runs the query."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return frozenset()
    owners = [func.value]
    if isinstance(func.value, cst.BooleanOperation):
        owners = [func.value.left, func.value.right]
    names = {dotted(o) for o in owners}
    return frozenset(n for n in names if n and n not in ("self", "cls"))


def _of_receiver(node: cst.CSTNode, receivers: frozenset[str]) -> bool:
    """An attribute of the object that runs the query (`db.big_int`, `conn.dialect.name`): the driver's or the
    connection's own SQL text (a dialect's column type, its `now()`), not input. A call on it is not: it may
    return rows (`db.fetchone(...)["name"]`)."""
    name = dotted(node) if isinstance(node, cst.Attribute) else None
    return name is not None and any(name.startswith(r + ".") for r in receivers)


def _is_whole(alternative: tuple) -> bool:
    """The whole query is one unknown value (a parameter of the function): not ours to judge here."""
    holes = [p for p in alternative if isinstance(p, Hole)]
    text = "".join(p.text for p in alternative if isinstance(p, Text))
    return len(holes) <= 1 and not text.strip() or all(isinstance(p, Hole) for p in alternative)
