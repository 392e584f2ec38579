"""The rule model: what a rule declares, how it reports, how its options reach it.

A per-file rule is a visitor with libcst's hook names (`visit_Call`, `leave_FunctionDef`, `visit_If_body`): every
enabled rule runs in one traversal of a file parsed once (engine/walk.py).
It reports through `report(node, message)`; the engine fills position, fingerprint and suppression later, so a
rule decides only *what* is wrong. A project rule reads every file's Facts after the per-file pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from p21_lint import cst
from p21_lint.model import Level

_NO_DEFAULT = object()

if TYPE_CHECKING:
    from p21_lint.engine.context import FileContext
    from p21_lint.engine.project import Project, ProjectReport

HELP_URL = "https://github.com/p21-lint/p21-lint/blob/main/rules/{code}.md"


@dataclass(frozen=True)
class RuleOption:
    name: str  # kebab-case, as written under [tool.p21-lint.rules.CODE]
    type: type
    default: Any
    help: str

    def check(self, value: Any, where: str) -> Any:
        ok = isinstance(value, self.type) and not (self.type is int and isinstance(value, bool))
        if ok and self.type is list:
            ok = all(isinstance(item, type(self.default[0]) if self.default else str) for item in value)
        if not ok:
            raise TypeError(f"{where}: option `{self.name}` must be a {self.type.__name__}, not {value!r}")
        return tuple(value) if isinstance(value, list) else value


class RuleMeta:
    """What every rule declares. Also the whole of a rule that the engine itself reports (P21xxx)."""

    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case
    standard: ClassVar[str]  # the line of the backend standard it enforces
    severity: ClassVar[Level] = Level.MEDIUM
    confidence: ClassVar[Level] = Level.HIGH
    cwe: ClassVar[int | None] = None
    OPTIONS: ClassVar[tuple[RuleOption, ...]] = ()
    version: ClassVar[int] = 1  # bump when behaviour changes: part of the cache key

    @classmethod
    def help_url(cls) -> str:
        return HELP_URL.format(code=cls.code)

    @classmethod
    def resolve_options(cls, given: dict[str, Any], where: str) -> dict[str, Any]:
        """Defaults overlaid with `given`; unknown names and wrong types raise (they become config errors)."""
        declared = {o.name: o for o in cls.OPTIONS}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            known = ", ".join(declared) or "none"
            raise KeyError(f"{where}: rule {cls.code} has no option `{unknown[0]}` (its options: {known})")
        resolved = {name: o.default for name, o in declared.items()}
        for name, value in given.items():
            resolved[name] = declared[name].check(value, where)
        return resolved


class Rule(RuleMeta):
    """A per-file rule. Subclasses define visit_<Node> / leave_<Node> methods and call `self.report`.

    Not a subclass of libcst's visitor classes (the walk needs only the hook names), so that defining rules does not
    load libcst (p21_lint/cst.py). `METADATA_DEPENDENCIES` and `get_metadata` work as on libcst's
    `MetadataDependent`."""

    # libcst metadata providers the rule reads with `get_metadata`: computed per file before the walk, at a cost
    # (PositionProvider alone costs several times the parse)
    METADATA_DEPENDENCIES: ClassVar[tuple[Any, ...]] = ()

    # Byte strings of which at least one must occur in a file for the rule to run on it: a pre-filter that lets
    # files no rule can concern skip libcst entirely. Empty means the rule runs on every file.
    TRIGGERS: ClassVar[tuple[bytes, ...]] = ()
    # Whether the rule runs on test code (files under the configured `tests` folders).
    IN_TESTS: ClassVar[bool] = True

    def __init__(self, context: FileContext, options: dict[str, Any]) -> None:
        self.context = context
        self.options = options
        self.metadata: dict[Any, Any] = {}  # provider -> {node: value}, filled by the runner

    def get_metadata(self, key: Any, node: cst.CSTNode, default: Any = _NO_DEFAULT) -> Any:
        """The value of metadata provider `key` (one of METADATA_DEPENDENCIES) for `node`."""
        if key not in self.METADATA_DEPENDENCIES:
            raise KeyError(f"{type(self).__name__} reads {key.__name__} without declaring it in METADATA_DEPENDENCIES")
        if default is _NO_DEFAULT:
            return self.metadata[key][node]
        return self.metadata[key].get(node, default)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr, value in vars(cls).items():
            # matcher decorators silently never fire on a batched visitor (STYLE.md anti-pattern 9)
            if hasattr(value, "_call_if_inside_matcher") or hasattr(value, "_visit_matcher"):
                raise TypeError(f"{cls.__name__}.{attr}: matcher decorators do not work on batched rules")

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        severity: Level | None = None,
        confidence: Level | None = None,
        sensitive: bool = False,
    ) -> None:
        """`sensitive`: the node holds a secret, so no renderer may show its source line."""
        self.context.add_report(
            self, node, message, severity or self.severity, confidence or self.confidence, sensitive=sensitive
        )

    @classmethod
    def wants(cls, source: bytes) -> bool:
        return not cls.TRIGGERS or any(t in source for t in cls.TRIGGERS)


class ProjectRule(RuleMeta):
    """A rule over the whole project: reads every file's Facts, reports with explicit locations."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def check(self, project: Project, out: ProjectReport) -> None:
        raise NotImplementedError


class EngineRule(RuleMeta):
    """A code the engine itself reports (suppression hygiene). Listed, documented and selectable like any rule."""


def rule_classes() -> Iterable[type[RuleMeta]]:
    from p21_lint.rules import ALL_RULES

    return ALL_RULES
