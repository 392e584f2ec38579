"""Reading the expressions routes are made of: names, literal values, URL paths, dependency lists, markers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from p21_lint import cst
from p21_lint.analysis.names import LOCAL, dotted
from p21_lint.analysis.routes.facts import Call, PathParts, Value

if TYPE_CHECKING:
    from p21_lint.engine.context import FileContext

DEPENDS = frozenset({"fastapi.Depends", "fastapi.params.Depends", "fastapi.Security", "fastapi.params.Security",
                     "fastapi.param_functions.Depends", "fastapi.param_functions.Security"})
ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
PUBLIC_MARKER = re.compile(r"#\s*p21:\s*public\b", re.IGNORECASE)


def ref(ctx: FileContext, node: cst.BaseExpression) -> str | None:
    """The qualified name of a Name/Attribute chain; a name bound inside a function becomes
    `module.func.<locals>.name`, so an app made in a factory can still be followed. None otherwise."""
    qualified = ctx.qualified_name(node)
    if qualified:
        return qualified
    text = dotted(node)
    if text is None:
        return None
    head, _, rest = text.partition(".")
    if head in ("self", "cls") or ctx.names.lookup(head) != LOCAL or not ctx.names.in_function:
        return None
    local = f"{scope_prefix(ctx)}.{head}"
    return f"{local}.{rest}" if rest else local


def scope_prefix(ctx: FileContext) -> str:
    """The qualified name of the current scope: `app.main`, `app.main.create_app.<locals>`, `app.views.UserView`."""
    parts = [ctx.module_name] if ctx.module_name else []
    for scope in ctx.names.scopes[1:]:
        parts.append(scope.name)
        if scope.kind == "function":
            parts.append("<locals>")
    return ".".join(parts)


def defined_name(ctx: FileContext, name: str) -> str:
    """The qualified name a def or class statement being visited binds (its scope is not entered yet)."""
    prefix = scope_prefix(ctx)
    return f"{prefix}.{name}" if prefix else name


def unknown(ctx: FileContext, node: cst.CSTNode) -> str:
    """An expression kept as source text, marked as not understood."""
    text = " ".join(ctx.code_for(node).split())
    return "?" + (text if len(text) <= 80 else text[:77] + "...")


def literal(node: cst.BaseExpression) -> str | None:
    """The text of a plain string literal (implicit concatenation included); None for anything else."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def elements(node: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return [e.value for e in node.elements]
    return None


def value(ctx: FileContext, node: cst.BaseExpression) -> Value:
    text = literal(node)
    if text is not None:
        return repr(text)
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return node.value
    if isinstance(node, cst.Integer):
        return node.value
    if isinstance(node, cst.Call):
        name = ref(ctx, node.func)
        return f"{name}()" if name else unknown(ctx, node)
    return ref(ctx, node) or unknown(ctx, node)


def values(ctx: FileContext, node: cst.BaseExpression) -> tuple[Value, ...]:
    """A list/tuple/set flattened to values; a single expression as one value."""
    items = elements(node)
    if items is None:
        return (value(ctx, node),)
    out: list[Value] = []
    for item in items:
        out.extend(values(ctx, item))
    return tuple(out)


def unquote(v: Value) -> str | None:
    """The string of a quoted literal value, else None."""
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return None


def methods(ctx: FileContext, node: cst.BaseExpression) -> tuple[str, ...]:
    return tuple(m.upper() for v in values(ctx, node) if (m := unquote(v)))


def kwarg(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def positional(call: cst.Call, index: int) -> cst.BaseExpression | None:
    found = [a.value for a in call.args if a.keyword is None and not a.star]
    return found[index] if index < len(found) else None


def arg(call: cst.Call, index: int, name: str) -> cst.BaseExpression | None:
    return kwarg(call, name) if kwarg(call, name) is not None else positional(call, index)


def call_info(ctx: FileContext, node: cst.BaseExpression) -> Call | None:
    """A decorator or wrapper as a `Call` record: `@login_required`, `@permission_classes([IsAuthenticated])`."""
    target = node.func if isinstance(node, cst.Call) else node
    name = ref(ctx, target)
    if name is None:
        text = dotted(target)
        if text is None:
            return None
        name = "?" + text
    if not isinstance(node, cst.Call):
        return Call(name)
    if _optional(node):
        name += OPTIONAL
    args = tuple(v for a in node.args if a.keyword is None and not a.star for v in values(ctx, a.value))
    kwargs = tuple((a.keyword.value, values(ctx, a.value)) for a in node.args if a.keyword is not None)
    return Call(name, args, kwargs, called=True)


# -- URL paths -------------------------------------------------------------------------------------------------


def path_parts(ctx: FileContext, node: cst.BaseExpression, local: dict[str, PathParts] | None = None) -> PathParts:
    """A URL path expression as parts: literal text, references to constants, unknown pieces."""
    return _merge(_parts(ctx, node, local or {}))


def _parts(ctx: FileContext, node: cst.BaseExpression, local: dict[str, PathParts]) -> list[tuple[str, str]]:
    text = literal(node)
    if text is not None:
        return [("", text)]
    if isinstance(node, cst.FormattedString):
        out: list[tuple[str, str]] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(("", part.value.replace("{{", "{").replace("}}", "}")))
            elif isinstance(part, cst.FormattedStringExpression):
                out.extend(_parts(ctx, part.expression, local))
        return out
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _parts(ctx, node.left, local) + _parts(ctx, node.right, local)
    if isinstance(node, (cst.Name, cst.Attribute)) and (key := dotted(node)) in local:
        return list(local[key])  # a local name, or `self.base_url` set in setUp
    if isinstance(node, (cst.Name, cst.Attribute)):
        name = ref(ctx, node)  # `settings.API_V1_STR`, also when `settings` is local to an app factory
        if name and not name.startswith("builtins."):
            return [("ref", name)]
    return [("?", unknown(ctx, node)[1:])]


def _merge(parts: list[tuple[str, str]]) -> PathParts:
    out: list[tuple[str, str]] = []
    for kind, text in parts:
        if kind == "" and out and out[-1][0] == "":
            out[-1] = ("", out[-1][1] + text)
        elif kind != "" or text:
            out.append((kind, text))
    return tuple(out)


# -- FastAPI dependencies ----------------------------------------------------------------------------------------


def depends_target(ctx: FileContext, node: cst.BaseExpression) -> str | None:
    """For `Depends(x)` / `Security(x)`: the qualified name of x ("" for `Depends()`, which means the annotation);
    None when `node` is not such a call."""
    if not isinstance(node, cst.Call) or ctx.qualified_name(node.func) not in DEPENDS:
        return None
    target = arg(node, 0, "dependency")
    if target is None:
        return ""
    optional = False
    if isinstance(target, cst.Call):  # Depends(RoleChecker(["admin"])), Depends(users.current_user(active=True))
        optional = _optional(target)
        target = target.func
    name = ref(ctx, target) or unknown(ctx, target)
    return name + OPTIONAL if optional else name


OPTIONAL = "~optional"  # marks a dependency made with `required=False` / `optional=True`: authentication optional


def _optional(call: cst.Call) -> bool:
    """`get_current_user_authorizer(required=False)`, `current_user(optional=True)`, `jwt_required(optional=True)`."""
    for a in call.args:
        if a.keyword is not None and isinstance(a.value, cst.Name):
            if (a.keyword.value, a.value.value) in (("required", "False"), ("optional", "True")):
                return True
    return False


def dependency_list(ctx: FileContext, call: cst.Call) -> tuple[str, ...]:
    """`dependencies=[Depends(a), Security(b)]` -> (a, b)."""
    node = kwarg(call, "dependencies")
    if node is None:
        return ()
    items = elements(node)
    if items is None:
        return (unknown(ctx, node),)
    return tuple(t for item in items if (t := depends_target(ctx, item)))


def annotated_depends(ctx: FileContext, node: cst.BaseExpression) -> tuple[str, ...] | None:
    """`Annotated[T, Depends(x), ...]` -> (x,) (the annotation T for `Depends()`); None when not Annotated."""
    if not isinstance(node, cst.Subscript) or ctx.qualified_name(node.value) not in ANNOTATED:
        return None
    items = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
    found = []
    for item in items[1:]:
        target = depends_target(ctx, item)
        if target == "" and items:
            target = ref(ctx, items[0]) or ""
        if target:
            found.append(target)
    return tuple(found)


# -- markers ---------------------------------------------------------------------------------------------------


def _comments(lines) -> list[str]:
    return [line.comment.value for line in lines if line.comment is not None]


def public_marker(node: cst.FunctionDef | cst.ClassDef) -> bool:
    """A `# p21: public` comment above the definition, on a decorator line or on the def line."""
    comments = _comments(node.leading_lines) + _comments(node.lines_after_decorators)
    for deco in node.decorators:
        comments += _comments(deco.leading_lines)
        if deco.trailing_whitespace.comment is not None:
            comments.append(deco.trailing_whitespace.comment.value)
    body = node.body
    if isinstance(body, cst.IndentedBlock) and body.header.comment is not None:
        comments.append(body.header.comment.value)
    return any(PUBLIC_MARKER.search(c) for c in comments)
