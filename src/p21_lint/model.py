"""The data p21-lint passes around: findings, tool errors, gate results, the report.

Everything here is frozen and picklable, so the per-file pass can run in worker processes and be cached, and
JSON round-trippable (`to_plain` / `from_plain`), so a `--shard` run can hand its part to `p21-lint merge`.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from p21_lint.analysis.routes import facts as routes


class Level(enum.IntEnum):
    """One ranking for both axes, as bandit ranks severity and confidence."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @classmethod
    def parse(cls, text: str) -> "Level":
        return cls[text.strip().upper()]

    def __str__(self) -> str:
        return self.name.lower()


Severity = Level
Confidence = Level


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """Repo-relative POSIX path; 1-based lines and columns."""

    path: str
    line: int
    column: int = 1
    end_line: int = 0
    end_column: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str
    location: Location
    severity: Level = Level.MEDIUM
    confidence: Level = Level.HIGH
    source: str = "p21"  # who found it: p21, bandit, coverage, ruff
    rule_name: str = ""
    cwe: int | None = None
    help_url: str = ""
    fingerprint: str = ""
    suppressed: bool = False
    suppressed_by: str = ""  # comment | per-file-ignores | baseline
    outside_diff: bool = False  # on a line --diff-base does not touch: shown, never fails a gate
    sensitive: bool = False  # the flagged code holds a secret: renderers never show its source line

    @property
    def counts(self) -> bool:
        """Whether this finding can fail its gate."""
        return not self.suppressed and not self.outside_diff

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path, loc.line, loc.column, self.code, self.message)


@dataclass(frozen=True, slots=True)
class ToolError:
    """Something could not be checked. Never a finding and never a pass."""

    source: str  # parse, read, rule:ERR001, bandit, coverage, config, ...
    path: str
    message: str

    def sort_key(self) -> tuple:
        return (self.path, self.source, self.message)


class Status(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class GateResult:
    name: str
    status: Status
    findings: tuple[Finding, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True, slots=True)
class ErrorClass:
    """A module-level exception class, with what its constructor takes (for the API error type and its code enum)."""

    name: str
    line: int
    # (name, qualified annotation or "") of its own `__init__` parameters and class-level fields; None: it has neither
    params: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class HandlerRegistration:
    """An exception handler registered with the app: `@app.exception_handler(APIError)`, `errorhandler`, ..."""

    exception: str  # qualified name of the handled type; "*" for a catch-all (DRF EXCEPTION_HANDLER)
    line: int
    how: str  # the registering call or setting, for messages


@dataclass(frozen=True, slots=True)
class RaiseSite:
    """An error leaving a function: `raise X(...)`, `abort(...)`, or an error payload returned with a success status."""

    kind: str  # raise, abort, payload
    target: str  # qualified name of what is raised or called ("" for a payload)
    where: str  # route, service or "" (elsewhere)
    function: str  # enclosing function
    line: int
    attributes: tuple[str, ...] = ()  # qualified names of attribute arguments (`ErrorCode.NOT_FOUND`)
    free_string: bool = False  # the arguments are literals only, at least one of them a string


@dataclass(frozen=True, slots=True)
class Facts:
    """What one file tells the project pass. Small and picklable; extended by the analyses that need more."""

    path: str
    module: str
    is_test: bool = False
    # module-level name -> qualified name it is bound to (imports and simple aliases)
    imports: tuple[tuple[str, str], ...] = ()
    # module-level classes defined here: (name, qualified base names)
    classes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # error handling (analysis/errors.py): exception classes, registered handlers, raises in routes and services
    error_classes: tuple[ErrorClass, ...] = ()
    exception_handlers: tuple[HandlerRegistration, ...] = ()
    raise_sites: tuple[RaiseSite, ...] = ()
    # the route table (analysis/routes): apps, routers and their routes, auth evidence, Django urls, test requests
    route_objects: tuple[routes.ObjectDef, ...] = ()
    route_decls: tuple[routes.RouteDecl, ...] = ()
    route_mounts: tuple[routes.Mount, ...] = ()
    route_hooks: tuple[routes.Hook, ...] = ()
    route_helper_calls: tuple[routes.HelperCall, ...] = ()
    web_functions: tuple[routes.FunctionInfo, ...] = ()
    web_classes: tuple[routes.ClassInfo, ...] = ()
    type_aliases: tuple[routes.Alias, ...] = ()
    constants: tuple[routes.Const, ...] = ()
    url_entries: tuple[routes.UrlEntry, ...] = ()
    router_registrations: tuple[routes.RouterRegistration, ...] = ()
    client_calls: tuple[routes.ClientCall, ...] = ()

    def merge(self, fields: dict[str, Any]) -> "Facts":
        return replace(self, **fields) if fields else self


@dataclass(frozen=True, slots=True)
class Suppression:
    """A `# p21: ignore[...]` comment. `codes` is empty for a blanket one (which suppresses nothing)."""

    line: int
    codes: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class FileResult:
    """The per-file pass's answer for one file."""

    path: str
    findings: tuple[Finding, ...] = ()
    facts: Facts | None = None
    errors: tuple[ToolError, ...] = ()
    suppressions: tuple[Suppression, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    gates: tuple[GateResult, ...]
    errors: tuple[ToolError, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)
    shard: Any = None  # a `--shard I/N` check: what its part hands to `p21-lint merge` (shard.ShardData)

    @property
    def verdict(self) -> str:
        if self.errors or any(g.status is Status.ERROR for g in self.gates):
            return "error"
        if any(g.status is Status.FAIL for g in self.gates):
            return "fail"
        return "pass"

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(sorted((f for g in self.gates for f in g.findings), key=Finding.sort_key))

    @property
    def exit_code(self) -> int:
        return {"pass": 0, "fail": 1, "error": 2}[self.verdict]


# -- JSON data: records out and back in, read by their field types (no pickle: a report is data, never code) -------

def to_plain(value: Any) -> Any:
    """`value` as JSON data: a record as an object of the fields that differ from their defaults, a tuple as a list,
    an enum by name, a path as a POSIX string."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.default is dataclasses.MISSING or getattr(value, f.name) != f.default
        }
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, PurePath):
        return value.as_posix()
    return value


def from_plain(kind: Any, data: Any) -> Any:
    """JSON data made by `to_plain` as a value of type `kind` (a record class or a field's annotation). A field the
    record does not have is an error, never dropped."""
    if data is None:
        return None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], item) for item in data)
        return tuple(from_plain(arm, item) for arm, item in zip(args, data))
    if origin in (typing.Union, types.UnionType):  # `str | tuple[str, ...]`: the arm the JSON shape says
        for arm in args:
            shape = typing.get_origin(arm) or arm
            if (isinstance(data, list) and shape is tuple) or (isinstance(data, dict) and dataclasses.is_dataclass(arm)):
                return from_plain(arm, data)
            if isinstance(arm, type) and issubclass(arm, (enum.Enum, PurePath)) and isinstance(data, str):
                return from_plain(arm, data)
        return data
    if origin is not None:  # dict[str, Any]: as stored
        return data
    if dataclasses.is_dataclass(kind):
        hints = _field_types(kind)
        unknown = set(data) - set(hints)
        if unknown:
            raise ValueError(f"{kind.__name__} has no field {min(unknown)!r}")
        return kind(**{name: from_plain(hints[name], item) for name, item in data.items()})
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind[data]
    if isinstance(kind, type) and issubclass(kind, PurePath):
        return Path(data)
    return data


@functools.cache
def _field_types(kind: type) -> dict[str, Any]:
    from p21_lint.analysis.routes import facts as routes_facts  # Facts' annotations name it (see the top)

    return typing.get_type_hints(kind, localns={"routes": routes_facts})
