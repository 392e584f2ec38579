"""Configuration: where it is found, validation with messages that name the key and the file, CLI overrides,
per-rule options reaching the rule, and rule selection by code, prefix and ALL."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from p21_lint.config import ConfigError, describe, load_config
from p21_lint.engine.registry import select
from p21_lint.testing import lint_project


def pyproject(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


# Other families (SQL, AUTH, SEC, ...) come and go; these three are enough to pin the selection semantics.
WATCHED = {"ERR001", "P21001", "P21002"}


def enabled(config) -> set[str]:
    return {s.rule.code for s in select(config) if s.enabled} & WATCHED


# -- finding the file ------------------------------------------------------------------------------------------

def test_nearest_pyproject_above_the_checked_path(tmp_path):
    outer = pyproject(tmp_path, "[tool.p21-lint]\nfail-on = 'high'\n")
    inner = pyproject(tmp_path / "services/api", "[tool.p21-lint]\nfail-on = 'medium'\n")
    (tmp_path / "services/api/app").mkdir()
    (tmp_path / "services/worker").mkdir(parents=True)

    config = load_config((tmp_path / "services/api/app",))
    assert (config.source, config.root, config.fail_on) == (inner, inner.parent, "medium")
    config = load_config((tmp_path / "services/worker",))
    assert (config.source, config.root, config.fail_on) == (outer, tmp_path, "high")


def test_a_pyproject_without_our_table_is_passed_over_for_one_that_has_it(tmp_path):
    ours = pyproject(tmp_path, "[tool.p21-lint]\nfail-on = 'high'\n")
    pyproject(tmp_path / "pkg", "[project]\nname = 'pkg'\n")
    config = load_config((tmp_path / "pkg",))
    assert config.source == ours
    assert config.fail_on == "high"


def test_no_table_anywhere_gives_defaults_rooted_at_the_nearest_pyproject(tmp_path):
    plain = pyproject(tmp_path / "pkg", "[project]\nname = 'pkg'\n")
    config = load_config((tmp_path / "pkg",))
    assert config.source == plain
    assert config.root == plain.parent
    assert config.fail_on == "low" and config.select == () and config.tests == ("tests",)


def test_config_file_option_wins_over_the_nearest(tmp_path):
    pyproject(tmp_path, "[tool.p21-lint]\nfail-on = 'high'\n")
    other = pyproject(tmp_path / "ci", "[tool.p21-lint]\nfail-on = 'medium'\nselect = ['ERR']\n")
    config = load_config((tmp_path,), other)
    assert config.source == other
    assert (config.fail_on, config.select) == ("medium", ("ERR",))
    assert config.where("fail-on") == str(other)


def test_config_file_that_does_not_exist(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config((tmp_path,), tmp_path / "nope.toml")


def test_invalid_toml_names_the_file(tmp_path):
    path = pyproject(tmp_path, "[tool.p21-lint]\nselect = [\n")
    with pytest.raises(ConfigError) as err:
        load_config((tmp_path,))
    assert str(path) in str(err.value) and "not valid TOML" in str(err.value)


# -- validation ------------------------------------------------------------------------------------------------

def test_unknown_key_names_key_file_and_a_close_match(tmp_path):
    path = pyproject(tmp_path, "[tool.p21-lint]\nexlude = ['migrations']\n")
    with pytest.raises(ConfigError) as err:
        load_config((tmp_path,))
    message = str(err.value)
    assert str(path) in message
    assert "`exlude`" in message
    assert "did you mean `exclude`" in message


def test_unknown_key_without_a_close_match_lists_the_known_keys(tmp_path):
    pyproject(tmp_path, "[tool.p21-lint]\nzzz = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key `zzz`.*known keys: .*exclude"):
        load_config((tmp_path,))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("select = 'ERR'", r"`select` must be a list, not str 'ERR'"),
        ("select = ['ERR', 1]", r"every item of `select` must be a string"),
        ("min-coverage = true", r"`min-coverage` must be a number, not True"),
        ("min-coverage = '80'", r"`min-coverage` must be a number"),
        ("min-coverage = 180", r"`min-coverage` must be between 0 and 100"),
        ("jobs = 1.5", r"`jobs` must be a whole number"),
        ("jobs = true", r"`jobs` must be a number, not True"),
        ("jobs = -2", r"`jobs` must be 0 \(one per CPU\) or more"),
        ("fail-on = 'severe'", r"`fail-on` must be one of low, medium, high, not 'severe'"),
        ("bandit-severity = 3", r"`bandit-severity` must be a string"),
        ("respect-gitignore = 'yes'", r"`respect-gitignore` must be a boolean"),
        ("per-file-ignores = { 'tests/*' = 'ERR001' }", r"`per-file-ignores.tests/\*` must be a list of rule codes"),
        ("rules = { ERR001 = 3 }", r"`rules.ERR001` must be a table of options"),
    ],
)
def test_wrong_types_name_the_key_and_the_file(tmp_path, line, expected):
    path = pyproject(tmp_path, f"[tool.p21-lint]\n{line}\n")
    with pytest.raises(ConfigError, match=expected) as err:
        load_config((tmp_path,))
    assert str(err.value).startswith(f"{path}: ")


def test_levels_are_case_insensitive(tmp_path):
    pyproject(tmp_path, "[tool.p21-lint]\nfail-on = 'HIGH'\nbandit-confidence = 'Medium'\n")
    config = load_config((tmp_path,))
    assert (config.fail_on, config.bandit_confidence) == ("high", "medium")


def test_values_are_frozen(tmp_path):
    pyproject(tmp_path, """\
        [tool.p21-lint]
        select = ["ERR"]
        min-coverage = 80
        per-file-ignores = { "tests/*" = ["err001"] }
    """)
    config = load_config((tmp_path,))
    assert config.select == ("ERR",)
    assert config.min_coverage == 80.0 and isinstance(config.min_coverage, float)
    assert config.per_file_ignores == (("tests/*", ("ERR001",)),)  # codes are upper-cased, as in suppressions
    hash(config)  # frozen all the way down: usable as (part of) a cache key


# -- command line over file --------------------------------------------------------------------------------------

def test_cli_overrides_beat_the_file_and_provenance_says_so(tmp_path):
    path = pyproject(tmp_path, "[tool.p21-lint]\nfail-on = 'high'\nselect = ['ERR']\nsecurity = false\n")
    config = load_config((tmp_path,), overrides={"fail-on": "medium", "security": True, "jobs": None})
    assert (config.fail_on, config.security, config.select) == ("medium", True, ("ERR",))
    assert config.where("fail-on") == "command line"
    assert config.where("security") == "command line"
    assert config.where("select") == str(path)
    assert config.where("jobs") == "default"  # None means "flag not given"
    rows = {key: (value, where) for key, value, where in describe(config)}
    assert rows["fail-on"] == ("medium", "command line")
    assert rows["select"] == (("ERR",), str(path))
    assert rows["exclude"] == ((), "default")


def test_cli_overrides_are_validated_too(tmp_path):
    pyproject(tmp_path, "[tool.p21-lint]\n")
    with pytest.raises(ConfigError, match=r"^command line: `min-coverage` must be between 0 and 100"):
        load_config((tmp_path,), overrides={"min-coverage": 101})


# -- per-rule options ----------------------------------------------------------------------------------------------

SWALLOWS = {
    "app/errors.py": "class AppError(Exception):\n    pass\n",
    "app/service.py": """\
        from app.errors import AppError


        def a():
            try:
                work()
            except AppError:
                pass


        def b():
            try:
                work()
            except Exception:
                pass
    """,
}


def test_rule_options_reach_the_rule():
    default = lint_project(SWALLOWS, "select = ['ERR001']\n")
    assert [(f.code, f.location.line) for f in default.findings] == [("ERR001", 14)]

    narrowed = lint_project(SWALLOWS, """\
        select = ["ERR001"]
        [tool.p21-lint.rules.ERR001]
        broad-exceptions = ["app.errors.AppError"]
    """)
    assert [(f.code, f.location.line) for f in narrowed.findings] == [("ERR001", 7)]
    assert "`except AppError:`" in narrowed.findings[0].message


def test_rule_options_are_resolved_with_defaults(tmp_path):
    pyproject(tmp_path, "[tool.p21-lint]\n")
    options = {s.rule.code: s.options for s in select(load_config((tmp_path,)))}
    assert options["ERR001"] == {"broad-exceptions": ["builtins.Exception", "builtins.BaseException"]}


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("[tool.p21-lint.rules.ERR001]\nbroad = ['x']\n", r"rule ERR001 has no option `broad` \(its options: broad-exceptions\)"),
        ("[tool.p21-lint.rules.ERR001]\nbroad-exceptions = 'Exception'\n", r"option `broad-exceptions` must be a list"),
        ("[tool.p21-lint.rules.ERR001]\nbroad-exceptions = [1]\n", r"option `broad-exceptions` must be a list"),
        ("[tool.p21-lint.rules.ERR999]\nx = 1\n", r"\[tool.p21-lint.rules.ERR999\]: no rule has the code ERR999"),
    ],
)
def test_bad_rule_options_are_config_errors_naming_the_file(tmp_path, table, expected):
    path = pyproject(tmp_path, "[tool.p21-lint]\n" + table)
    config = load_config((tmp_path,))
    with pytest.raises(ConfigError, match=expected) as err:
        select(config)
    assert str(path) in str(err.value)


# -- selection -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("select_", "ignore", "expected"),
    [
        ([], [], {"ERR001", "P21001", "P21002"}),
        (["ALL"], [], {"ERR001", "P21001", "P21002"}),
        (["ERR"], [], {"ERR001"}),
        (["err001"], [], {"ERR001"}),  # codes are case-insensitive
        (["P21"], ["P21002"], {"P21001"}),
        ([], ["P21"], {"ERR001"}),
        (["ALL"], ["ERR"], {"P21001", "P21002"}),
        (["ERR001"], ["ERR"], {"ERR001"}),  # the more specific pattern wins
        (["ERR"], ["ERR001"], set()),
        (["ERR"], ["ERR"], set()),  # a tie: ignore wins
        (["ERR"], ["ALL"], {"ERR001"}),  # ALL is the least specific pattern of all
        ([], ["ALL"], set()),
        (["ERR", "P21001"], [], {"ERR001", "P21001"}),
    ],
)
def test_select_and_ignore(tmp_path, select_, ignore, expected):
    pyproject(tmp_path, "[tool.p21-lint]\n")
    config = load_config((tmp_path,), overrides={"select": select_ or None, "ignore": ignore or None})
    assert enabled(config) == expected


def test_selection_reasons(tmp_path):
    pyproject(tmp_path, "[tool.p21-lint]\nselect = ['P21']\nignore = ['P21002']\n")
    reasons = {s.rule.code: s.reason for s in select(load_config((tmp_path,))) if s.rule.code in WATCHED}
    assert reasons == {
        "ERR001": "not matched by select",
        "P21001": "selected by `P21`",
        "P21002": "ignored by `P21002`",
    }


@pytest.mark.parametrize("key", ["select", "ignore"])
def test_a_pattern_that_matches_no_rule_is_an_error(tmp_path, key):
    path = pyproject(tmp_path, f"[tool.p21-lint]\n{key} = ['ERR', 'SQLX']\n")
    with pytest.raises(ConfigError, match=rf"^{path}: `SQLX` in `{key}` matches no rule code"):
        select(load_config((tmp_path,)))
    with pytest.raises(ConfigError, match=rf"^command line: `NOPE` in `{key}`"):
        select(load_config((tmp_path,), overrides={key: ["NOPE"]}))


def test_a_deselected_rule_does_not_report():
    source = {"app.py": "try:\n    work()\nexcept Exception:\n    pass\n"}

    def codes(config: str) -> set[str]:
        return {f.code for f in lint_project(source, config).findings}

    assert "ERR001" in codes("")
    assert "ERR001" not in codes("ignore = ['ERR']\n")
    assert codes("select = ['P21']\n") == set()
