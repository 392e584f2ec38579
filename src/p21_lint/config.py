"""Configuration: `[tool.p21-lint]` in the nearest pyproject.toml, then CLI flags on top.

Every key is declared once in OPTIONS (type, default, help); an unknown key or a wrong type is a ConfigError that
names the key and the file. Per-rule options live in `[tool.p21-lint.rules.CODE]` and are checked against the
options the rule declares.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 in CI
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration problem the user must fix: exit 2."""


LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class Option:
    key: str  # as written in pyproject.toml (kebab-case)
    type: type | tuple[type, ...]
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    item_type: type | None = None  # for lists and table values


OPTIONS: tuple[Option, ...] = (
    Option("select", list, [], "Rule codes or prefixes to run (empty: all rules).", item_type=str),
    Option("ignore", list, [], "Rule codes or prefixes never to run or report.", item_type=str),
    Option("exclude", list, [], "Glob patterns of paths to skip, added to the default excludes.", item_type=str),
    Option("tests", list, ["tests"], "Folders (or globs) that hold test code.", item_type=str),
    Option("per-file-ignores", dict, {}, "Glob -> list of codes ignored in matching files.", item_type=list),
    Option("respect-gitignore", bool, True, "Skip files that .gitignore ignores."),
    Option("security", bool, True, "Run the security gate (bandit)."),
    Option("bandit-severity", str, "low", "Lowest bandit severity that fails the security gate.", LEVELS),
    Option("bandit-confidence", str, "low", "Lowest bandit confidence that fails the security gate.", LEVELS),
    Option("style", bool, False, "Run the style gate: ruff with the project's own ruff settings (p21-lint[style])."),
    Option("api-error", str, None, "Qualified name of the project's API error type, e.g. app.errors.APIError (default: detected)."),
    Option("public", list, [], "Routes that need no authentication: \"/health\", \"POST /auth/login\", globs (AUTH001).", item_type=str),
    Option("public-defaults", bool, True, "Treat the usual public endpoints (login, register, token, health, docs) as public."),
    Option("auth-dependencies", list, [], "Dependencies / decorators that authenticate, qualified or bare names (AUTH001).", item_type=str),
    Option("min-endpoint-coverage", (int, float), 100, "Endpoints (%) that integration tests must call (the endpoints gate)."),
    Option("min-coverage", (int, float), None, "Total line coverage (%) the checked files must reach."),
    Option("min-diff-coverage", (int, float), None, "Coverage (%) of the lines changed since --diff-base (default: min-coverage)."),
    Option("coverage-data", str, None, "Coverage data: .coverage, coverage json or Cobertura XML (default: found)."),
    Option("fail-on", str, "low", "Lowest p21 rule severity that fails the rules gate.", LEVELS),
    Option("jobs", int, 0, "Worker processes for the per-file pass (0: one per CPU)."),
    Option("baseline", str, None, "A baseline file of accepted findings (`p21-lint baseline write FILE`)."),
    Option("diff-base", str, None, "Git ref: only findings on lines changed since the merge-base with it fail."),
    Option("cache", bool, True, "Reuse per-file results of unchanged files (content-hash cache)."),
    Option("cache-dir", str, ".p21_cache", "Where the cache lives, relative to the project root."),
    Option("rules", dict, {}, "Per-rule options: [tool.p21-lint.rules.CODE] key = value.", item_type=dict),
    Option("coverage", dict, {}, "Business-logic coverage: [tool.p21-lint.coverage] (keys below)."),
)
_BY_KEY = {o.key: o for o in OPTIONS}

# [tool.p21-lint.coverage], validated as strictly as the top-level keys.
COVERAGE_OPTIONS: tuple[Option, ...] = (
    Option("coverage.business-logic", list, [], "Globs of the business-logic files, e.g. src/app/services/**.", item_type=str),
    Option("coverage.business-logic-min", (int, float), 80, "Coverage (%) the business-logic files must reach together."),
    Option("coverage.per-file", bool, False, "Each business-logic file must reach business-logic-min on its own."),
)
_COVERAGE_BY_KEY = {o.key: o for o in COVERAGE_OPTIONS}


@dataclass(frozen=True)
class CoverageOptions:
    business_logic: tuple[str, ...] = ()
    business_logic_min: float = 80.0
    per_file: bool = False


def _attr(key: str) -> str:
    return key.replace("-", "_")


@dataclass(frozen=True)
class Config:
    root: Path  # the project root: where the pyproject.toml is (or the working directory)
    source: Path | None  # the file the settings came from
    paths: tuple[Path, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    tests: tuple[str, ...] = ("tests",)
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    respect_gitignore: bool = True
    security: bool = True
    bandit_severity: str = "low"
    bandit_confidence: str = "low"
    style: bool = False
    api_error: str | None = None
    public: tuple[str, ...] = ()
    public_defaults: bool = True
    auth_dependencies: tuple[str, ...] = ()
    min_endpoint_coverage: float = 100.0
    min_coverage: float | None = None
    min_diff_coverage: float | None = None
    coverage_data: str | None = None
    fail_on: str = "low"
    jobs: int = 0
    baseline: str | None = None
    diff_base: str | None = None
    cache: bool = True
    cache_dir: str = ".p21_cache"
    rules: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    coverage: CoverageOptions = CoverageOptions()
    provenance: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # key -> "default" | file | "cli"

    def rule_options(self, code: str) -> dict[str, Any]:
        return dict(dict(self.rules).get(code, ()))

    def where(self, key: str) -> str:
        return dict(self.provenance).get(key, "default")


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that has a [tool.p21-lint] table, else the nearest one."""
    start = start.resolve()
    if start.is_file():
        start = start.parent
    nearest = None
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            nearest = nearest or candidate
            if "p21-lint" in _read_toml(candidate).get("tool", {}):
                return candidate
    return nearest


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # tomllib decodes the whole file first, and TOML is UTF-8
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 ({exc.reason} at line {line}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None


def _check(option: Option, value: Any, where: str) -> Any:
    key = option.key
    if isinstance(value, bool) and option.type in (int, float, (int, float)):
        raise ConfigError(f"{where}: `{key}` must be a number, not {value!r}")
    if not isinstance(value, option.type):
        expected = option.type.__name__ if isinstance(option.type, type) else "number"
        raise ConfigError(f"{where}: `{key}` must be a {_type_word(expected)}, not {type(value).__name__} {value!r}")
    if option.choices and value.lower() not in option.choices:
        raise ConfigError(f"{where}: `{key}` must be one of {', '.join(option.choices)}, not {value!r}")
    if option.item_type is list:
        for glob, codes in value.items():
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ConfigError(f"{where}: `{key}.{glob}` must be a list of rule codes")
    elif option.item_type is dict:
        for code, table in value.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{where}: `{key}.{code}` must be a table of options")
    elif option.item_type is not None and isinstance(value, list):
        for item in value:
            if not isinstance(item, option.item_type):
                raise ConfigError(f"{where}: every item of `{key}` must be a {_type_word(option.item_type.__name__)}")
    if key == "coverage":
        for name, item in value.items():
            nested = _COVERAGE_BY_KEY.get(f"coverage.{name}")
            if nested is None:
                known = ", ".join(o.key.split(".", 1)[1] for o in COVERAGE_OPTIONS)
                raise ConfigError(f"{where}: unknown key `{name}` in [tool.p21-lint.coverage]; known keys: {known}")
            _check(nested, item, where)
    if key in ("min-coverage", "min-diff-coverage", "coverage.business-logic-min", "min-endpoint-coverage") and not 0 <= value <= 100:
        raise ConfigError(f"{where}: `{key}` must be between 0 and 100, not {value}")
    if key == "jobs" and value < 0:
        raise ConfigError(f"{where}: `{key}` must be 0 (one per CPU) or more, not {value}")
    return value.lower() if option.choices else value


def _type_word(name: str) -> str:
    return {"str": "string", "list": "list", "dict": "table", "bool": "boolean", "int": "whole number"}.get(name, name)


def _freeze(key: str, value: Any) -> Any:
    if key == "per-file-ignores":
        return tuple(sorted((glob, tuple(c.strip().upper() for c in codes)) for glob, codes in value.items()))
    if key == "rules":
        return tuple(sorted((code, tuple(sorted(opts.items()))) for code, opts in value.items()))
    if key in ("min-coverage", "min-diff-coverage", "min-endpoint-coverage") and value is not None:
        return float(value)
    if key == "coverage":
        given = {_attr(k): v for k, v in value.items()}
        return CoverageOptions(
            business_logic=tuple(given.get("business_logic", ())),
            business_logic_min=float(given.get("business_logic_min", 80)),
            per_file=given.get("per_file", False),
        )
    if isinstance(value, list):
        return tuple(value)
    return value


def load_config(paths: tuple[Path, ...], config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Resolve the configuration for checking `paths`: file settings, then `overrides` (CLI flags, already typed)."""
    cwd = Path.cwd()
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"{config_file}: no such config file")
        source: Path | None = config_file.resolve()
    else:
        source = find_pyproject(paths[0] if paths else cwd)
    root = source.parent if source else cwd.resolve()
    table: dict[str, Any] = {}
    if source is not None:
        data = _read_toml(source)
        table = data.get("tool", {}).get("p21-lint", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [tool.p21-lint] must be a table")

    values: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    where = str(source) if source else "config"
    for key, value in table.items():
        option = _BY_KEY.get(key)
        if option is None:
            hint = _suggest(key)
            raise ConfigError(f"{where}: unknown key `{key}` in [tool.p21-lint]{hint}")
        values[_attr(key)] = _freeze(key, _check(option, value, where))
        provenance[key] = str(source)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        option = _BY_KEY[key]
        values[_attr(key)] = _freeze(key, _check(option, value, "command line"))
        provenance[key] = "command line"

    return Config(
        root=root,
        source=source,
        paths=tuple(p.resolve() for p in (paths or (root,))),
        provenance=tuple(sorted(provenance.items())),
        **values,
    )


def _suggest(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(_BY_KEY), n=1)
    return f" (did you mean `{close[0]}`?)" if close else f"; known keys: {', '.join(sorted(_BY_KEY))}"


def describe(config: Config) -> list[tuple[str, Any, str]]:
    """(key, value, where it came from) for every option, for `debug-config`."""
    rows = []
    for option in OPTIONS:
        value = getattr(config, _attr(option.key))
        if isinstance(value, CoverageOptions):
            value = {k.replace("_", "-"): v for k, v in vars(value).items()}
        rows.append((option.key, value, config.where(option.key)))
    return rows

