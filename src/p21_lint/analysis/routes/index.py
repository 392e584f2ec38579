"""Every file's route facts in one place, with names followed across modules.

A name is recorded as the file that uses it sees it (`app.api.routes.users` after `from app.api.routes import
users`); `canon` follows re-exports and aliases through each module's import table (`Facts.imports`) to the
module that defines it, so `from .users import router as users_router` and `app.api.routes.users_router` both
reach `app.api.routes.users.router`.
"""

from __future__ import annotations

from typing import Iterable

from p21_lint.analysis.routes.facts import (
    Alias,
    ClassInfo,
    Const,
    FunctionInfo,
    ObjectDef,
    PathParts,
)
from p21_lint.model import Facts


class Index:
    def __init__(self, facts: Iterable[Facts]) -> None:
        self.files = sorted(facts, key=lambda f: f.path)
        self.modules = {f.module: f for f in self.files}
        self.imports = {f.module: dict(f.imports) for f in self.files}
        self._canon: dict[str, str] = {}
        app = [f for f in self.files if not f.is_test]
        self.objects: dict[str, tuple[ObjectDef, Facts]] = {}
        self.functions: dict[str, tuple[FunctionInfo, Facts]] = {}
        self.classes: dict[str, tuple[ClassInfo, Facts]] = {}
        self.bases: dict[str, tuple[str, ...]] = {}
        self.aliases: dict[str, Alias] = {}
        for f in app:
            for o in f.route_objects:
                self.objects[o.name] = (o, f)
            for fn in f.web_functions:
                self.functions[fn.name] = (fn, f)
            for c in f.web_classes:
                self.classes[c.name] = (c, f)
            for name, bases in f.classes:
                self.bases[f"{f.module}.{name}" if f.module else name] = bases
            for a in f.type_aliases:
                self.aliases[a.name] = a
        # constants from tests too: a test's URL may use a constant of its own package
        self.consts: dict[str, Const] = {c.name: c for f in self.files for c in f.constants}

    # -- names ---------------------------------------------------------------------------------------------------
    def canon(self, name: str) -> str:
        if name in self._canon:
            return self._canon[name]
        result = self._follow(name, 0)
        self._canon[name] = result
        return result

    def _follow(self, name: str, depth: int) -> str:
        if depth > 12 or not name or name.startswith("?"):
            return name
        parts = name.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:i])
            table = self.imports.get(module)
            if table is None:
                continue
            bound = table.get(parts[i])
            if bound and bound != f"{module}.{parts[i]}":
                return self._follow(".".join([bound, *parts[i + 1 :]]), depth + 1)
            return name
        return name

    def short(self, name: str) -> str:
        return name.rsplit(".", 1)[-1]

    def file_of(self, name: str) -> Facts | None:
        """The file that defines `name` (the longest module prefix)."""
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            module = ".".join(parts[:i])
            if module in self.modules:
                return self.modules[module]
        return None

    # -- classes -----------------------------------------------------------------------------------------------
    def ancestors(self, name: str) -> list[str]:
        """Canonical names of a class's bases, transitively, nearest first (project classes expanded)."""
        out: list[str] = []
        todo = [self.canon(name)]
        while todo:
            current = todo.pop(0)
            for base in self.bases.get(current, ()):
                base = self.canon(base)
                if base not in out and base != name:
                    out.append(base)
                    todo.append(base)
        return out

    def lineage(self, name: str) -> list[str]:
        canon = self.canon(name)
        return [canon, *self.ancestors(canon)]

    def class_attr(self, name: str, attr: str) -> tuple[tuple[str, ...], str] | None:
        """A view attribute (`permission_classes`) found on the class or its nearest project base: (values, owner)."""
        for cls in self.lineage(name):
            entry = self.classes.get(cls)
            if entry is not None:
                found = entry[0].attr(attr)
                if found is not None:
                    return found, cls
        return None

    def subclasses(self, roots: set[str]) -> set[str]:
        found = set(roots)
        changed = True
        while changed:
            changed = False
            for name, bases in self.bases.items():
                if name not in found and any(self.canon(b) in found for b in bases):
                    found.add(name)
                    changed = True
        return found

    # -- constants -----------------------------------------------------------------------------------------------
    def resolve(self, name: str, depth: int = 0) -> tuple[str | None, str]:
        """The string a constant or settings attribute holds: (value, how); (None, why not) if unknown."""
        canon = self.canon(name)
        const = self.consts.get(canon)
        if const is None:
            base, _, attr = canon.rpartition(".")
            entry = self.objects.get(self.canon(base)) if base else None
            if entry is not None:  # settings = Settings(); settings.API_V1_STR -> Settings.API_V1_STR
                for cls in self.lineage(entry[0].ctor):
                    const = self.consts.get(f"{cls}.{attr}")
                    if const is not None:
                        break
        how = ""
        if const is None:
            const, how = self._by_name(canon)
        if const is None:
            return None, f"`{self.short(canon)}` has no value visible in the code"
        if isinstance(const.value, tuple):
            return None, f"`{self.short(canon)}` is a list"
        if const.parts and depth < 8:
            text, why = self.join(const.parts, depth + 1)
            return text, why or how
        return const.value, how

    def _by_name(self, canon: str) -> tuple[Const | None, str]:
        """`settings.API_V1_STR` whose settings object cannot be followed: a class attribute of that name, if unique."""
        attr = self.short(canon)
        base = self.short(canon.rpartition(".")[0]).lower()
        if "." not in canon or not (attr.isupper() or "settings" in base or "config" in base):
            return None, ""
        found = [c for n, c in self.consts.items() if n.rsplit(".", 1)[-1] == attr and isinstance(c.value, str)]
        values = {c.value for c in found if not c.parts}
        if len(values) == 1 and not any(c.parts for c in found):
            return found[0], f"`{attr}` taken from `{found[0].name}`"
        return None, ""

    def join(self, parts: PathParts, depth: int = 0) -> tuple[str | None, str]:
        """Parts -> text, when every piece resolves."""
        out = []
        for kind, text in parts:
            if kind == "":
                out.append(text)
            elif kind == "ref":
                value, why = self.resolve(text, depth)
                if value is None:
                    return None, why
                out.append(value)
            else:
                return None, f"`{text}` cannot be known statically"
        return "".join(out), ""

    def setting(self, suffix: str) -> tuple[str, ...] | None:
        """A list setting wherever it is defined: `REST_FRAMEWORK.DEFAULT_PERMISSION_CLASSES`, `MIDDLEWARE`."""
        for name, const in sorted(self.consts.items()):
            if (name == suffix or name.endswith("." + suffix)) and isinstance(const.value, tuple):
                return const.value
        return None

    def setting_str(self, suffix: str) -> str | None:
        for name, const in sorted(self.consts.items()):
            if name.endswith("." + suffix) and isinstance(const.value, str) and not const.parts:
                return const.value
        return None
