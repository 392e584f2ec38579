"""One check, start to finish: config -> files -> per-file pass -> project pass -> suppressions -> gates -> Report.

This is the picture in DESIGN.md as code. bandit starts before the libcst pass and runs beside it.
"""

from __future__ import annotations

from dataclasses import replace

from p21_lint.baseline import Baseline, BaselineError
from p21_lint.config import Config
from p21_lint.diff import ChangedLines, DiffError, changed_lines
from p21_lint.engine import suppress
from p21_lint.engine.cache import Cache
from p21_lint.engine.pool import check_files, flatten
from p21_lint.engine.project import Project, run_project_rules
from p21_lint.engine.registry import Selection, select
from p21_lint.engine.rule import ProjectRule, Rule
from p21_lint.engine.runner import FileSettings
from p21_lint.files import SourceFile, discover, split_unnamable
from p21_lint.gates import coverage, endpoints, reconsider, security, style
from p21_lint.gates.rules import rules_gate
from p21_lint.model import Finding, GateResult, Report, Status, ToolError


def run_check(config: Config) -> Report:
    enabled = [s for s in select(config) if s.enabled]
    files, unnamable = split_unnamable(discover(config))
    bandit = security.start(files, config) if config.security else None  # runs beside the libcst pass
    try:
        return _check(config, enabled, files, unnamable, bandit)
    except BaseException:
        if bandit is not None:
            security.cancel(bandit)
        raise


def _check(config: Config, enabled: list[Selection], files: list[SourceFile], errors: list[ToolError],
           bandit: security.BanditRun | None) -> Report:
    # 1. the per-file pass: findings, Facts and suppression comments of every checked file
    settings = FileSettings(
        rules=tuple((s.rule.code, tuple(sorted(s.options.items()))) for s in enabled if issubclass(s.rule, Rule))
    )
    cache = Cache.open(config.root / config.cache_dir, settings, _code_version()) if config.cache else None
    results = check_files(files, settings, config.jobs, cache)
    findings, file_errors, suppressions = flatten(results)
    errors = [*errors, *file_errors]

    # 2. the project pass over every file's Facts. A partial run (pre-commit's changed files) still reads the
    # rest of the project (no rules: Facts only, cached), because a router is mounted in an unchanged main.py;
    # only findings in the checked files are reported.
    project_rules = [s.rule(s.options) for s in enabled if issubclass(s.rule, ProjectRule)]
    endpoints_on = any(s.rule is endpoints.UntestedEndpoint for s in enabled)
    rest = _rest_of_project(config, files) if project_rules or endpoints_on else []
    context = check_files(rest, FileSettings(rules=()), config.jobs, cache) if rest else []
    project = Project.from_facts((r.facts for r in (*results, *context) if r.facts is not None), config)
    project_findings, project_errors = run_project_rules(project, project_rules)
    if endpoints_on:
        untested, endpoint_errors = endpoints.findings(project)
        project_findings += untested
        project_errors += endpoint_errors
    if rest:
        targets = {f.rel for f in files}
        project_findings = [f for f in project_findings if f.location.path in targets or not f.location.path]
    findings += project_findings
    errors += project_errors

    # 3. what the user accepted: inline comments, per-file-ignores, the baseline, lines --diff-base did not touch
    enabled_codes = frozenset(s.rule.code for s in enabled)
    findings = [f for f in suppress.apply(findings, suppressions, config.per_file_ignores, enabled_codes) if f.code in enabled_codes]
    legacy_errors: list[ToolError] = []
    legacy = _legacy_filter(config, legacy_errors)
    findings = sorted(legacy(findings), key=Finding.sort_key)
    untested = [f for f in findings if f.code == endpoints.UntestedEndpoint.code]
    findings = [f for f in findings if f.code != endpoints.UntestedEndpoint.code]

    # 4. the gates
    gates = [rules_gate(findings, errors, config.fail_on, len(enabled))]
    errors += legacy_errors
    if bandit is not None:
        gate, bandit_errors = security.finish(bandit, config, p21=findings)
        gates.append(reconsider(gate, legacy(list(gate.findings))))
        errors += bandit_errors
    else:
        gates.append(GateResult("security", Status.SKIPPED, note="disabled (--no-security)"))
    gate, coverage_errors = coverage.coverage_gate(files, config, legacy.diff)
    gates.append(reconsider(gate, legacy(list(gate.findings))) if legacy.diff else gate)
    errors += coverage_errors
    gates.append(endpoints.endpoints_gate(project, config, untested, endpoints_on))
    gate, style_errors = style.style_gate(files, config)
    gates.append(reconsider(gate, legacy(list(gate.findings))))
    errors += style_errors

    metrics = {"files": len(files), "rules": len(enabled), **legacy.metrics}
    return Report(tuple(gates), tuple(sorted(set(errors), key=ToolError.sort_key)), metrics)


def _rest_of_project(config: Config, files: list) -> list:
    """The project's files that this run does not check, when it checks only part of the project. Only where a
    pyproject.toml marks the project: without one the root is just the working directory, no project boundary."""
    if config.source is None or config.root.resolve() in config.paths:
        return []
    whole = discover(replace(config, paths=(config.root,)))
    named = {f.rel for f in files}
    return [f for f in whole if f.rel not in named]


class _Legacy:
    """Marks findings that a baseline accepts or that lie outside `--diff-base`'s changed lines."""

    def __init__(self, baseline: Baseline | None, diff: ChangedLines | None) -> None:
        self.baseline = baseline
        self.diff = diff
        self.unused = baseline.remaining() if baseline else None  # entries no finding has matched yet

    @property
    def metrics(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.unused is not None:
            out["baseline_stale"] = sum(self.unused.values())
        if self.diff is not None:
            out["diff_base"] = self.diff.base
            out["changed_files"] = len(self.diff.lines)
        return out

    def __call__(self, findings: list[Finding]) -> list[Finding]:
        if self.baseline is not None and self.unused is not None:
            findings = self.baseline.apply(findings, self.unused)
        if self.diff is not None:
            findings = [f if self._in_change(f) else replace(f, outside_diff=True) for f in findings]
        return findings

    def _in_change(self, f: Finding) -> bool:
        assert self.diff is not None
        if f.source == "coverage":  # new code is held to changed-line coverage (COV003), not the old totals
            return f.code == "COV003"
        return self.diff.touches(f.location.path, f.location.line)


def _legacy_filter(config: Config, errors: list[ToolError]) -> _Legacy:
    baseline = diff = None
    if config.baseline:
        try:
            baseline = Baseline.load(config.root / config.baseline)
        except BaselineError as exc:
            errors.append(ToolError("baseline", config.baseline, str(exc)))
    if config.diff_base:
        try:
            diff = changed_lines(config.root, config.diff_base)
        except DiffError as exc:
            errors.append(ToolError("diff", "", str(exc)))
    return _Legacy(baseline, diff)


def _code_version() -> tuple:
    """What p21-lint's own code is, so an upgrade or an edited install never reuses stale results."""
    from pathlib import Path

    from p21_lint.engine.registry import all_rules

    package = Path(__file__).parent
    stamps = tuple((p.relative_to(package).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(package.rglob("*.py")))
    return (stamps, tuple((r.code, r.version) for r in all_rules()))
