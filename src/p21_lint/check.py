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
from p21_lint.engine.registry import select
from p21_lint.engine.rule import ProjectRule, Rule
from p21_lint.engine.runner import FileSettings
from p21_lint.files import discover, split_unnamable
from p21_lint.gates import coverage, endpoints, reconsider, security, style
from p21_lint.gates.rules import rules_gate
from p21_lint.model import Finding, GateResult, Report, Status, ToolError


def run_check(config: Config) -> Report:
    selections = select(config)
    enabled = [s for s in selections if s.enabled]
    files, unnamable = split_unnamable(discover(config))

    bandit = security.start(files, config) if config.security else None
    try:
        settings = FileSettings(
            rules=tuple((s.rule.code, tuple(sorted(s.options.items()))) for s in enabled if issubclass(s.rule, Rule))
        )
        cache = Cache.open(config.root / config.cache_dir, settings, _code_version()) if config.cache else None
        results = check_files(files, settings, config.jobs, cache)
        findings, errors, suppressions = flatten(results)
        errors.extend(unnamable)

        project = Project.from_facts((r.facts for r in results if r.facts is not None), config)
        project_rules = [s.rule(s.options) for s in enabled if issubclass(s.rule, ProjectRule)]
        project_findings, project_errors = run_project_rules(project, project_rules)
        findings.extend(project_findings)
        errors.extend(project_errors)
        endpoints_on = any(s.rule is endpoints.UntestedEndpoint for s in enabled)
        if endpoints_on:  # TEST001 findings go through the suppressions like any rule's, then to their own gate
            endpoint_findings, endpoint_errors = endpoints.findings(project)
            findings.extend(endpoint_findings)
            errors.extend(endpoint_errors)

        enabled_codes = frozenset(s.rule.code for s in enabled)
        findings = [f for f in suppress.apply(findings, suppressions, config.per_file_ignores, enabled_codes) if f.code in enabled_codes]
        legacy_errors: list[ToolError] = []
        legacy = _legacy_filter(config, legacy_errors)
        findings = legacy(findings)
        findings.sort(key=Finding.sort_key)
        untested = [f for f in findings if f.code == endpoints.UntestedEndpoint.code]
        findings = [f for f in findings if f.code != endpoints.UntestedEndpoint.code]

        gates: list[GateResult] = [rules_gate(findings, errors, config.fail_on, len(enabled))]
        errors.extend(legacy_errors)
        if bandit is not None:
            gate, bandit_errors = security.finish(bandit, config, p21=findings)
            errors.extend(bandit_errors)
            gate = reconsider(gate, legacy(list(gate.findings)))
        else:
            gate = GateResult("security", Status.SKIPPED, note="disabled (--no-security)")
        gates.append(gate)
        gate, coverage_errors = coverage.coverage_gate(files, config, legacy.diff)
        gates.append(reconsider(gate, legacy(list(gate.findings))) if legacy.diff else gate)
        errors.extend(coverage_errors)
        gates.append(endpoints.endpoints_gate(project, config, untested, endpoints_on))
        gate, style_errors = style.style_gate(files, config)
        gates.append(reconsider(gate, legacy(list(gate.findings))))
        errors.extend(style_errors)
    except BaseException:
        if bandit is not None:
            security.cancel(bandit)
        raise

    metrics = {"files": len(files), "rules": len(enabled), **legacy.metrics}
    return Report(tuple(gates), tuple(sorted(set(errors), key=ToolError.sort_key)), metrics)


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
