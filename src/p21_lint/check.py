"""One check, start to finish: config -> files -> per-file pass -> project pass -> suppressions -> gates -> Report.

This is the picture in DESIGN.md as code. bandit's checks run in the per-file pass, beside the libcst rules. The stages after
the per-file pass are `conclude`: `p21-lint merge` (merge.py) runs them over the parts of a `--shard I/N` check,
whose shards stop before the project pass (shard.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

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
from p21_lint.model import Facts, FileResult, Finding, GateResult, Report, Status, ToolError
from p21_lint.shard import Shard, ShardData, own_part, waiting_gates

GateRun = tuple[GateResult, list[ToolError]]


@dataclass
class Checked:
    """What the per-file pass found: all the later stages need from the files, and what a shard hands on."""

    files: list[SourceFile]  # the checked files
    results: list[FileResult]  # their findings, Facts, suppression comments and errors
    context: list[Facts]  # Facts of the project's files this run does not check (a partial run)
    errors: list[ToolError]  # files that could not even be named


def run_check(config: Config, shard: Shard | None = None) -> Report:
    """Check the configured paths; with `shard`, only that stable part of their files."""
    enabled = [s for s in select(config) if s.enabled]
    found, unnamable = split_unnamable(discover(config))
    if shard is not None:
        unnamable = [e for e in unnamable if shard.takes(e.path)]
    files = shard.part(found) if shard else found
    bandit = security.start(config) if config.security else None  # its checks run in the per-file pass
    return _check(config, enabled, found, files, unnamable, bandit, shard)


def _check(config: Config, enabled: list[Selection], found: list[SourceFile], files: list[SourceFile],
           errors: list[ToolError], bandit: security.BanditRun | None, shard: Shard | None) -> Report:
    # 1. the per-file pass: findings, Facts and suppression comments of every checked file
    checked = per_file_pass(config, enabled, found, files, errors, shard, bandit)
    if shard is None:
        return conclude(config, enabled, checked, partial(_security, bandit, config), partial(style.style_gate, files, config))

    # a shard: the gates of its own files now; the project pass and the whole-project gates in `p21-lint merge`
    p21 = [f for r in checked.results for f in r.findings]  # bandit repeats per-file p21 findings only (dedup.py)
    gates = [_security(bandit, config, p21), style.style_gate(files, config)]
    report = conclude(config, enabled, checked, lambda _: gates[0], lambda: gates[1], shard)
    data = ShardData.of(config, shard, [f.rel for f in found], checked, gates)
    return replace(own_part(report, shard, _whole_project_codes(enabled)), shard=data)


def per_file_pass(config: Config, enabled: list[Selection], found: list[SourceFile], files: list[SourceFile],
                  errors: list[ToolError], shard: Shard | None = None, bandit: security.BanditRun | None = None) -> Checked:
    settings = FileSettings(
        rules=tuple((s.rule.code, tuple(sorted(s.options.items()))) for s in enabled if issubclass(s.rule, Rule))
    )
    cache = Cache.open(config.root / config.cache_dir, settings, _rule_versions()) if config.cache else None
    results = check_files(files, settings, config.jobs, cache, bandit)
    # A partial run (pre-commit's changed files) still reads the rest of the project (no rules: Facts only, cached),
    # because a router is mounted in an unchanged main.py. A shard reads its share of that rest.
    rest = _rest_of_project(config, found) if _whole_project_codes(enabled) else []
    rest = shard.part(rest) if shard else rest
    context = check_files(rest, FileSettings(rules=()), config.jobs, cache) if rest else []
    return Checked(files, results, [r.facts for r in context if r.facts is not None], errors)


def conclude(config: Config, enabled: list[Selection], checked: Checked, security_gate: Callable[[list[Finding]], GateRun],
             style_gate: Callable[[], GateRun], shard: Shard | None = None) -> Report:
    """Stages 2-4 over what the per-file pass found, in this run or in every shard (`p21-lint merge`). `security_gate`
    is given the p21 findings, whose repeats by bandit it drops. A shard (`shard`) has only its own files' Facts: the
    project pass and the whole-project gates are merge's."""
    findings, file_errors, suppressions = flatten(checked.results)
    errors = [*checked.errors, *file_errors]
    endpoints_on = any(s.rule is endpoints.UntestedEndpoint for s in enabled)

    # 2. the project pass over every file's Facts; only findings in the checked files are reported
    project = None
    if shard is None:
        project, project_findings, project_errors = project_pass(config, enabled, checked, endpoints_on)
        findings += project_findings
        errors += project_errors

    # 3. what the user accepted: inline comments, per-file-ignores, the baseline, lines --diff-base did not touch
    enabled_codes = frozenset(s.rule.code for s in enabled)
    ran = enabled_codes - _whole_project_codes(enabled) if shard else enabled_codes  # may call a suppression unused
    findings = [f for f in suppress.apply(findings, suppressions, config.per_file_ignores, ran) if f.code in enabled_codes]
    legacy_errors: list[ToolError] = []
    legacy = _legacy_filter(config, legacy_errors)
    findings = sorted(legacy(findings), key=Finding.sort_key)
    untested = [f for f in findings if f.code == endpoints.UntestedEndpoint.code]
    findings = [f for f in findings if f.code != endpoints.UntestedEndpoint.code]

    # 4. the gates
    gates = [rules_gate(findings, errors, config.fail_on, len(enabled))]
    errors += legacy_errors
    gate, security_errors = security_gate(findings)
    gates.append(reconsider(gate, legacy(list(gate.findings))))
    errors += security_errors
    if shard is None:
        gate, coverage_errors = coverage.coverage_gate(checked.files, config, legacy.diff)
        gates.append(reconsider(gate, legacy(list(gate.findings))) if legacy.diff else gate)
        errors += coverage_errors
        gates.append(endpoints.endpoints_gate(project, config, untested, endpoints_on))
    else:
        gates += waiting_gates(shard, endpoints_on)
    gate, style_errors = style_gate()
    gates.append(reconsider(gate, legacy(list(gate.findings))))
    errors += style_errors

    metrics = {"files": len(checked.files), "rules": len(enabled), **legacy.metrics}
    return Report(tuple(gates), tuple(sorted(set(errors), key=ToolError.sort_key)), metrics)


def project_pass(config: Config, enabled: list[Selection], checked: Checked,
                 endpoints_on: bool) -> tuple[Project, list[Finding], list[ToolError]]:
    """The project rules and TEST001 over the Facts of every file, the unchecked rest of the project's included."""
    project_rules = [s.rule(s.options) for s in enabled if issubclass(s.rule, ProjectRule)]
    project = Project.from_facts([*(r.facts for r in checked.results if r.facts is not None), *checked.context], config)
    findings, errors = run_project_rules(project, project_rules)
    if endpoints_on:
        untested, endpoint_errors = endpoints.findings(project)
        findings += untested
        errors += endpoint_errors
    if checked.context:
        targets = {f.rel for f in checked.files}
        findings = [f for f in findings if f.location.path in targets or not f.location.path]
    return project, findings, errors


def _whole_project_codes(enabled: list[Selection]) -> frozenset[str]:
    """The enabled codes whose findings need every file's Facts."""
    return frozenset(s.rule.code for s in enabled if issubclass(s.rule, ProjectRule) or s.rule is endpoints.UntestedEndpoint)


def _security(bandit: security.BanditRun | None, config: Config, p21: list[Finding]) -> GateRun:
    if bandit is None:
        return GateResult("security", Status.SKIPPED, note="disabled (--no-security)"), []
    return security.finish(bandit, config, p21=p21)


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


def _rule_versions() -> tuple:
    from p21_lint.engine.registry import all_rules

    return tuple((r.code, r.version) for r in all_rules())
