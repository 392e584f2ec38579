"""The coverage gate: coverage.py data against `min-coverage` (COV001) and the business-logic minimum (COV002).

Totals are over the checked non-test files only, computed as coverage.py computes them (statements and, when
the data has them, branches together) and compared with coverage.py's own `fail_under` rounding. Data that is
missing, unreadable or made for another project is a tool error (exit 2), never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from p21_lint.analysis import coverage_data as cd
from p21_lint.config import Config
from p21_lint.diff import ChangedLines
from p21_lint.engine.fingerprint import fingerprint
from p21_lint.engine.rule import EngineRule
from p21_lint.files import SourceFile, matches_any
from p21_lint.model import Finding, GateResult, Level, Location, Status, ToolError

STANDARD_COVERAGE = "All business logic must have unit test coverage >= 80%"
HOW_TO = "run your tests under coverage first, e.g. `coverage run -m pytest` (or `pytest --cov --cov-report=xml`)"
WORST = 5  # files named in the metrics


class TotalCoverage(EngineRule):
    code = "COV001"
    name = "low-total-coverage"
    standard = STANDARD_COVERAGE
    severity = Level.MEDIUM


class BusinessLogicCoverage(EngineRule):
    code = "COV002"
    name = "low-business-logic-coverage"
    standard = STANDARD_COVERAGE
    severity = Level.MEDIUM


class ChangedLinesCoverage(EngineRule):
    code = "COV003"
    name = "low-changed-lines-coverage"
    standard = STANDARD_COVERAGE
    severity = Level.MEDIUM


def coverage_gate(
    files: list[SourceFile], config: Config, changed: ChangedLines | None = None
) -> tuple[GateResult, list[ToolError]]:
    """`changed` (from --diff-base) adds COV003 over the changed lines; then COV001/COV002 are shown, not failing."""
    from p21_lint.engine.registry import select

    options = config.coverage
    diff_minimum = config.min_diff_coverage if config.min_diff_coverage is not None else config.min_coverage
    asked = {
        "COV001": config.min_coverage is not None,
        "COV002": bool(options.business_logic),
        "COV003": changed is not None and diff_minimum is not None,
    }
    if not any(asked.values()):
        note = "no threshold: pass --min-coverage N, or set business-logic in [tool.p21-lint.coverage]"
        return GateResult("coverage", Status.SKIPPED, note=note), []
    selections = {s.rule.code: s for s in select(config) if s.rule.code in asked}
    active = {code for code, wanted in asked.items() if wanted and selections[code].enabled}
    if not active:
        off = "; ".join(f"{code} {selections[code].reason}" for code, wanted in asked.items() if wanted)
        return GateResult("coverage", Status.SKIPPED, note=f"threshold set, but {off}"), []

    try:
        settings = cd.project_settings(config.root)
        path, looked = cd.locate(settings, _explicit(config))
        if path is None:
            where = ", ".join(_show(p, config.root) for p in looked)
            return _error(f"no coverage data at {config.root} (looked for {where}): {HOW_TO}", "no coverage data")
        dataset = cd.load(path)
    except cd.CoverageDataError as exc:
        return _error(str(exc), "coverage data cannot be used")
    try:
        return _evaluate(files, config, settings, dataset, active, changed)
    finally:
        close = getattr(dataset.data, "close", None)  # coverage >= 7.11: release the SQLite connection
        if close is not None:
            close()


@dataclass(frozen=True)
class Threshold:
    """A minimum percentage, compared and displayed as coverage.py's `fail_under` at the project's precision."""

    minimum: float
    precision: int

    def fails(self, numbers: cd.Numbers) -> bool:
        from coverage.results import should_fail_under  # imported only where a threshold is checked

        return should_fail_under(numbers.percent, self.minimum, self.precision)

    def show(self, value: float) -> str:
        """As coverage.py displays it, at the decimals it compares: never "100" unless it is, nor "0"."""
        text = repr(float(self.minimum))
        implied = 0 if self.minimum == int(self.minimum) or "e" in text else len(text.split(".")[1])
        digits = max(self.precision, implied)
        near = 1.0 / 10**digits
        if 0 < value < near:
            value = near
        elif 100 - near < value < 100:
            value = 100 - near
        return f"{round(value, digits):.{digits}f}%"

    def __str__(self) -> str:
        return self.show(self.minimum)


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    errors: list[ToolError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


def _evaluate(
    files: list[SourceFile], config: Config, settings: cd.Settings, dataset: cd.Dataset, active: set[str],
    changed: ChangedLines | None,
) -> tuple[GateResult, list[ToolError]]:
    data_name = _show(dataset.path, config.root)
    checked = [f for f in files if not f.is_test]
    matched = cd.match(dataset, [f.rel for f in checked], settings)
    if not matched:
        what = "holds no measured files" if not dataset.entries else f"matches none of the {len(checked)} checked files"
        message = f"coverage data {data_name} ({dataset.kind}) {what}; was it made for this project? {HOW_TO}"
        return _error(message, f"coverage data {data_name} is not for these files")

    out = Outcome()
    measured: dict[str, cd.FileCoverage] = {}
    for f in checked:
        if f.rel in matched:
            try:
                measured[f.rel] = cd.measure(dataset, matched[f.rel], f.path, f.rel, settings)
            except cd.CoverageDataError as exc:
                out.errors.append(ToolError("coverage", f.rel, str(exc)))
    out.metrics.update({
        "data": data_name,
        "format": dataset.kind,
        "branch": dataset.branch,
        "precision": settings.precision,
        "checked_files": len(checked),
        "measured_files": len(measured),
        "unmeasured": sorted(f.rel for f in checked if f.rel not in matched),
    })
    _check_total(list(measured.values()), config, settings, "COV001" in active, out)
    if "COV002" in active:
        _check_business_logic(checked, measured, config, settings, dataset, out)
    if "COV003" in active and changed is not None:
        _check_changed_lines(checked, measured, config, settings, dataset, changed, out)

    worst = _worst(measured.values())
    out.metrics["worst_files"] = [
        {"path": fc.path, "percent": round(fc.numbers.percent, 2), "missing": fc.missing_ranges, "partial_branches": list(fc.partial)}
        for fc in worst[:WORST]
    ]
    if worst:
        out.notes.append(f"worst: {_file_list(worst[:3])}")
    if unmeasured := len(out.metrics["unmeasured"]):
        out.notes.append(f"{unmeasured} checked file{'s' if unmeasured != 1 else ''} not in the data")
    status = Status.ERROR if out.errors else Status.FAIL if out.findings else Status.PASS
    findings = tuple(sorted(out.findings, key=Finding.sort_key))
    return GateResult("coverage", status, findings, out.metrics, "; ".join(out.notes)), out.errors


def _check_total(measured: list[cd.FileCoverage], config: Config, settings: cd.Settings, active: bool, out: Outcome) -> None:
    total = sum((fc.numbers for fc in measured), cd.Numbers())
    out.metrics["total"] = _numbers(total)
    if not active or config.min_coverage is None:
        out.notes.append(f"total {Threshold(0, settings.precision).show(total.percent)} ({_counts(total)})")
        return
    threshold = Threshold(config.min_coverage, settings.precision)
    out.metrics["min_coverage"] = threshold.minimum
    failed = threshold.fails(total)
    out.notes.append(f"total {threshold.show(total.percent)} {'<' if failed else '>='} {threshold} ({_counts(total)})")
    if failed:
        worst = _worst(measured)
        message = (
            f"total coverage of the checked files is {threshold.show(total.percent)} ({_counts(total)}), below the "
            f"{threshold} minimum: write tests that run the missed lines"
            + (f", starting with {_file_list(worst[:3])}" if worst else "")
        )
        out.findings.append(_finding(TotalCoverage, worst[0] if worst else None, message, "total"))


def _check_business_logic(
    checked: list[SourceFile], measured: dict[str, cd.FileCoverage], config: Config, settings: cd.Settings,
    dataset: cd.Dataset, out: Outcome,
) -> None:
    """The business-logic files together (or each, with `per-file`); one no test imports counts as all missed."""
    options = config.coverage
    members = [f for f in checked if matches_any(f.rel, options.business_logic)]
    if not members:
        message = (
            f"business-logic {list(options.business_logic)} matches none of the {len(checked)} checked files: "
            "fix the globs in [tool.p21-lint.coverage]"
        )
        out.errors.append(ToolError("coverage", "", message))
        return
    group = []
    for f in members:
        try:
            group.append(measured.get(f.rel) or cd.unmeasured(f.path, f.rel, settings, dataset.branch))
        except cd.CoverageDataError as exc:
            out.errors.append(ToolError("coverage", f.rel, str(exc)))
    threshold = Threshold(options.business_logic_min, settings.precision)
    numbers = sum((fc.numbers for fc in group), cd.Numbers())
    failing = [fc for fc in group if threshold.fails(fc.numbers)]
    out.metrics["business_logic"] = {
        "patterns": list(options.business_logic),
        "min": threshold.minimum,
        "per_file": options.per_file,
        "files": len(group),
        "unmeasured": sorted(fc.path for fc in group if not fc.measured),
        **_numbers(numbers),
        "failing_files": sorted(fc.path for fc in failing),
    }
    if options.per_file:
        out.notes.append(f"business logic: {len(failing)} of {len(group)} files below {threshold}")
        for fc in failing:
            message = (
                f"business logic {fc.path} is {threshold.show(fc.numbers.percent)} covered ({_counts(fc.numbers)}), "
                f"below the {threshold} minimum for each file: {_what_to_test(fc)}"
            )
            out.findings.append(_finding(BusinessLogicCoverage, fc, message, "business-logic file"))
        return
    failed = threshold.fails(numbers)
    out.notes.append(f"business logic {threshold.show(numbers.percent)} {'<' if failed else '>='} {threshold}")
    if failed:
        worst = _worst(group)
        message = (
            f"business logic ({', '.join(options.business_logic)}) is {threshold.show(numbers.percent)} covered "
            f"({_counts(numbers)}), below the {threshold} minimum: write unit tests for {_file_list(worst[:3])}"
        )
        out.findings.append(_finding(BusinessLogicCoverage, worst[0] if worst else None, message, "business-logic"))


def _check_changed_lines(
    checked: list[SourceFile], measured: dict[str, cd.FileCoverage], config: Config, settings: cd.Settings,
    dataset: cd.Dataset, changed: ChangedLines, out: Outcome,
) -> None:
    """Statements on changed lines that no test ran (diff-cover's measure). A changed file the data never saw
    counts as all missed; a change with no coverable lines says so instead of claiming 100%."""
    minimum = config.min_diff_coverage if config.min_diff_coverage is not None else config.min_coverage
    threshold = Threshold(float(minimum or 0), settings.precision)
    statements = missed = 0
    per_file: list[tuple[str, list[int], int, tuple[int, ...]]] = []  # path, missed changed lines, coverable, statements
    for f in checked:
        if f.rel not in changed.lines:
            continue
        fc = measured.get(f.rel)
        if fc is None:
            try:
                fc = cd.unmeasured(f.path, f.rel, settings, False)
            except cd.CoverageDataError as exc:
                out.errors.append(ToolError("coverage", f.rel, str(exc)))
                continue
        lines = changed.lines[f.rel]
        coverable = [n for n in fc.statements if lines is None or n in lines]
        lost = [n for n in fc.missing if lines is None or n in lines]
        if coverable:
            per_file.append((f.rel, lost, len(coverable), fc.statements))
            statements += len(coverable)
            missed += len(lost)
    numbers = cd.Numbers(statements=statements, missing=missed)
    out.metrics["diff"] = {"base": changed.base, "min": threshold.minimum, **_numbers(numbers),
                           "files": {path: {"missing": lost, "coverable": n} for path, lost, n, _ in per_file}}
    if not statements:
        out.notes.append("changed lines: none coverable (no statement of a checked file changed)")
        return
    failed = threshold.fails(numbers)
    out.notes.append(f"changed lines {threshold.show(numbers.percent)} {'<' if failed else '>='} {threshold} ({_counts(numbers)})")
    if failed:
        worst = sorted((p for p in per_file if p[1]), key=lambda p: (-len(p[1]), p[0]))
        where = ", ".join(f"{path} lines {cd.line_ranges(statements_, tuple(lost))}" for path, lost, _, statements_ in worst[:3])
        path, lost, _, _ = worst[0]
        out.findings.append(Finding(
            code=ChangedLinesCoverage.code,
            message=(f"the lines this change adds or edits are {threshold.show(numbers.percent)} covered "
                     f"({_counts(numbers)}), below the {threshold} minimum: write tests that run {where}"),
            location=Location(path, lost[0], 1, lost[0], 1),
            severity=ChangedLinesCoverage.severity,
            source="coverage",
            rule_name=ChangedLinesCoverage.name,
            help_url=ChangedLinesCoverage.help_url(),
            fingerprint=fingerprint(ChangedLinesCoverage.code, "", "changed lines", "", 0),
        ))


def _explicit(config: Config) -> Path | None:
    """`--coverage-data` is relative to the working directory; `coverage-data` in a config file to the project root."""
    if config.coverage_data is None:
        return None
    path = Path(config.coverage_data).expanduser()
    if config.where("coverage-data") == "command line":
        return path.resolve()
    return path if path.is_absolute() else config.root / path


def _show(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _error(message: str, note: str) -> tuple[GateResult, list[ToolError]]:
    return GateResult("coverage", Status.ERROR, note=note), [ToolError("coverage", "", message)]


def _worst(files) -> list[cd.FileCoverage]:
    """Files with something missed, least covered first (then most missed statements)."""
    lacking = [fc for fc in files if fc.numbers.covered < fc.numbers.coverable]
    return sorted(lacking, key=lambda fc: (fc.numbers.percent, -fc.numbers.missing, fc.path))


def _what_to_test(fc: cd.FileCoverage) -> str:
    if not fc.measured:
        return "no test imports it; write unit tests for it"
    parts = []
    if fc.missing:
        parts.append(f"line{'s' if len(fc.missing) > 1 else ''} {fc.missing_ranges}")
    if fc.partial:
        lines = ", ".join(map(str, fc.partial))
        parts.append(f"the untaken side of the branch{'es on lines' if len(fc.partial) > 1 else ' on line'} {lines}")
    return "write unit tests that run " + " and ".join(parts)


def _file_list(files: list[cd.FileCoverage]) -> str:
    out = []
    for fc in files:
        missed = "never imported" if not fc.measured else f"missed {fc.missing_ranges}" if fc.missing else f"partial branches on {', '.join(map(str, fc.partial))}"
        out.append(f"{fc.path} {fc.numbers.percent:.1f}% ({missed})")
    return ", ".join(out)


def _finding(rule: type[EngineRule], at: cd.FileCoverage | None, message: str, scope: str) -> Finding:
    path = at.path if at else ""
    line = at.first_missed_line if at else 1
    # the fingerprint names what failed, not where the worst file happens to be: it survives edits
    anchor = path if scope == "business-logic file" else ""
    return Finding(
        code=rule.code,
        message=message,
        location=Location(path, line, 1, line, 1),
        severity=rule.severity,
        source="coverage",
        rule_name=rule.name,
        help_url=rule.help_url(),
        fingerprint=fingerprint(rule.code, anchor, scope, "", 0),
    )


def _counts(n: cd.Numbers) -> str:
    text = f"{n.statements - n.missing}/{n.statements} lines"
    if n.branches:
        text += f", {n.branches - n.missing_branches}/{n.branches} branches"
    return text


def _numbers(n: cd.Numbers) -> dict:
    return {
        "percent": round(n.percent, 2),
        "statements": n.statements,
        "missing": n.missing,
        "branches": n.branches,
        "missing_branches": n.missing_branches,
    }
