"""String data flow inside one function: which text can an expression hold when it reaches a call?

A small abstract interpreter over libcst statements. Every local variable holds an abstract value; a string is a
set of *alternatives* (one per path through branches and loops), each a sequence of pieces: literal `Text`, or a
`Hole` where something dynamic was interpolated (f-string, `%`, `.format`, `+`, `+=`, `join`, `replace`), with the
expression it came from and how safe it is. Branches are run separately and merged; a loop body runs once and is
merged with the path that skips it; a branch that ends in `raise`/`return`/`continue`/`break` does not flow on, so
`if col not in ALLOWED: raise ...` leaves `col` known to be one of ALLOWED's strings afterwards.

The interpreter knows nothing about SQL: the caller gives it hooks (qualified names, what a call returns, what to do
at each call) and reads the abstract values at the calls it cares about.
"""

from __future__ import annotations

import ast
import enum
import functools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from p21_lint import cst
from p21_lint.engine.walk import child_fields, children

MAX_ALTERNATIVES = 16  # beyond this a value keeps the alternatives with the most holes and stops being exact


class Safety(enum.IntEnum):
    """How much a dynamic piece can carry. Ordered: merging two takes the lower."""

    UNSAFE = 0  # anything we cannot vouch for
    # checked against an allowlist, or text of the program itself we cannot see: a constant, a module-level name
    # (configuration), a generated placeholder, a quoted name
    ALLOWED = 1
    NUMERIC = 2  # int()/float()/len(), `%d`, `{x:d}`, range(): digits only


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    repeated: bool = False  # generated n times (IN-list placeholders): its count is unknown


@dataclass(frozen=True, slots=True, eq=False)
class Hole:
    node: cst.CSTNode  # the interpolated expression: where a finding is reported
    safety: Safety = Safety.UNSAFE
    repeated: bool = False


Piece = Text | Hole
Pieces = tuple[Piece, ...]


@dataclass(frozen=True, slots=True)
class Str:
    alternatives: tuple[Pieces, ...]
    exact: bool = True  # False when alternatives were dropped: counts are then unreliable

    @property
    def literal(self) -> str | None:
        """The text when this is one plain literal, else None."""
        if len(self.alternatives) == 1 and all(isinstance(p, Text) and not p.repeated for p in self.alternatives[0]):
            return "".join(p.text for p in self.alternatives[0])  # type: ignore[union-attr]
        return None

    @property
    def literal_only(self) -> bool:
        return all(isinstance(p, Text) for alt in self.alternatives for p in alt)


@dataclass(frozen=True, slots=True)
class Seq:
    """A list, tuple or set. `items` when exactly known (a literal, never changed); `element` is any one element."""

    element: Value
    items: tuple[Value, ...] | None = None
    lengths: frozenset[int] | None = None  # possible lengths; None: unknown


@dataclass(frozen=True, slots=True)
class Mapping:
    keys: Value
    values: Value


@dataclass(frozen=True, slots=True)
class Obj:
    """Something a hook recognised: a database connection, a composed (safe) SQL object."""

    kind: str


@dataclass(frozen=True, slots=True)
class Opaque:
    """A value whose text is unknown. It becomes a Hole at the expression where it is interpolated."""

    safety: Safety = Safety.UNSAFE


@dataclass(frozen=True, slots=True)
class Pattern:
    """`re.compile(r"...")`: a regular expression a later `PATTERN.fullmatch(x)` checks `x` against."""

    text: str


Value = Str | Seq | Mapping | Obj | Opaque | Pattern
UNKNOWN = Opaque(Safety.UNSAFE)
NUMBER = Opaque(Safety.NUMERIC)
Env = dict  # name -> Value


def literal(text: str) -> Str:
    return Str(((Text(text),),))


EMPTY = Str(())  # no string at all: the element of an empty list


# -- combining values -------------------------------------------------------------------------------------------


def _normalise(pieces: Iterable[Piece]) -> Pieces:
    out: list[Piece] = []
    for p in pieces:
        if isinstance(p, Text):
            if not p.text:
                continue
            last = out[-1] if out else None
            if isinstance(last, Text) and last.repeated == p.repeated:
                out[-1] = Text(last.text + p.text, p.repeated)
                continue
        out.append(p)
    return tuple(out)


def _holes(alt: Pieces) -> int:
    return sum(isinstance(p, Hole) for p in alt)


def make_str(alternatives: Iterable[Pieces], exact: bool = True) -> Str:
    seen: dict[Pieces, None] = {}
    for alt in alternatives:
        seen.setdefault(_normalise(alt), None)
    alts = list(seen)
    if len(alts) > MAX_ALTERNATIVES:
        # keep the ones that carry holes: they are what the rules report
        alts = sorted(alts, key=_holes, reverse=True)[:MAX_ALTERNATIVES]
        exact = False
    return Str(tuple(alts), exact)


def concat(*parts: Str) -> Str:
    alts: list[Pieces] = [()]
    for part in parts:
        alts = [a + b for a in alts for b in (part.alternatives or ((),))]
        if len(alts) > 4 * MAX_ALTERNATIVES:
            alts = sorted(alts, key=_holes, reverse=True)[: 4 * MAX_ALTERNATIVES]
    return make_str(alts, all(p.exact for p in parts) and len(alts) <= MAX_ALTERNATIVES)


def as_str(value: Value, node: cst.CSTNode) -> Str:
    """`value` interpolated at `node`."""
    if isinstance(value, Str):
        return value
    if isinstance(value, Opaque):
        return Str(((Hole(node, value.safety),),))
    if isinstance(value, Seq) and _safety(value) is not Safety.UNSAFE:
        return Str(((Hole(node, _safety(value)),),))
    return Str(((Hole(node, Safety.UNSAFE),),))


def _safety(value: Value) -> Safety:
    if isinstance(value, Opaque):
        return value.safety
    if isinstance(value, Str):
        holes = [p.safety for alt in value.alternatives for p in alt if isinstance(p, Hole)]
        return min(holes, default=Safety.NUMERIC)
    if isinstance(value, Seq):
        return _safety(value.element)
    return Safety.UNSAFE


def configured(value: Value) -> Value:
    """`value` read from the program's own configuration: what it carries is the program's, not input."""
    if isinstance(value, Opaque):
        return Opaque(max(value.safety, Safety.ALLOWED))
    if isinstance(value, Str):
        alts = [
            tuple(Hole(p.node, Safety.ALLOWED, p.repeated) if isinstance(p, Hole) and not p.safety else p for p in alt)
            for alt in value.alternatives
        ]
        return make_str(alts, value.exact)
    if isinstance(value, Seq):
        items = tuple(configured(i) for i in value.items) if value.items is not None else None
        return Seq(configured(value.element), items, value.lengths)
    if isinstance(value, Mapping):
        return Mapping(configured(value.keys), configured(value.values))
    return value  # an Obj stays what it is: a connection held in a module global is still a connection


def repeated(value: Str) -> Str:
    alts = [
        tuple(Text(p.text, True) if isinstance(p, Text) else Hole(p.node, p.safety, True) for p in alt)
        for alt in value.alternatives
    ]
    return make_str(alts, value.exact)


def union(a: Value, b: Value) -> Value:
    if a == b:
        return a
    if isinstance(a, Str) and isinstance(b, Str):
        return make_str((*a.alternatives, *b.alternatives), a.exact and b.exact)
    if isinstance(a, Seq) and isinstance(b, Seq):
        lengths = a.lengths | b.lengths if a.lengths is not None and b.lengths is not None else None
        return Seq(union(a.element, b.element), a.items if a.items == b.items else None, lengths)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return Mapping(union(a.keys, b.keys), union(a.values, b.values))
    if isinstance(a, Obj) and isinstance(b, Obj) and a.kind == b.kind:
        return a
    if isinstance(a, Obj) != isinstance(b, Obj):
        return a if isinstance(a, Obj) else b  # `conn = None` on one path, a connection on the other
    return Opaque(min(_safety(a), _safety(b)))


def union_all(values: Sequence[Value]) -> Value:
    out = values[0] if values else UNKNOWN
    for v in values[1:]:
        out = union(out, v)
    return out


def merge(envs: Sequence[Env | None]) -> Env | None:
    """The environment after paths that meet; None when every path ended (return, raise, ...)."""
    live = [e for e in envs if e is not None]
    if not live:
        return None
    if len(live) == 1:
        return dict(live[0])
    out: Env = {}
    for name in {k for e in live for k in e}:
        values = [e[name] for e in live if name in e]
        if "." in name and len(values) < len(live):
            values.append(UNKNOWN)  # `db.schema` narrowed (or `self.x` set) on some paths only
        out[name] = union_all(values)
    return out


# -- decoding literal text --------------------------------------------------------------------------------------


def _string_text(node: cst.SimpleString) -> str:
    value = node.evaluated_value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _fstring_text(raw: str, node: cst.FormattedString) -> str:
    prefix = node.prefix.lower().replace("f", "")
    if "r" not in prefix and "\\" in raw:
        try:
            quote = node.end
            raw = ast.literal_eval(f"{prefix}{quote}{raw}{quote}")
            return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        except (SyntaxError, ValueError):
            pass
    return raw.replace("{{", "{").replace("}}", "}")


_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
_NUMERIC_CONVERSIONS = set("diouxXeEfFgGc")
_NUMERIC_SPEC = re.compile(r".*[bcdoxXneEfFgG%]$")
_STR_METHODS_KEEP = {"strip", "lstrip", "rstrip", "encode", "decode", "expandtabs", "removeprefix", "removesuffix"}
_STR_METHODS_CASE = {
    "upper": str.upper,
    "lower": str.lower,
    "casefold": str.casefold,
    "title": str.title,
    "capitalize": str.capitalize,
}
_NUMERIC_BUILTINS = {
    "builtins.int",
    "builtins.float",
    "builtins.len",
    "builtins.round",
    "builtins.abs",
    "builtins.bool",
    "builtins.ord",
    "builtins.sum",
    "builtins.min",
    "builtins.max",
    "builtins.hash",
}
_SAFE_ATTRIBUTES = {"db_table", "__tablename__", "model_name", "app_label", "table_name"}
# upper-case like constants, but Django's request keeps its input there: `request.GET["q"]`
_REQUEST_ATTRIBUTES = {"GET", "POST", "FILES", "COOKIES", "META", "REQUEST"}
_DEDENT = {"textwrap.dedent", "inspect.cleandoc"}
_TERMINATING_CALLS = {"abort", "flask.abort", "sys.exit", "builtins.exit", "os._exit"}
_ALLOWLIST_PATTERN = re.compile(r"^\^?[\w\[\]\\\-+*?{},.|()]*\$?$")


@dataclass
class Hooks:
    """What the caller knows that strings do not."""

    qualified: Callable[[cst.BaseExpression], str | None]
    # a call's value when the caller recognises it (a connection, a composed SQL object), else None
    call_value: Callable[[Flow, cst.Call, Env], Value | None] = lambda flow, call, env: None
    # an imported name's value (`django.db.connection` is a connection)
    name_value: Callable[[str], Value | None] = lambda qualified: None
    # a parameter's value from its annotation (`conn: asyncpg.Connection`)
    annotation_value: Callable[[cst.BaseExpression], Value | None] = lambda annotation: None
    # called at every call the function makes, with the environment at that point
    on_call: Callable[[Flow, cst.Call, Env], None] = lambda flow, call, env: None
    # `owner.attr` when the caller knows what it is (`engine.pool` of a recognised engine), else None
    attribute_value: Callable[[Value, str], Value | None] = lambda owner, attr: (
        owner if isinstance(owner, Obj) else None
    )
    # a name the function does not bind, read through `name.attr[key]...`: is it the program's own configuration
    # (a module global or an import that is not input such as flask's `request`)? Gets the whole expression.
    configuration: Callable[[cst.BaseExpression], bool] = lambda node: False


@dataclass
class Flow:
    """Evaluates expressions and runs statements of one function (or the module body)."""

    hooks: Hooks
    constants: Callable[[str], Value | None]  # a module-level name's value
    class_constants: Callable[[str], Value | None] = lambda name: None  # `self.X` / `cls.X`
    returns: list[Value] | None = None  # when set, the values of `return` statements are collected here
    _running: set[str] = field(default_factory=set)

    # -- statements -----------------------------------------------------------------------------------------
    def run_function(self, node: cst.FunctionDef) -> Env | None:
        env: Env = {}
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            ann = param.annotation
            value = self.hooks.annotation_value(ann.annotation) if ann is not None else None
            env[param.name.value] = value or UNKNOWN
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                env[star.name.value] = UNKNOWN
        return self.run(node.body.body, env)

    def run(self, body: Sequence[cst.CSTNode], env: Env | None) -> Env | None:
        for stmt in body:
            if env is None:
                return None
            env = self._statement(stmt, env)
        return env

    def _block(self, node: cst.BaseSuite | None, env: Env | None) -> Env | None:
        if node is None:
            return env
        if isinstance(node, cst.SimpleStatementSuite):
            return self.run(node.body, env)
        return self.run(node.body, env)  # type: ignore[attr-defined]

    def _statement(self, stmt: cst.CSTNode, env: Env) -> Env | None:
        if isinstance(stmt, cst.SimpleStatementLine):
            return self.run(stmt.body, env)
        if isinstance(stmt, cst.Assign):
            self.calls(stmt.value, env)
            value = self.eval(stmt.value, env)
            for target in stmt.targets:
                self._bind(target.target, value, stmt.value, env)
            return env
        if isinstance(stmt, cst.AnnAssign):
            if stmt.value is not None:
                self.calls(stmt.value, env)
                self._bind(stmt.target, self.eval(stmt.value, env), stmt.value, env)
            return env
        if isinstance(stmt, cst.AugAssign):
            self.calls(stmt.value, env)
            self._augmented(stmt, env)
            return env
        if isinstance(stmt, cst.Expr):
            self.calls(stmt.value, env)
            self._mutation(stmt.value, env)
            if isinstance(stmt.value, cst.Call) and self.hooks.qualified(stmt.value.func) in _TERMINATING_CALLS:
                return None
            return env
        if isinstance(stmt, (cst.Return, cst.Raise)):
            for child in (getattr(stmt, "value", None), getattr(stmt, "exc", None)):
                if child is not None:
                    self.calls(child, env)
            if isinstance(stmt, cst.Return) and self.returns is not None:
                self.returns.append(self.eval(stmt.value, env) if stmt.value is not None else UNKNOWN)
            return None
        if isinstance(stmt, (cst.Continue, cst.Break)):
            return None
        if isinstance(stmt, cst.Assert):
            self.calls(stmt.test, env)
            return self.refine(stmt.test, env)[0]
        if isinstance(stmt, cst.If):
            return self._if(stmt, env)
        if isinstance(stmt, cst.For):
            self.calls(stmt.iter, env)
            inside = dict(env)
            self._bind(stmt.target, self.iterate(stmt.iter, env), stmt.iter, inside)
            after = merge([env, self._block(stmt.body, inside)])
            return self._block(stmt.orelse.body, after) if stmt.orelse is not None and after is not None else after
        if isinstance(stmt, cst.While):
            self.calls(stmt.test, env)
            inside = self.refine(stmt.test, env)[0]
            after = merge([env, self._block(stmt.body, inside)])
            return self._block(stmt.orelse.body, after) if stmt.orelse is not None and after is not None else after
        if isinstance(stmt, (cst.Try, cst.TryStar)):
            body = self._block(stmt.body, dict(env))
            if stmt.orelse is not None:
                body = self._block(stmt.orelse.body, body)
            handler_start = merge([env, body]) or env
            ends = [body, *(self._block(h.body, dict(handler_start)) for h in stmt.handlers)]
            after = merge(ends)
            if stmt.finalbody is not None:
                after = self._block(stmt.finalbody.body, after if after is not None else dict(handler_start))
            return after
        if isinstance(stmt, cst.With):
            for item in stmt.items:
                self.calls(item.item, env)
                if item.asname is not None:
                    self._bind(item.asname.name, self.eval(item.item, env), item.item, env)
            return self._block(stmt.body, env)
        if isinstance(stmt, cst.Match):
            self.calls(stmt.subject, env)
            ends = [self._block(case.body, dict(env)) for case in stmt.cases]
            return merge([env, *ends])
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            env[stmt.name.value] = UNKNOWN
            return env
        if isinstance(stmt, cst.Del):
            return env
        if isinstance(stmt, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            for child in children(stmt):
                if isinstance(child, cst.BaseExpression):
                    self.calls(child, env)
        return env

    def _if(self, stmt: cst.If, env: Env) -> Env | None:
        self.calls(stmt.test, env)
        yes, no = self.refine(stmt.test, env)
        after_yes = self._block(stmt.body, yes)
        if isinstance(stmt.orelse, cst.If):
            after_no = self._if(stmt.orelse, no)
        elif isinstance(stmt.orelse, cst.Else):
            after_no = self._block(stmt.orelse.body, no)
        else:
            after_no = no
        return merge([after_yes, after_no])

    def _bind(self, target: cst.BaseExpression, value: Value, source: cst.BaseExpression, env: Env) -> None:
        if isinstance(target, cst.Name):
            env[target.value] = value
            for key in [k for k in env if k.startswith(target.value + ".")]:
                del env[key]  # what a test said about `db.schema` was about the old `db`
        elif (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value in ("self", "cls")
        ):
            env[f"self.{target.attr.value}"] = value  # `self.sql = ...`: read back as `self.sql` in this function
        elif isinstance(target, (cst.Tuple, cst.List)):
            names = [e.value for e in target.elements]
            items = value.items if isinstance(value, Seq) else None
            if isinstance(value, Seq) and value.items is None and isinstance(value.element, Seq):
                items = value.element.items  # `for i, name in enumerate(...)`: the element is a pair
            for i, element in enumerate(names):
                if isinstance(element, cst.StarredElement):
                    element = element.value
                item = items[i] if items is not None and i < len(items) else UNKNOWN
                self._bind(element, item, source, env)

    def _augmented(self, stmt: cst.AugAssign, env: Env) -> None:
        if not isinstance(stmt.target, cst.Name):
            return
        name = stmt.target.value
        current = env.get(name) or self._name(stmt.target, env)
        value = self.eval(stmt.value, env)
        if isinstance(stmt.operator, cst.AddAssign):
            if isinstance(current, Seq):
                env[name] = _extend(current, value)
            elif isinstance(current, Str) or isinstance(value, Str):
                env[name] = concat(as_str(current, stmt.target), as_str(value, stmt.value))
            else:
                env[name] = Opaque(min(_safety(current), _safety(value)))
        elif isinstance(stmt.operator, cst.ModuloAssign) and isinstance(current, Str):
            env[name] = self._percent(current, stmt.value, env)
        else:
            env[name] = _arith(current, value)

    def _mutation(self, expr: cst.BaseExpression, env: Env) -> None:
        """`parts.append("a = %s")`, `params.extend([...])`: keep lists of query pieces and parameters current."""
        if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
            return
        owner = expr.func.value
        if not isinstance(owner, cst.Name) or not isinstance(env.get(owner.value), Seq):
            return
        seq: Seq = env[owner.value]
        method = expr.func.attr.value
        args = [a.value for a in expr.args]
        if method in ("append", "add") and len(args) == 1:
            item = self.eval(args[0], env)
            env[owner.value] = Seq(
                union(seq.element, item),
                seq.items + (item,) if seq.items is not None else None,
                frozenset(n + 1 for n in seq.lengths) if seq.lengths is not None else None,
            )
        elif method == "insert" and len(args) == 2:
            item = self.eval(args[1], env)
            env[owner.value] = Seq(
                union(seq.element, item),
                None,
                frozenset(n + 1 for n in seq.lengths) if seq.lengths is not None else None,
            )
        elif method in ("extend", "update") and len(args) == 1:
            env[owner.value] = _extend(seq, self.eval(args[0], env))
        elif method not in ("count", "index", "copy"):
            env[owner.value] = Seq(seq.element, None, None)

    # -- calls: every call the code makes is offered to the hook, with the environment at that point ----------
    def calls(self, expr: cst.CSTNode, env: Env) -> None:
        found = list(calls_in(expr))
        for call in found:
            self.hooks.on_call(self, call, env)
        for call in found:
            for arg in call.args:
                # a list handed to another function may be changed there: its length is no longer known
                value = env.get(arg.value.value) if isinstance(arg.value, cst.Name) else None
                builtin = (self.hooks.qualified(call.func) or "").startswith("builtins.")  # len(params) is fine
                if isinstance(value, Seq) and value.lengths is not None and not builtin:
                    env[arg.value.value] = Seq(value.element, None, None)

    # -- refinement: what a test tells about a variable on each side ---------------------------------------
    def refine(self, test: cst.BaseExpression, env: Env) -> tuple[Env, Env]:
        yes, no = dict(env), dict(env)
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner_yes, inner_no = self.refine(test.expression, env)
            return inner_no, inner_yes
        if isinstance(test, cst.BooleanOperation):
            if isinstance(test.operator, cst.And):
                left_yes, _ = self.refine(test.left, env)
                both, _ = self.refine(test.right, left_yes)
                return both, no
            _, left_no = self.refine(test.left, env)
            _, neither = self.refine(test.right, left_no)
            return yes, neither
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            op = target.operator
            subset = self._set_of(test.left)
            if subset is not None and isinstance(op, (cst.LessThanEqual, cst.LessThan)):
                allowed = self._members(target.comparator, env)  # `set(cols) <= ALLOWED`: every one is allowed
                if allowed is not None:
                    yes[subset] = _members_of(env.get(subset), allowed)
                return yes, no
            name = _variable(test.left)
            if name is None:
                return yes, no
            if isinstance(op, (cst.In, cst.NotIn)):
                allowed = self._members(target.comparator, env)
                if allowed is not None:
                    (yes if isinstance(op, cst.In) else no)[name] = allowed
            elif isinstance(op, (cst.Equal, cst.NotEqual)):
                other = self.eval(target.comparator, env)
                if isinstance(other, Str) and other.literal is not None:
                    (yes if isinstance(op, cst.Equal) else no)[name] = other
            return yes, no
        if (
            isinstance(test, cst.Call)
            and isinstance(test.func, cst.Attribute)
            and test.func.attr.value == "issubset"
            and len(test.args) == 1
        ):
            subset = self._set_of(test.func.value)
            allowed = self._members(test.args[0].value, env) if subset is not None else None
            if subset is not None and allowed is not None:
                yes[subset] = _members_of(env.get(subset), allowed)
            return yes, no
        if isinstance(test, cst.Call):
            checked = self._checked_name(test, env)
            if checked is not None:
                name, value = checked
                yes[name] = value
        return yes, no

    def _set_of(self, node: cst.BaseExpression) -> str | None:
        """`cols` of `set(cols)`."""
        if (
            isinstance(node, cst.Call)
            and self.hooks.qualified(node.func) in ("builtins.set", "builtins.frozenset")
            and len(node.args) == 1
        ):
            return _variable(node.args[0].value)
        return None

    def _members(self, container: cst.BaseExpression, env: Env) -> Value | None:
        """What a variable is known to be after `x in container`; None if the test proves nothing."""
        value = self.eval(container, env)
        if isinstance(value, Mapping):
            value = Seq(value.keys)
        if isinstance(value, Seq):
            element = value.element
            if isinstance(element, Str) and element.literal_only:
                return element
            return Opaque(Safety.ALLOWED)
        if isinstance(value, Str):
            return None  # `x in "abc"` is a substring test
        return Opaque(Safety.ALLOWED)  # an allowlist we cannot read (an imported constant, `model_fields`)

    def _checked_name(self, call: cst.Call, env: Env) -> tuple[str, Value] | None:
        """`x.isdigit()`, `isinstance(x, int)`, `re.fullmatch(r"[a-z_]+", x)`, `NAME_RE.match(x)` after
        `NAME_RE = re.compile(r"^[a-z_]+$")`: the name and what it then is."""
        func = call.func
        owner = _variable(func.value) if isinstance(func, cst.Attribute) else None
        if owner is not None and not call.args:
            if func.attr.value in ("isdigit", "isdecimal", "isnumeric"):
                return owner, NUMBER
            if func.attr.value == "isidentifier":
                return owner, Opaque(Safety.ALLOWED)
        qualified = self.hooks.qualified(func)
        args = [a.value for a in call.args]
        if qualified == "builtins.isinstance" and len(args) == 2 and isinstance(args[0], cst.Name):
            kinds = args[1].elements if isinstance(args[1], cst.Tuple) else [args[1]]
            names = {self.hooks.qualified(k.value if isinstance(k, cst.Element) else k) for k in kinds}
            if names <= {"builtins.int", "builtins.float", "builtins.bool"}:
                return args[0].value, NUMBER
        checked = _variable(args[1]) if len(args) >= 2 else None
        if qualified in ("re.match", "re.fullmatch") and checked is not None:
            pattern = args[0]
            full = qualified == "re.fullmatch"
            if isinstance(pattern, cst.SimpleString) and _allowlist_regex(_string_text(pattern), full):
                return checked, Opaque(Safety.ALLOWED)
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("match", "fullmatch")
            and len(args) == 1
            and _variable(args[0]) is not None
        ):
            compiled = self.eval(func.value, env)
            if isinstance(compiled, Pattern) and _allowlist_regex(compiled.text, func.attr.value == "fullmatch"):
                return _variable(args[0]), Opaque(Safety.ALLOWED)  # type: ignore[return-value]
        return None

    # -- expressions ----------------------------------------------------------------------------------------
    def eval(self, node: cst.BaseExpression, env: Env) -> Value:
        if isinstance(node, cst.SimpleString):
            return literal(_string_text(node))
        if isinstance(node, cst.ConcatenatedString):
            left = self.eval(node.left, env)
            right = self.eval(node.right, env)
            return concat(as_str(left, node.left), as_str(right, node.right))
        if isinstance(node, cst.FormattedString):
            return self._fstring(node, env)
        if isinstance(node, (cst.Name, cst.Attribute, cst.Subscript)):
            value = (
                self._name(node, env)
                if isinstance(node, cst.Name)
                else self._attribute(node, env)
                if isinstance(node, cst.Attribute)
                else self._subscript(node, env)
            )
            if _safety(value) is Safety.UNSAFE and not isinstance(value, Obj) and self._configured(node, env):
                return configured(value)
            return value
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
            return NUMBER
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node, env)
        if isinstance(node, cst.UnaryOperation):
            inner = self.eval(node.expression, env)
            return NUMBER if isinstance(node.operator, cst.Not) else _arith(inner, NUMBER)
        if isinstance(node, cst.Call):
            return self._call(node, env)
        if isinstance(node, cst.IfExp):
            yes, no = self.refine(node.test, env)
            return union(self.eval(node.body, yes), self.eval(node.orelse, no))
        if isinstance(node, cst.BooleanOperation):
            return union(self.eval(node.left, env), self.eval(node.right, env))
        if isinstance(node, cst.Comparison):
            return NUMBER
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return self._sequence(node.elements, env)
        if isinstance(node, cst.Dict):
            keys, values = [], []
            for element in node.elements:
                if not isinstance(element, cst.DictElement):
                    return Mapping(UNKNOWN, UNKNOWN)
                keys.append(self.eval(element.key, env))
                values.append(self.eval(element.value, env))
            return Mapping(union_all(keys), union_all(values)) if keys else Mapping(EMPTY, EMPTY)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return Seq(self._comprehension(node, env))
        if isinstance(node, cst.Await):
            return self.eval(node.expression, env)
        if isinstance(node, cst.NamedExpr):
            value = self.eval(node.value, env)
            self._bind(node.target, value, node.value, env)
            return value
        return UNKNOWN

    def _configured(self, node: cst.Name | cst.Attribute | cst.Subscript, env: Env) -> bool:
        """`name.attr[key]` (no calls) rooted in a name this function does not bind, that the caller says is
        configuration: a module global, an import. Parameters and locals are in `env`: they are input."""
        root: cst.BaseExpression = node
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            root = root.value
        if not isinstance(root, cst.Name) or root.value in env or root.value in ("self", "cls"):
            return False
        return self.hooks.configuration(node)

    def _name(self, node: cst.Name, env: Env) -> Value:
        name = node.value
        if name in env:
            return env[name]
        if name in ("None", "True", "False"):
            return NUMBER
        qualified = self.hooks.qualified(node)
        if qualified:
            known = self.hooks.name_value(qualified)
            if known is not None:
                return known
        if name not in self._running:
            self._running.add(name)
            try:
                value = self.constants(name)
            finally:
                self._running.discard(name)
            if value is not None:
                if name.isupper() and isinstance(value, Opaque):
                    return Opaque(max(value.safety, Safety.ALLOWED))
                return value
        if name.isupper() and any(c.isalpha() for c in name):
            return Opaque(Safety.ALLOWED)  # a named constant of the program (imported or from a star import)
        return UNKNOWN

    def _attribute(self, node: cst.Attribute, env: Env) -> Value:
        attr = node.attr.value
        key = _variable(node)
        if key is not None and key in env and not key.startswith("self."):
            return env[key]  # `db.schema` after `if not NAME_RE.match(db.schema): raise`
        if isinstance(node.value, cst.Name) and node.value.value in ("self", "cls"):
            if f"self.{attr}" in env:
                return env[f"self.{attr}"]
            value = self.class_constants(attr)
            if value is not None:
                return value
        constant = attr.isupper() and attr not in _REQUEST_ATTRIBUTES and any(c.isalpha() for c in attr)
        if attr in _SAFE_ATTRIBUTES or constant:
            return Opaque(Safety.ALLOWED)  # Model._meta.db_table, settings.TABLE_PREFIX
        if attr in ("value", "name") and isinstance(node.value, cst.Attribute) and node.value.attr.value.isupper():
            return Opaque(Safety.ALLOWED)  # Color.RED.value
        qualified = self.hooks.qualified(node)
        if qualified:
            known = self.hooks.name_value(qualified)
            if known is not None:
                return known
        return self.hooks.attribute_value(self.eval(node.value, env), attr) or UNKNOWN

    def _subscript(self, node: cst.Subscript, env: Env) -> Value:
        owner = self.eval(node.value, env)
        if isinstance(owner, Mapping):
            return owner.values
        if isinstance(owner, Seq):
            return owner.element
        if isinstance(owner, Obj):
            return owner
        if isinstance(owner, Str) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice):
            return _slice(owner, node.slice[0].slice)
        if isinstance(owner, Opaque):
            return Opaque(owner.safety if owner.safety is Safety.ALLOWED else Safety.UNSAFE)
        return UNKNOWN

    def _sequence(self, elements: Sequence[cst.BaseElement], env: Env) -> Seq:
        items = []
        for element in elements:
            if isinstance(element, cst.StarredElement):
                inner = self.eval(element.value, env)
                return Seq(union_all([*items, inner.element if isinstance(inner, Seq) else UNKNOWN]), None, None)
            items.append(self.eval(element.value, env))
        if not items:
            return Seq(EMPTY, (), frozenset({0}))
        return Seq(union_all(items), tuple(items), frozenset({len(items)}))

    def _comprehension(self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp, env: Env) -> Value:
        inner = dict(env)
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            self._bind(clause.target, self.iterate(clause.iter, inner), clause.iter, inner)
            for condition in clause.ifs:
                inner = self.refine(condition.test, inner)[0]
            clause = clause.inner_for_in
        return self.eval(node.elt, inner)

    def iterate(self, node: cst.BaseExpression, env: Env) -> Value:
        """The value of one element when iterating over `node` (a Seq for a pair: `enumerate`, `.items()`)."""
        if isinstance(node, cst.Call):
            qualified = self.hooks.qualified(node.func)
            args = [a.value for a in node.args]
            if qualified == "builtins.range":
                return NUMBER
            if qualified == "builtins.enumerate" and args:
                return Seq(UNKNOWN, (NUMBER, self.iterate(args[0], env)), frozenset({2}))
            if (
                qualified in ("builtins.sorted", "builtins.reversed", "builtins.list", "builtins.set", "builtins.tuple")
                and args
            ):
                return self.iterate(args[0], env)
            if isinstance(node.func, cst.Attribute) and not args:
                owner = self.eval(node.func.value, env)
                if isinstance(owner, Mapping):
                    method = node.func.attr.value
                    if method == "items":
                        return Seq(UNKNOWN, (owner.keys, owner.values), frozenset({2}))
                    if method in ("keys", "values"):
                        return owner.keys if method == "keys" else owner.values
        value = self.eval(node, env)
        if isinstance(value, Mapping):
            value = Seq(value.keys)
        if isinstance(value, Seq):
            return UNKNOWN if value.element == EMPTY else value.element
        if isinstance(value, Opaque) and value.safety is Safety.ALLOWED:
            return value  # iterating a constant of the program
        return UNKNOWN

    def _fstring(self, node: cst.FormattedString, env: Env) -> Str:
        parts: list[Str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(literal(_fstring_text(part.value, node)))
                continue
            value = self.eval(part.expression, env)
            spec = "".join(p.value for p in part.format_spec or () if isinstance(p, cst.FormattedStringText))
            if spec and _NUMERIC_SPEC.match(spec):
                value = NUMBER
            parts.append(as_str(value, part.expression))
        return concat(*parts) if parts else literal("")

    def _binary(self, node: cst.BinaryOperation, env: Env) -> Value:
        op = node.operator
        left = self.eval(node.left, env)
        if isinstance(op, cst.Modulo) and isinstance(left, Str):
            return self._percent(left, node.right, env)
        right = self.eval(node.right, env)
        if isinstance(op, cst.Add):
            if isinstance(left, Seq) and isinstance(right, Seq):
                return _extend(left, right)
            if isinstance(left, Str) or isinstance(right, Str):
                return concat(as_str(left, node.left), as_str(right, node.right))
            return _arith(left, right)
        if isinstance(op, cst.Multiply):
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, Str):
                    return repeated(seq)
                if isinstance(seq, Seq):
                    return Seq(seq.element, None, None)
        return _arith(left, right)

    def _percent(self, template: Str, right: cst.BaseExpression, env: Env) -> Str:
        """`"... %s ..." % args`: each conversion becomes the argument's text (`%d` and friends: digits)."""
        if isinstance(right, cst.Tuple):
            args: list[tuple[Value, cst.CSTNode]] = [(self.eval(e.value, env), e.value) for e in right.elements]
            named: dict[str, tuple[Value, cst.CSTNode]] | None = None
        elif isinstance(right, cst.Dict):
            args = []
            named = {}
            for element in right.elements:
                if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                    named[_string_text(element.key)] = (self.eval(element.value, env), element.value)
        else:
            value = self.eval(right, env)
            args = [(value, right)] if not isinstance(value, Seq) else []
            named = None
            if isinstance(value, Seq) and value.items is not None:
                args = [(item, right) for item in value.items]
        fallback = (UNKNOWN, right)
        alternatives: list[Pieces] = []
        for alt in template.alternatives:
            index = 0
            out: list[Str] = []
            for piece in alt:
                if isinstance(piece, Hole):
                    out.append(Str(((piece,),)))
                    continue
                pos = 0
                for m in _PERCENT.finditer(piece.text):
                    out.append(Str(((Text(piece.text[pos : m.start()], piece.repeated),),)))
                    pos = m.end()
                    conv = m.group("conv")
                    if conv == "%":
                        out.append(literal("%"))
                        continue
                    key = m.group("key")
                    if key is not None:
                        value, where = (named or {}).get(key, fallback)
                    else:
                        value, where = args[index] if index < len(args) else fallback
                        index += 1
                    if conv in _NUMERIC_CONVERSIONS:
                        value = NUMBER
                    out.append(as_str(value, where))
                out.append(Str(((Text(piece.text[pos:], piece.repeated),),)))
            alternatives.extend(concat(*out).alternatives if out else [()])
        return make_str(alternatives, template.exact)

    def _call(self, node: cst.Call, env: Env) -> Value:
        known = self.hooks.call_value(self, node, env)
        if known is not None:
            return known
        func = node.func
        args = [a.value for a in node.args if not a.keyword and not a.star]
        qualified = self.hooks.qualified(func)
        if qualified in _NUMERIC_BUILTINS:
            return NUMBER
        if qualified == "re.compile" and args and isinstance(args[0], cst.SimpleString):
            return Pattern(_string_text(args[0]))
        if qualified in ("builtins.str", "builtins.repr") and len(args) == 1:
            value = self.eval(args[0], env)
            return value if isinstance(value, (Str, Opaque)) else UNKNOWN
        if qualified in _DEDENT and len(args) == 1:
            return self.eval(args[0], env)
        if qualified == "builtins.map" and len(args) == 2:
            caster = self.hooks.qualified(args[0])
            if caster in _NUMERIC_BUILTINS:
                return Seq(NUMBER)
            if caster == "builtins.str":
                return Seq(self.iterate(args[1], env))
            return Seq(UNKNOWN)
        if qualified in ("builtins.list", "builtins.tuple", "builtins.sorted", "builtins.set") and len(args) == 1:
            inner = self.eval(args[0], env)
            return inner if isinstance(inner, Seq) else Seq(self.iterate(args[0], env))
        if not isinstance(func, cst.Attribute):
            maker = self.eval(func, env) if isinstance(func, cst.Name) else None
            return maker if isinstance(maker, Obj) else UNKNOWN  # SessionLocal() is a session
        method = func.attr.value
        owner = self.eval(func.value, env)
        if isinstance(owner, Obj):
            return owner
        if isinstance(owner, Mapping) and method == "get":
            return union_all([owner.values, *(self.eval(a, env) for a in args[1:2])])
        if isinstance(owner, Mapping) and method in ("keys", "values"):
            return Seq(owner.keys if method == "keys" else owner.values)
        if isinstance(owner, Str):
            return self._str_method(owner, method, node, env)
        if isinstance(owner, Opaque) and (method in _STR_METHODS_KEEP or method in _STR_METHODS_CASE):
            return owner
        if isinstance(owner, Opaque) and owner.safety is Safety.ALLOWED and method == "format":
            # a template we cannot read (imported): its arguments are still interpolated somewhere in it
            pieces = [Hole(func.value, Safety.ALLOWED)]
            for arg in node.args:
                pieces.extend((as_str(self.eval(arg.value, env), arg.value).alternatives or ((),))[0])
            return make_str([tuple(pieces)])
        return UNKNOWN

    def _str_method(self, owner: Str, method: str, node: cst.Call, env: Env) -> Value:
        args = [a for a in node.args if not a.star]
        if method == "format":
            return self._format(owner, args, node, env)
        if method == "join" and len(args) == 1:
            return self._join(owner, args[0].value, env)
        if method == "replace" and len(args) >= 2:
            old = self.eval(args[0].value, env)
            if isinstance(old, Str) and old.literal:
                return _replace(owner, old.literal, as_str(self.eval(args[1].value, env), args[1].value))
            return UNKNOWN
        if method in _STR_METHODS_KEEP:
            return owner
        if method in _STR_METHODS_CASE:
            change = _STR_METHODS_CASE[method]
            return make_str(
                [
                    tuple(Text(change(p.text), p.repeated) if isinstance(p, Text) else p for p in alt)
                    for alt in owner.alternatives
                ],
                owner.exact,
            )
        if method in ("count", "find", "index", "startswith", "endswith", "isdigit"):
            return NUMBER
        return UNKNOWN

    def _format(self, template: Str, args: Sequence[cst.Arg], call: cst.Call, env: Env) -> Str:
        positional = [(self.eval(a.value, env), a.value) for a in args if not a.keyword]
        keywords = {a.keyword.value: (self.eval(a.value, env), a.value) for a in args if a.keyword}
        fallback_node: cst.CSTNode = args[0].value if args else call
        alternatives: list[Pieces] = []
        for alt in template.alternatives:
            auto = 0
            out: list[Str] = []
            for piece in alt:
                if isinstance(piece, Hole):
                    out.append(Str(((piece,),)))
                    continue
                try:
                    fields = list(string.Formatter().parse(piece.text))
                except ValueError:
                    out.append(Str(((piece,),)))
                    continue
                for text, field_name, spec, _conversion in fields:
                    out.append(Str(((Text(text, piece.repeated),),)))
                    if field_name is None:
                        continue
                    base = re.split(r"[.\[]", field_name, maxsplit=1)[0]
                    if base == "":
                        value, where = positional[auto] if auto < len(positional) else (UNKNOWN, fallback_node)
                        auto += 1
                    elif base.isdigit():
                        i = int(base)
                        value, where = positional[i] if i < len(positional) else (UNKNOWN, fallback_node)
                    else:
                        value, where = keywords.get(base, (UNKNOWN, fallback_node))
                    if base != field_name:
                        value = UNKNOWN  # `{user.name}`: an attribute of the argument
                    if spec and _NUMERIC_SPEC.match(spec):
                        value = NUMBER
                    out.append(as_str(value, where))
            alternatives.extend(concat(*out).alternatives if out else [()])
        return make_str(alternatives, template.exact)

    def _join(self, separator: Str, iterable: cst.BaseExpression, env: Env) -> Value:
        sep = separator.literal
        if sep is None:
            return UNKNOWN
        value = self.eval(iterable, env)
        if isinstance(value, Str):  # joining the characters of a string: `",".join("?" * n)`
            if value.literal is not None:
                return literal(sep.join(value.literal))
            if value.literal_only:
                chars = sorted({c for alt in value.alternatives for p in alt for c in p.text})  # type: ignore[union-attr]
                return repeated(literal(sep.join(chars)))
            return Opaque(_safety(value))
        if isinstance(value, Mapping):
            value = Seq(value.keys)
        if not isinstance(value, Seq):
            return Opaque(_safety(value))
        if value.items is not None:
            parts: list[Str] = []
            for i, item in enumerate(value.items):
                if i:
                    parts.append(literal(sep))
                parts.append(as_str(item, iterable))
            return concat(*parts) if parts else literal("")
        element = as_str(value.element, iterable)
        # an unknown number of elements: show each alternative once, and mark the whole as repeated
        parts = []
        for i, alt in enumerate(element.alternatives):
            if i:
                parts.append(literal(sep))
            parts.append(Str((alt,)))
        return repeated(concat(*parts)) if parts else literal("")


def _allowlist_regex(text: str, full: bool) -> bool:
    """An anchored pattern of word characters and simple classes: what it accepts cannot break out of a name."""
    anchored = full or (text.startswith("^") and text.endswith("$"))
    return anchored and bool(_ALLOWLIST_PATTERN.match(text)) and " " not in text and "'" not in text


def _variable(node: cst.BaseExpression) -> str | None:
    """The environment's key for a variable, `self.x` or `db.schema`, which a test can narrow."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value in ("self", "cls"):
        return f"self.{node.attr.value}"
    if isinstance(node, cst.Attribute):
        owner = _variable(node.value)
        return f"{owner}.{node.attr.value}" if owner is not None and not owner.startswith("self.") else None
    return None


def _members_of(current: Value | None, allowed: Value) -> Value:
    """A collection (a list, a dict: its keys) whose every element is one of `allowed`."""
    if isinstance(current, Mapping):
        return Mapping(allowed, current.values)
    lengths = current.lengths if isinstance(current, Seq) else None
    return Seq(allowed, None, lengths)


def _extend(seq: Seq, other: Value) -> Seq:
    if isinstance(other, Seq):
        lengths = None
        if seq.lengths is not None and other.lengths is not None:
            lengths = frozenset(a + b for a in seq.lengths for b in other.lengths)
        items = seq.items + other.items if seq.items is not None and other.items is not None else None
        return Seq(union(seq.element, other.element), items, lengths)
    return Seq(union(seq.element, UNKNOWN), None, None)


def _arith(left: Value, right: Value) -> Value:
    if isinstance(left, Opaque) and isinstance(right, Opaque):
        return Opaque(min(left.safety, right.safety))
    return UNKNOWN


def _replace(value: Str, old: str, new: Str) -> Str:
    alternatives: list[Pieces] = []
    for alt in value.alternatives:
        parts: list[Str] = []
        for piece in alt:
            if isinstance(piece, Text) and old in piece.text:
                chunks = piece.text.split(old)
                for i, chunk in enumerate(chunks):
                    if i:
                        parts.append(new)
                    parts.append(Str(((Text(chunk, piece.repeated),),)))
            else:
                parts.append(Str(((piece,),)))
        alternatives.extend(concat(*parts).alternatives if parts else [()])
    return make_str(alternatives, value.exact)


def _slice(value: Str, node: cst.Slice) -> Str:
    """`query[:-5]` trims a trailing ` AND `; other slices keep the text as it is (close enough to read it)."""

    def number(expr: cst.BaseExpression | None) -> int | None:
        if isinstance(expr, cst.Integer):
            return int(expr.value)
        if (
            isinstance(expr, cst.UnaryOperation)
            and isinstance(expr.operator, cst.Minus)
            and isinstance(expr.expression, cst.Integer)
        ):
            return -int(expr.expression.value)
        return None

    lower, upper = number(node.lower), number(node.upper)
    if node.lower is None and upper is not None and upper < 0:
        out = []
        for alt in value.alternatives:
            if alt and isinstance(alt[-1], Text) and len(alt[-1].text) >= -upper:
                alt = (*alt[:-1], Text(alt[-1].text[:upper], alt[-1].repeated))
            out.append(alt)
        return make_str(out, value.exact)
    if node.upper is None and lower is not None and lower > 0:
        out = []
        for alt in value.alternatives:
            if alt and isinstance(alt[0], Text) and len(alt[0].text) >= lower:
                alt = (Text(alt[0].text[lower:], alt[0].repeated), *alt[1:])
            out.append(alt)
        return make_str(out, value.exact)
    return value


_SKIPPED_FIELDS = ("whitespace", "lpar", "rpar", "comma", "leading_lines", "semicolon", "star", "equal", "operator")


@functools.cache
def _child_fields_reversed(kind: type) -> tuple[str, ...]:
    return tuple(f for f in reversed(child_fields(kind)) if not f.startswith(_SKIPPED_FIELDS))


def calls_in(node: cst.CSTNode) -> Iterator[cst.Call]:
    """Calls inside an expression, outermost first; lambdas are their own scopes.

    It reads the nodes' fields directly: libcst's `children` rebuilds every node it visits, which made this walk
    the most expensive step of the whole analysis."""
    stack: list[Any] = [node]
    while stack:  # type() tests: isinstance against libcst's ABC-derived classes costs several times more
        current = stack.pop()
        kind = type(current)
        if kind is list or kind is tuple:
            stack.extend(reversed(current))
            continue
        if current is None or current is cst.MaybeSentinel.DEFAULT or kind is cst.Lambda:
            continue
        if kind is cst.Call:
            yield current
        for name in _child_fields_reversed(kind):
            stack.append(getattr(current, name))
