"""Qualified names without libcst's ScopeProvider.

`NameTracker` runs first in the batched traversal and keeps a stack of scopes built from the import statements,
definitions and assignments seen so far, so `from sqlalchemy import text as t; t(q)` resolves `t` to
`sqlalchemy.text` and `import sqlalchemy as sa; sa.text` to the same, while a local `def text` or a parameter named
`text` shadows the import. It costs one dict update per binding, against ScopeProvider's whole-tree analysis
(PERFORMANCE.md: 4x a parse). Relative imports resolve against the file's own module name.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

from p21_lint import cst

LOCAL = ""  # a binding whose value is not a known qualified name (a local variable, a parameter)
_BUILTINS = frozenset(dir(builtins))


@dataclass
class Scope:
    kind: str  # module, class, function
    name: str
    bindings: dict[str, str] = field(default_factory=dict)


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def absolute_module(module: str, is_package: bool, level: int, name: str) -> str:
    """Resolve `from <level dots><name> import ...` in `module`."""
    if level == 0:
        return name
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    return ".".join([*parts, name] if name else parts)


class NameTracker:
    """Qualified names in scope, kept up to date by the walk (engine/walk.py) through libcst's hook names."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.scopes: list[Scope] = [Scope("module", module)]

    # -- queries -------------------------------------------------------------------------------------------
    def lookup(self, name: str) -> str | None:
        """The qualified name `name` is bound to here, LOCAL for a plain variable, None if unknown."""
        innermost = len(self.scopes) - 1
        for i in range(innermost, -1, -1):
            scope = self.scopes[i]
            if scope.kind == "class" and i != innermost:
                continue  # class bodies are not enclosing scopes for the functions inside them
            if name in scope.bindings:
                return scope.bindings[name]
        if name in _BUILTINS:
            return f"builtins.{name}"
        return None

    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        """`sqlalchemy.text` for `t` after `from sqlalchemy import text as t`; None for locals and unknowns."""
        if isinstance(node, cst.Name):
            bound = self.lookup(node.value)
            return bound or None
        if isinstance(node, cst.Attribute):
            base = self.qualified_name(node.value)
            return f"{base}.{node.attr.value}" if base else None
        return None

    def scope_path(self) -> str:
        """`Class.method` of the innermost function or class, for fingerprints and messages."""
        return ".".join(s.name for s in self.scopes[1:])

    @property
    def in_function(self) -> bool:
        return any(s.kind == "function" for s in self.scopes)

    def module_bindings(self) -> dict[str, str]:
        """Module-level names bound to something from elsewhere (imports, aliases); the module's own defs are not."""
        return {k: v for k, v in self.scopes[0].bindings.items() if v and v != self._own_at_module(k)}

    def _own_at_module(self, name: str) -> str:
        return f"{self.module}.{name}" if self.module else name

    # -- bindings ------------------------------------------------------------------------------------------
    def bind(self, name: str, value: str) -> None:
        self.scopes[-1].bindings[name] = value

    def _own(self, name: str) -> str:
        scope = self.scopes[-1]
        return self._own_at_module(name) if scope.kind == "module" else LOCAL

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.bind(alias.asname.name.value, full)
            else:  # `import a.b` binds `a`
                top = full.split(".")[0]
                self.bind(top, top)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        name = dotted(node.module) if node.module is not None else ""
        base = absolute_module(self.module, self.is_package, len(node.relative), name or "")
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            imported = dotted(alias.name) or ""
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else imported
            self.bind(local, f"{base}.{imported}" if base else imported)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.bind(node.name.value, self._own(node.name.value))

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self._enter_function(node.name.value, node.params)

    def _enter_function(self, name: str, params: cst.Parameters) -> None:
        scope = Scope("function", name)
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            scope.bindings[param.name.value] = LOCAL
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.bindings[star.name.value] = LOCAL
        self.scopes.append(scope)

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.bind(node.name.value, self._own(node.name.value))

    def visit_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.scopes.append(Scope("class", node.name.value))

    def leave_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.scopes.pop()

    # Bindings happen on leave: the value is evaluated before the name is bound, so in `json = json.loads(body)`
    # the call is still `json.loads`.
    def leave_Assign(self, node: cst.Assign) -> None:
        alias = self.qualified_name(node.value) if len(node.targets) == 1 else None
        for target in node.targets:
            self._bind_target(target.target, alias)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind_target(node.target, None)

    def visit_For_body(self, node: cst.For) -> None:  # after the iterable
        self._bind_target(node.target, None)

    def leave_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name, None)

    def leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, None)

    def visit_ExceptHandler_body(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name, None)

    def visit_ExceptStarHandler_body(self, node: cst.ExceptStarHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name, None)

    def visit_Lambda_body(self, node: cst.Lambda) -> None:  # a lambda is a function: its parameters shadow
        self._enter_function("<lambda>", node.params)

    def leave_Lambda_body(self, node: cst.Lambda) -> None:
        self.scopes.pop()

    def _bind_target(self, target: cst.BaseExpression, alias: str | None) -> None:
        if isinstance(target, cst.Name):
            # `session_factory = sessionmaker` keeps the alias; anything else is the variable itself
            self.bind(target.value, alias or self._own(target.value))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, None)
