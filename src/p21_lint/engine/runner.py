"""The per-file pass: source bytes + settings -> findings, Facts and suppressions. A pure function.

Cost control (PERFORMANCE.md): a file is parsed by libcst only if some enabled rule or fact collector can
concern it (byte triggers), every rule shares one batched traversal, no tree copy is made, and positions are
computed only for files that have something to report.
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import functools
import io
import tokenize
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from p21_lint import cst
from p21_lint.analysis.facts import COLLECTORS, FactCollector
from p21_lint.analysis.names import NameTracker
from p21_lint.engine.context import FileContext, PendingReport
from p21_lint.engine.fingerprint import fingerprint
from p21_lint.engine.registry import rule_by_code
from p21_lint.engine.rule import Rule
from p21_lint.engine.suppress import find_suppressions
from p21_lint.engine.walk import walk
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
        # No rule needs the tree, but a file that does not parse must still be an error, never a silent pass.
        problem = syntax_problem(source)
        if problem:
            return FileResult(path=path, facts=facts, errors=(ToolError("parse", path, problem),))
        return FileResult(path=path, facts=facts, suppressions=suppressions)

    module, problem = parse(source)
    if module is None:  # its suppressions are dropped: none can be used, and calling them unused is noise
        return FileResult(path=path, facts=facts, errors=(ToolError("parse", path, problem),))

    tracker = NameTracker(module_name, is_package=path.endswith("__init__.py"))
    context = FileContext(path, module_name, is_test, module, tracker)
    errors: list[ToolError] = []
    visitors: list[Rule | FactCollector] = []
    makers = [(cls.code, functools.partial(cls, context, options)) for cls, options in rule_classes]
    makers += [(c.__name__, functools.partial(c, context)) for c in collectors]
    for who, make in makers:
        try:
            visitors.append(make())
        except Exception as exc:  # a rule that fails to start is a crash like any other
            errors.append(crash_error(who, path, exc))
    crashed: set[int] = set()

    def on_error(visitor: object, exc: Exception) -> None:
        crashed.add(id(visitor))
        errors.append(crash_error(getattr(visitor, "code", type(visitor).__name__), path, exc))

    try:
        _metadata(module, visitors, on_error)
        context.starts = walk(module, [tracker, *visitors], on_error)
    except RecursionError:
        errors.append(ToolError("parse", path, "too deeply nested to analyse"))
        return FileResult(path=path, facts=facts, errors=tuple(errors), suppressions=suppressions)

    for visitor in visitors:
        if isinstance(visitor, FactCollector) and id(visitor) not in crashed:
            try:
                facts = facts.merge(visitor.collect())
            except Exception as exc:
                errors.append(crash_error(type(visitor).__name__, path, exc))
    facts = facts.merge({"imports": tuple(sorted(tracker.module_bindings().items()))})
    findings = _findings(path, context.reports, module) if context.reports else ()
    return FileResult(path=path, findings=findings, facts=facts, errors=tuple(errors), suppressions=suppressions)


def _metadata(module: cst.Module, visitors: list, on_error: Callable[[object, Exception], None]) -> None:
    """libcst metadata for the rules that declare METADATA_DEPENDENCIES (none of ours: it costs more than the parse),
    each provider computed once for all of them; a rule whose metadata cannot be computed is a crash of that rule."""
    wanting = [v for v in visitors if getattr(v, "METADATA_DEPENDENCIES", ())]
    if not wanting:
        return
    from libcst.metadata import MetadataWrapper

    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    for visitor in wanting:
        try:
            visitor.metadata = wrapper.resolve_many(visitor.METADATA_DEPENDENCIES)
        except Exception as exc:
            on_error(visitor, exc)
            visitors.remove(visitor)


# Set in pool workers (engine/pool.py): a process libcst may crash, since the pool recovers from a dead worker.
CRASH_CONTAINED = False


def contain_crashes() -> None:
    global CRASH_CONTAINED
    CRASH_CONTAINED = True


def parse(source: bytes) -> tuple[cst.Module | None, str]:
    """The libcst tree, or None and why the file cannot be parsed (a message for the user).

    libcst's native parser overflows its stack on nesting past CPython's limits (about 1,300 brackets, 5,000 unary
    operators) and takes the whole process down with it. Where that would be the user's process, CPython parses
    first (a fifth of libcst's cost) and such a file never reaches libcst; a pool worker parses with libcst at once
    and CPython is asked only why a file failed (the pool recovers from a dead worker: engine/pool.py).
    """
    python_says, safe = (None, True) if CRASH_CONTAINED else _python_verdict(source)
    if not safe:
        return None, python_says
    try:
        with _unvalidated():
            return cst.parse_module(source), ""
    except Exception as exc:  # libcst raises a plain SyntaxError for bytes that do not decode, and the like
        if CRASH_CONTAINED:
            python_says, _ = _python_verdict(source)
        return None, _failure(source, python_says, exc)


@contextlib.contextmanager
def _unvalidated() -> Iterator[None]:
    """libcst checks every node it constructs (`CSTNode.__post_init__` calls `_validate`), a sixth of a parse, though
    its parser builds only what the grammar allows (libcst's own comment there suggests skipping it for parsed
    trees). Nodes built anywhere else (`--fix`) are still checked."""
    validate = cst.CSTNode.__post_init__
    cst.CSTNode.__post_init__ = _trusted  # type: ignore[method-assign]
    try:
        yield
    finally:
        cst.CSTNode.__post_init__ = validate  # type: ignore[method-assign]


def _trusted(self: cst.CSTNode) -> None:
    pass


def _failure(source: bytes, python_says: str | None, exc: Exception) -> str:
    """Why libcst failed, in the words users know best: Python's where it has some."""
    if isinstance(exc, cst.ParserSyntaxError):
        libcst_says = f"syntax error at line {exc.raw_line}, column {exc.raw_column + 1}: {exc.message}"
        if python_says is None:  # valid Python past one of libcst's own limits (e.g. ~4,000 strings concatenated)
            return f"libcst, the parser p21-lint uses, cannot parse this file although Python can ({libcst_says})"
        return python_says or libcst_says
    if isinstance(exc, (RecursionError, MemoryError)):
        return f"{TOO_DEEP} to parse"
    decode_problem = _decode_problem(source)
    if decode_problem:
        return decode_problem
    # libcst's own bugs too (1.9's node checks failed `t"a" t"b"`, adjacent t-strings, with "CSTLogicError")
    libcst_says = f"libcst, the parser p21-lint uses, fails on it ({type(exc).__name__}: {exc})"
    return f"cannot be parsed: {python_says}; {libcst_says}" if python_says else f"{libcst_says}, although Python parses it"


def syntax_problem(source: bytes) -> str:
    """Why `source` does not parse, or "" if it does, for files no rule needs a libcst tree of.

    `ast.parse` costs a sixth to a ninth of a libcst parse (1000-line files: 8-12 ms against 55-94 ms), so it is the
    check; only when it fails does libcst decide, since the running Python may not know syntax that libcst
    parses (3.12 generics on 3.11, 3.14 t-strings): the code checked may be newer than the checker.
    """
    try:
        _ast_parse(source)
        return ""
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    return parse(source)[1]


def _ast_parse(source: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings (invalid escapes) are not ours to print
        ast.parse(source)


TOO_DEEP = "too deeply nested"
# CPython's limits on nesting (tokenizer, parser stack, AST recursion), whatever the version says them in
_PYTHON_TOO_DEEP = ("too many nested parentheses", "too many levels of indentation", "too complex", "recursion")


def python_refuses(source: bytes) -> str:
    """Python's reason not to hand `source` to libcst at all (nesting past its limits, NUL bytes), or ""."""
    says, safe = _python_verdict(source)
    return "" if safe else says or TOO_DEEP


def _python_verdict(source: bytes) -> tuple[str | None, bool]:
    """What the running Python says of `source` (None: it parses; its message is what users know, and better placed
    than libcst's), and whether libcst may be given the file at all."""
    nul = source.find(b"\0")
    if nul >= 0:  # ast.parse would say so too, with no line; libcst's tokenizer points at column 1
        line = source.count(b"\n", 0, nul) + 1
        return f"contains a NUL byte at line {line}, which Python source cannot hold; is it UTF-16 or binary? save it as UTF-8", False
    try:
        _ast_parse(source)
        return None, True
    except (RecursionError, MemoryError):
        return f"{TOO_DEEP} for Python to parse", False
    except SyntaxError as exc:
        if any(limit in exc.msg.lower() for limit in _PYTHON_TOO_DEEP):
            return f"{TOO_DEEP} for Python to parse: {exc.msg} at line {exc.lineno}", False
        says = f"syntax error at line {exc.lineno}, column {exc.offset or 1}: {exc.msg}" if exc.lineno else ""
    except ValueError as exc:
        says = str(exc)
    # A syntax error, or syntax newer than this Python, which libcst may know. Python's error pass tokenizes the
    # whole file, so brackets past its limit are reported instead; deep operator chains in such a file are not.
    return says, True


def _decode_problem(source: bytes) -> str:
    cookie_problem = ""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError as exc:  # an unknown coding cookie, or the first lines are not UTF-8
        encoding, cookie_problem = "utf-8", f"cannot be decoded: {exc.msg}"
        if source.startswith(codecs.BOM_UTF8):  # tokenize's message is only "encoding problem: utf-8"
            cookie_problem = "cannot be decoded: it starts with a UTF-8 byte-order mark but declares another encoding; remove one"
    try:
        source.decode(encoding)
    except UnicodeDecodeError as exc:
        line = source.count(b"\n", 0, exc.start) + 1
        return f"cannot be decoded as {encoding}: {exc.reason} at line {line}; save it as UTF-8 or declare its encoding"
    return cookie_problem


def crash_error(who: str, path: str, exc: Exception) -> ToolError:
    """A rule raised: a tool error naming the rule, the file ("" in the project pass) and where it broke."""
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return ToolError(
        f"rule:{who}",
        path,
        f"rule {who} crashed ({type(exc).__name__}: {exc}) at {where.filename.rsplit('/', 1)[-1]}:"
        f"{where.lineno}; the other rules still ran. Please report this.",
    )


def _findings(path: str, reports: list[PendingReport], module: cst.Module) -> tuple[Finding, ...]:
    from p21_lint.engine.positions import (
        ranges,  # only a file with findings needs positions
    )

    positions = ranges(module, (r.node for r in reports))
    seen: dict[tuple[str, str, str], int] = {}
    findings = []
    for r in reports:
        pos = positions[r.node]
        snippet = module.code_for_node(r.node)
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
                sensitive=r.sensitive,
            )
        )
    return tuple(sorted(findings, key=Finding.sort_key))

