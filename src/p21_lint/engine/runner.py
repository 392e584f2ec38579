"""The per-file pass: source bytes + settings -> findings, Facts and suppressions. A pure function.

Cost control (PERFORMANCE.md): a file is parsed by libcst only if some enabled rule or fact collector can
concern it (byte triggers), every rule shares one batched traversal, no tree copy is made, and positions are
computed only for files that have something to report.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any, Callable

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from p21_lint.analysis.facts import COLLECTORS, FactCollector
from p21_lint.analysis.names import NameTracker
from p21_lint.engine.context import FileContext, PendingReport
from p21_lint.engine.registry import rule_by_code
from p21_lint.engine.rule import Rule
from p21_lint.engine.fingerprint import fingerprint
from p21_lint.engine.suppress import find_suppressions
from p21_lint.model import Facts, FileResult, Finding, Location, ToolError


@dataclass(frozen=True, slots=True)
class FileSettings:
    """Everything the per-file pass needs besides the bytes; picklable, and part of the cache key."""

    rules: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]  # enabled per-file rules: (code, options)


def check_source(path: str, module_name: str, is_test: bool, source: bytes, settings: FileSettings) -> FileResult:
    suppressions = find_suppressions(source)
    rule_classes = [
        (cls, dict(options))
        for code, options in settings.rules
        if (cls := rule_by_code(code)) is not None and issubclass(cls, Rule)
        and (cls.IN_TESTS or not is_test) and cls.wants(source)
    ]
    collectors = [c for c in COLLECTORS if c.wants(source)]
    facts = Facts(path=path, module=module_name, is_test=is_test)
    if not rule_classes and not collectors:
        return FileResult(path=path, facts=facts, suppressions=suppressions)

    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        msg = f"syntax error at line {exc.raw_line}, column {exc.raw_column + 1}: {exc.message}"
        return FileResult(path=path, facts=facts, errors=(ToolError("parse", path, msg),), suppressions=suppressions)
    except (RecursionError, MemoryError):
        msg = "too deeply nested to parse"
        return FileResult(path=path, facts=facts, errors=(ToolError("parse", path, msg),), suppressions=suppressions)
    except Exception as exc:  # libcst raises plain exceptions for undecodable bytes and the like
        msg = f"cannot be parsed: {type(exc).__name__}: {exc}"
        return FileResult(path=path, facts=facts, errors=(ToolError("parse", path, msg),), suppressions=suppressions)

    tracker = NameTracker(module_name, is_package=path.endswith("__init__.py"))
    context = FileContext(path, module_name, is_test, module, tracker)
    rules = [cls(context, options) for cls, options in rule_classes]
    facts_visitors = [c(context) for c in collectors]
    errors: list[ToolError] = []
    guarded = [_Guard(v, errors, path) for v in (*rules, *facts_visitors)]
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    try:
        wrapper.visit_batched([tracker, *guarded])
    except RecursionError:
        errors.append(ToolError("parse", path, "too deeply nested to analyse"))
        return FileResult(path=path, facts=facts, errors=tuple(errors), suppressions=suppressions)

    for visitor in facts_visitors:
        if not _Guard.crashed(visitor):
            facts = facts.merge(visitor.collect())
    facts = facts.merge({"imports": tuple(sorted(tracker.module_bindings().items()))})
    findings = _findings(path, context.reports, wrapper) if context.reports else ()
    return FileResult(path=path, findings=findings, facts=facts, errors=tuple(errors), suppressions=suppressions)


def _findings(path: str, reports: list[PendingReport], wrapper: MetadataWrapper) -> tuple[Finding, ...]:
    positions = wrapper.resolve(PositionProvider)
    seen: dict[tuple[str, str, str], int] = {}
    findings = []
    for r in reports:
        pos = positions[r.node]
        snippet = wrapper.module.code_for_node(r.node)
        key = (r.rule.code, " ".join(snippet.split()), r.scope)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        findings.append(
            Finding(
                code=r.rule.code,
                message=r.message,
                location=Location(path, pos.start.line, pos.start.column + 1, pos.end.line, pos.end.column + 1),
                severity=r.severity,
                confidence=r.confidence,
                rule_name=r.rule.name,
                cwe=r.rule.cwe,
                help_url=r.rule.help_url(),
                fingerprint=fingerprint(r.rule.code, path, snippet, r.scope, occurrence),
            )
        )
    return tuple(sorted(findings, key=Finding.sort_key))


class _Guard(cst.BatchableCSTVisitor):
    """Runs one rule's visitor methods; the first exception stops that rule on this file and becomes a ToolError,
    so one crashing rule never takes the other rules or files down with it."""

    def __init__(self, inner: Rule | FactCollector, errors: list[ToolError], path: str) -> None:
        super().__init__()
        self.inner = inner
        self.errors = errors
        self.path = path

    def resolve(self, wrapper: MetadataWrapper):  # type: ignore[override]
        return self.inner.resolve(wrapper)

    @staticmethod
    def crashed(visitor: object) -> bool:
        return getattr(visitor, "_p21_crashed", False)

    def get_visitors(self) -> dict[str, Callable[[cst.CSTNode], Any]]:
        return {name: self._wrap(method) for name, method in self.inner.get_visitors().items()}

    def _wrap(self, method: Callable[[cst.CSTNode], Any]) -> Callable[[cst.CSTNode], Any]:
        inner = self.inner

        def call(node: cst.CSTNode) -> Any:
            if getattr(inner, "_p21_crashed", False):
                return None
            try:
                return method(node)
            except Exception as exc:
                inner._p21_crashed = True  # type: ignore[union-attr]
                where = traceback.extract_tb(exc.__traceback__)[-1]
                who = getattr(inner, "code", type(inner).__name__)
                self.errors.append(
                    ToolError(
                        f"rule:{who}",
                        self.path,
                        f"rule {who} crashed ({type(exc).__name__}: {exc}) at {where.filename.rsplit('/', 1)[-1]}:"
                        f"{where.lineno}; the file's other rules still ran. Please report this.",
                    )
                )
                return None

        return call

