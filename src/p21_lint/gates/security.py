"""The security gate: bandit's checks on exactly the discovered files, its results folded into one gate.

bandit runs in the per-file pass (engine/pool.py), in the same workers as the libcst rules and on the same bytes,
set up as `bandit -c pyproject.toml --ini .bandit` run in the project root would be (gates/bandit_scan.py): no
process of its own, no directory walk of its own (ours knows the excludes and .gitignore), the work shared over
every core. `start` plans it, the pool asks `wants` of each file it reads, `ready` loads bandit once before the
workers start, `record` keeps each answer, and `finish` turns the answers into the gate.

bandit's answer for each file is cached (engine/cache.py) under the file's bytes, its path, the bandit
configuration's content, bandit's version and plugins, the Python it parses with and p21-lint's version, so bandit
checks only the files whose answer is not cached; what we make of its configuration is cached under the
configuration alone, so a warm run need not even import bandit.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from p21_lint import dedup, installed_version
from p21_lint.config import Config
from p21_lint.engine.cache import Cache
from p21_lint.files import SourceFile, matches_any, relpath
from p21_lint.gates.bandit_scan import (
    BANDIT_MODULE, UNSUPPORTED_INI, BanditFile, BanditSettings, BanditUnavailable, BanditVerdict, load, plugins,
    settings_for,
)
from p21_lint.model import Finding, GateResult, Level, Status, ToolError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 in CI
    import tomli as tomllib

_LEVELS = ("high", "medium", "low")


@dataclass
class BanditRun:
    """bandit over one check's files: the answers so far, cached or new, and why bandit could not run, if so."""

    settings: BanditSettings
    config_files: list[str]  # the project's bandit settings, repo-relative: where a configuration error points
    cache: Cache | None = None
    given: list[SourceFile] = field(default_factory=list)  # the files bandit was asked about (readable ones)
    answers: dict[str, BanditFile] = field(default_factory=dict)  # repo-relative path -> bandit's answer
    keys: dict[str, str] = field(default_factory=dict)  # repo-relative path -> cache key, for files bandit checks now
    verdict: BanditVerdict | None = None  # on the configuration: cached, or from `ready`
    failure: str = ""  # bandit could not run at all

    def wants(self, f: SourceFile, source: bytes) -> bool:
        """Whether bandit must check `f` now (its answer is not cached)."""
        self.given.append(f)
        key = self.cache.key(_target(f), source) if self.cache is not None else None
        known = self.cache.get(key, BanditFile) if self.cache is not None and key else None
        if known is not None:
            self.answers[f.rel] = known
            return False
        if key:
            self.keys[f.rel] = key
        return True

    def ready(self, scanning: bool) -> BanditSettings | None:
        """bandit loaded in this process (a forked worker inherits it), when files are to be checked or the verdict
        on the configuration is not cached; the settings a worker needs, or None if bandit cannot run."""
        if self.verdict is not None and not scanning:
            return self.settings
        try:
            self.verdict = load(self.settings).verdict
        except BanditUnavailable as exc:
            self.failure = str(exc)
            return None
        if self.cache is not None:
            self.cache.put(_verdict_key(self.cache), self.verdict)
        return self.settings

    def record(self, rel: str, answer: BanditFile) -> None:
        self.answers[rel] = answer
        key = self.keys.get(rel)
        if self.cache is not None and key:
            self.cache.put(key, answer)

    @property
    def checked_now(self) -> list[str]:
        """The files bandit checked in this run, not from the cache."""
        return sorted(rel for rel in self.keys if rel in self.answers) if self.cache is not None else sorted(self.answers)


def start(config: Config, *, module: str = BANDIT_MODULE) -> BanditRun:
    """bandit over the files the per-file pass reads, planned: the pass (engine/pool.py) asks `wants` of each, does
    the work and `record`s it; `finish` reads it."""
    table = _bandit_table(config.source) if config.source is not None and config.source.suffix == ".toml" else None
    settings = settings_for(config.root, config.source if table is not None else None, table, module)
    config_files = [relpath(Path(p), config.root) for p in (settings.config_file, settings.ini) if p]
    run = BanditRun(settings, config_files)
    if config.cache:
        run.cache = _open_cache(config, settings)
        run.verdict = run.cache.get(_verdict_key(run.cache), BanditVerdict)
    return run


def _target(f: SourceFile) -> str:
    return f"./{f.rel}"  # the path as `bandit -r .` in the root would name it, part of the cache key


def _verdict_key(cache: Cache) -> str:
    return cache.key("", b"")  # no file has an empty path: the key of the configuration alone


def _open_cache(config: Config, settings: BanditSettings) -> Cache:
    """The cache of bandit's answers for this bandit configuration (its content), bandit and Python."""
    python = (sys.implementation.name, *sys.version_info[:2])  # bandit parses with this Python's `ast`
    return Cache.open(config.root / config.cache_dir, "bandit", settings.module, installed_version(settings.module), plugins(),
                      python, settings.contents, suffix=".bandit")


def _bandit_table(pyproject: Path) -> dict[str, Any] | None:
    try:
        with pyproject.open("rb") as fh:
            return tomllib.load(fh).get("tool", {}).get("bandit")
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # the config loader has already reported a file it cannot read


def finish(run: BanditRun, config: Config, p21: Sequence[Finding] = ()) -> tuple[GateResult, list[ToolError]]:
    """The security gate from bandit's answers and tool errors. A bandit finding that a p21 finding in `p21`
    already reports (B105 beside SEC002 on the same line) is dropped: one problem, one line."""
    if run.failure:
        return GateResult("security", Status.ERROR, note="bandit could not run"), [ToolError("bandit", "", run.failure)]
    return _gate(run, config, _config_errors(run.verdict or BanditVerdict(), run), p21)


def _config_errors(verdict: BanditVerdict, run: BanditRun) -> list[ToolError]:
    """bandit only warns about these (and then skips nothing, or ignores every setting): we refuse them."""
    where = run.config_files[0] if run.config_files else ""
    ini = next((c for c in run.config_files if c.endswith(".bandit")), ".bandit")
    errors = [
        ToolError("bandit", where, f"the bandit configuration names `{test}`, which is not a bandit test id (e.g. B101): fix or remove it")
        for test in verdict.unknown_tests
    ]
    if verdict.unreadable_ini:
        errors.append(ToolError("bandit", ini, "bandit cannot read this file (an ini file with a `[bandit]` section, e.g. "
                                               "`[bandit]` then `skips = B101,B601`), so it would run without any of "
                                               "its settings: fix it or remove it"))
    errors += [
        ToolError("bandit", ini, f"`{option}` in .bandit filters bandit's report, which p21-lint does its own way: use "
                                 f"p21-lint's `{UNSUPPORTED_INI[option]}` instead and remove `{option}`")
        for option in verdict.unsupported_ini
    ]
    return errors


def _gate(run: BanditRun, config: Config, config_errors: list[ToolError], p21: Sequence[Finding] = ()) -> tuple[GateResult, list[ToolError]]:
    answers = run.answers
    paths = sorted(answers)
    errors = config_errors + [ToolError("bandit", path, _bandit_error(reason)) for path in paths for reason in answers[path].errors]
    severity_min, confidence_min = Level.parse(config.bandit_severity), Level.parse(config.bandit_confidence)
    findings, below, test_asserts = [], 0, 0
    tests = {f.rel for f in run.given if f.is_test}
    for finding in (finding for path in paths for finding in answers[path].findings):
        if finding.code == "B101" and finding.location.path in tests:
            test_asserts += 1  # `assert` is how pytest tests are written (B101 is about asserts in shipped code)
            continue
        if finding.severity < severity_min or finding.confidence < confidence_min:
            below += 1
            continue
        if _ignored(finding, config.per_file_ignores):
            finding = replace(finding, suppressed=True)
        findings.append(finding)
    findings, repeated = dedup.split_repeats(findings, p21)

    active = [f for f in findings if not f.suppressed]
    by_severity = Counter(str(f.severity) for f in active)
    scanned = sum(answer.scanned for answer in answers.values())
    version = installed_version(run.settings.module)
    metrics = {
        "files": scanned,
        "excluded_by_bandit_config": max(0, len(run.given) - scanned),
        "findings": len(active),
        "by_severity": {k: by_severity.get(k, 0) for k in _LEVELS},
        "below_threshold": below,
        "repeats_of_p21": len(repeated),
        "asserts_in_tests": test_asserts,
        "suppressed": len(findings) - len(active),
        "nosec": sum(answer.nosec for answer in answers.values()),
        "skipped_tests": sum(answer.skipped_tests for answer in answers.values()),
        "severity_threshold": config.bandit_severity,
        "confidence_threshold": config.bandit_confidence,
        "bandit_version": version,
    }
    status = Status.ERROR if errors else Status.FAIL if active else Status.PASS
    return GateResult("security", status, tuple(findings), metrics, _note(metrics, len(errors))), errors


def _bandit_error(reason: str) -> str:
    message = f"bandit could not check this file: {reason}"
    if "syntax error" in reason.lower():
        # bandit reads files with the `ast` of the Python running it: newer syntax (`except A, B:` of 3.14) fails
        version = ".".join(map(str, sys.version_info[:2]))
        message += (f"; bandit parses with this Python ({version}), so if the file uses newer syntax, run p21-lint "
                    "under the Python version the project targets")
    return message


def _ignored(finding: Finding, per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...]) -> bool:
    return any(
        any(finding.code.startswith(c) for c in codes) for glob, codes in per_file_ignores if matches_any(finding.location.path, (glob,))
    )


def _note(metrics: dict[str, Any], errors: int) -> str:
    count = metrics["findings"]
    parts = [f"{count} finding{'s' if count != 1 else ''}"]
    if count:
        parts[0] += " (" + ", ".join(f"{n} {k}" for k, n in metrics["by_severity"].items() if n) + ")"
    parts[0] += f" in {metrics['files']} file{'s' if metrics['files'] != 1 else ''}"
    if metrics["below_threshold"]:
        parts.append(f"{metrics['below_threshold']} below {metrics['severity_threshold']}/{metrics['confidence_threshold']} thresholds")
    if metrics["suppressed"]:
        parts.append(f"{metrics['suppressed']} suppressed")
    if metrics["nosec"] or metrics["skipped_tests"]:
        parts.append(f"{metrics['nosec'] + metrics['skipped_tests']} # nosec")
    if metrics["excluded_by_bandit_config"]:
        parts.append(f"{metrics['excluded_by_bandit_config']} excluded by bandit config")
    if errors:
        parts.append(f"{errors} bandit error{'s' if errors != 1 else ''}")
    parts.append(f"bandit {metrics['bandit_version']}")
    return "; ".join(parts)
