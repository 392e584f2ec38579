"""The rule registry and rule selection (`select` / `ignore` by code or prefix, as ruff does)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from p21_lint.config import Config, ConfigError
from p21_lint.engine.rule import RuleMeta


@functools.cache
def all_rules() -> tuple[type[RuleMeta], ...]:
    from p21_lint.engine.suppress import BlanketSuppression, UnusedSuppression
    from p21_lint.rules import ALL_RULES

    rules = (*ALL_RULES, BlanketSuppression, UnusedSuppression)
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


def _match(code: str, patterns: tuple[str, ...]) -> str | None:
    """The longest pattern that `code` starts with (`SQL` matches SQL001; `ALL` matches everything)."""
    hits = [p for p in patterns if p.upper() == "ALL" or code.startswith(p.upper())]
    return max(hits, key=lambda p: 0 if p.upper() == "ALL" else len(p)) if hits else None


def select(config: Config) -> list[Selection]:
    """Every rule with whether it runs, why, and its resolved options. Bad options raise ConfigError."""
    known = {r.code for r in all_rules()}
    for pattern in (*config.select, *config.ignore):
        if pattern.upper() != "ALL" and not any(code.startswith(pattern.upper()) for code in known):
            raise ConfigError(f"`{pattern}` in select/ignore matches no rule code (see `p21-lint rules`)")
    for code in dict(config.rules):
        if code not in known:
            raise ConfigError(f"{config.source}: [tool.p21-lint.rules.{code}]: no rule has the code {code}")

    out = []
    for rule in all_rules():
        sel = _match(rule.code, config.select) if config.select else "ALL"
        ign = _match(rule.code, config.ignore)
        if sel is None:
            enabled, reason = False, "not matched by select"
        elif ign is not None and (sel == "ALL" or len(ign) >= len(sel)):
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
