"""The rule registry and rule selection (`select` / `ignore` by code or prefix, as ruff does)."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Iterator

from p21_lint.config import Config, ConfigError
from p21_lint.engine.rule import RuleMeta

_extra: tuple[type[RuleMeta], ...] = ()


@contextlib.contextmanager
def registered(*rules: type[RuleMeta]) -> Iterator[None]:
    """Make `rules` known beside the built-in ones while the block runs (engine tests: a rule that crashes, a
    project rule). Worker processes inherit them only when forked, so run such checks inline (`jobs = 1`)."""
    global _extra
    saved = _extra
    _extra = (*saved, *rules)
    all_rules.cache_clear()
    _by_code.cache_clear()
    try:
        yield
    finally:
        _extra = saved
        all_rules.cache_clear()
        _by_code.cache_clear()


@functools.cache
def all_rules() -> tuple[type[RuleMeta], ...]:
    from p21_lint.engine.suppress import BlanketSuppression, UnusedSuppression
    from p21_lint.gates.coverage import BusinessLogicCoverage, ChangedLinesCoverage, TotalCoverage
    from p21_lint.rules import ALL_RULES

    rules = (*ALL_RULES, BlanketSuppression, UnusedSuppression, TotalCoverage, BusinessLogicCoverage, ChangedLinesCoverage, *_extra)
    codes = [r.code for r in rules]
    if len(codes) != len(set(codes)):  # a programming error: caught by the test suite
        raise RuntimeError(f"duplicate rule codes: {sorted(c for c in codes if codes.count(c) > 1)}")
    return tuple(sorted(rules, key=lambda r: r.code))


@functools.cache
def _by_code() -> dict[str, type[RuleMeta]]:
    return {r.code: r for r in all_rules()}


def rule_by_code(code: str) -> type[RuleMeta] | None:
    return _by_code().get(code)


@dataclass(frozen=True)
class Selection:
    rule: type[RuleMeta]
    enabled: bool
    reason: str
    options: dict[str, Any]


def _specificity(pattern: str) -> int:
    return 0 if pattern.upper() == "ALL" else len(pattern)


def _match(code: str, patterns: tuple[str, ...]) -> str | None:
    """The longest pattern that `code` starts with (`SQL` matches SQL001; `ALL` matches everything)."""
    hits = [p for p in patterns if p.upper() == "ALL" or code.startswith(p.upper())]
    return max(hits, key=_specificity) if hits else None


def select(config: Config) -> list[Selection]:
    """Every rule with whether it runs, why, and its resolved options. Bad options raise ConfigError."""
    known = {r.code for r in all_rules()}
    for key in ("select", "ignore"):
        for pattern in getattr(config, key):
            if pattern.upper() != "ALL" and not any(code.startswith(pattern.upper()) for code in known):
                raise ConfigError(f"{config.where(key)}: `{pattern}` in `{key}` matches no rule code (see `p21-lint rules`)")
    for code in dict(config.rules):
        if code not in known:
            raise ConfigError(f"{config.source}: [tool.p21-lint.rules.{code}]: no rule has the code {code}")

    out = []
    for rule in all_rules():
        sel = _match(rule.code, config.select) if config.select else "ALL"
        ign = _match(rule.code, config.ignore)
        if sel is None:
            enabled, reason = False, "not matched by select"
        elif ign is not None and _specificity(ign) >= _specificity(sel):  # the more specific wins; a tie ignores
            enabled, reason = False, f"ignored by `{ign}`"
        elif config.select:
            enabled, reason = True, f"selected by `{sel}`"
        else:
            enabled, reason = True, "enabled by default"
        where = f"{config.source}: [tool.p21-lint.rules.{rule.code}]"
        try:
            options = rule.resolve_options(config.rule_options(rule.code), where)
        except (KeyError, TypeError) as exc:
            raise ConfigError(str(exc.args[0])) from None
        out.append(Selection(rule, enabled, reason, options))
    return out
