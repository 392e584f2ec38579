"""Fuzzing: generated programs through every rule and fact collector, then the project pass over their Facts.

No exception may escape, and the only tool error allowed is `parse` (hypothesmith's grammar admits code that
Python or libcst rejects). A `rule:` error is a bug in a rule: hypothesis prints the smallest program that shows it.

Three sources of programs: hypothesmith modules (prefixed with every rule's trigger bytes, or no rule would run
on them), the same modules as the body of a FastAPI route, and snippets built from what the rules look for (SQL
sinks, JWT, CORS, routes, handlers, raises) with odd arguments. Bounded in the suite; for a long campaign set
P21_FUZZ_EXAMPLES, e.g. `P21_FUZZ_EXAMPLES=3000 pytest tests/test_fuzz.py`. Last: the primer over an installed
package's sources (real code, no network).
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from datetime import timedelta

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p21_lint.analysis.facts import COLLECTORS
from p21_lint.config import load_config
from p21_lint.engine.project import Project, run_project_rules
from p21_lint.engine.registry import all_rules
from p21_lint.engine.rule import ProjectRule, Rule
from p21_lint.engine.runner import FileSettings, check_source
from p21_lint.gates import endpoints

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles what it generates

EXAMPLES = int(os.environ.get("P21_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=10),  # a rule that takes seconds on a small program is a bug too
    database=None,  # nothing written into the work tree; a failure prints its program
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

PER_FILE = [r for r in all_rules() if issubclass(r, Rule)]
SETTINGS = FileSettings(rules=tuple((r.code, tuple(sorted(r.resolve_options({}, "").items()))) for r in PER_FILE))
TRIGGERS = sorted({t.decode() for r in PER_FILE for t in r.TRIGGERS} | {t.decode() for c in COLLECTORS for t in c.TRIGGERS})
PREAMBLE = "# " + " ".join(TRIGGERS) + "\n"  # a comment: every rule and collector runs, the code is unchanged


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "pyproject.toml").write_text("[tool.p21-lint]\n", encoding="utf-8")
    return load_config((root,))


def check_everything(config, app: str, test: str = "") -> None:
    """Both files through every per-file rule and collector, then every project rule over their Facts."""
    files = [("app/api.py", "app.api", False, app), ("tests/test_api.py", "tests.test_api", True, test or app)]
    facts = []
    for path, module, is_test, source in files:
        result = check_source(path, module, is_test, source.encode("utf-8", "surrogatepass"), SETTINGS)
        bugs = [e for e in result.errors if e.source != "parse"]
        assert not bugs, f"{bugs}\n--- {path} ---\n{source}"
        facts.append(result.facts)
    project = Project.from_facts(facts, config)
    project_rules = [r(r.resolve_options({}, "")) for r in all_rules() if issubclass(r, ProjectRule)]
    _, errors = run_project_rules(project, project_rules)
    errors += endpoints.findings(project)[1]  # the route table against the tests' requests
    assert not errors, f"{errors}\n--- app/api.py ---\n{app}\n--- tests/test_api.py ---\n{test or app}"


def test_the_preamble_wakes_every_rule_and_collector():
    # a fuzz run that reaches no rule proves nothing: every per-file rule must run on the preamble
    assert PER_FILE and all(r.wants(PREAMBLE.encode()) for r in PER_FILE)
    assert all(c.wants(PREAMBLE.encode()) for c in COLLECTORS)


@FUZZ
@given(hypothesmith.from_grammar())
def test_generated_modules(config, source):
    check_everything(config, PREAMBLE + source)


ROUTE = """\
from fastapi import APIRouter, Depends, HTTPException
import jwt

router = APIRouter(prefix="/items")


@router.get("/{{item_id}}")
def read_item(item_id: int, db=Depends(get_db)):
{body}
    return db.execute(f"SELECT * FROM items WHERE id = {{item_id}}").fetchone()
"""


@FUZZ
@given(hypothesmith.from_grammar())
def test_generated_modules_as_the_body_of_a_route(config, source):
    body = textwrap.indent(source, "    ", lambda line: True) if source.strip() else "    pass\n"
    check_everything(config, PREAMBLE + ROUTE.format(body=body.rstrip("\n")))


# -- snippets from what the rules look for, with odd arguments --------------------------------------------------------

NAMES = st.sampled_from(["q", "user_id", "request", "params", "sql", "self", "token", "settings", "data", "x"])
SINKS = st.sampled_from([
    "cursor.execute", "db.execute", "session.execute", "conn.exec_driver_sql", "text", "sqlalchemy.text",
    "User.objects.raw", "User.objects.extra", "RawSQL", "pd.read_sql", "conn.fetch", "cursor.executemany",
    "jwt.decode", "jwt.encode", "jose.jwt.decode", "CORSMiddleware", "app.add_middleware", "CORS",
    "datetime.utcnow", "datetime.now", "datetime.utcfromtimestamp", "make_password", "hashlib.md5", "bcrypt.hashpw",
    "Depends", "Security", "APIRouter", "FastAPI", "Blueprint", "app.include_router", "app.register_blueprint",
    "path", "re_path", "router.register", "client.get", "self.client.post", "abort", "HTTPException", "APIError",
    "suppress", "url_for", "reverse", "json.loads", "request.get_json", "app.exception_handler", "app.errorhandler",
])
STRINGS = st.sampled_from([
    '""', "'SELECT * FROM users WHERE id = %s'", '"SELECT * FROM t WHERE a = ?"', '"DELETE FROM t WHERE id = :id"',
    '"INSERT INTO t (a, b) VALUES ($1, $2)"', '"UPDATE t SET a = %(a)s"', '"SELECT {} FROM t"', '"/users/{id}"',
    '"*"', '"HS256"', '"none"', "b'SELECT 1'", 'r"\\d+"', '"""SELECT\n  1"""', '"SELECT * FROM " "t"', "'%'",
])


def expressions() -> st.SearchStrategy[str]:
    quoted = STRINGS.filter(lambda s: s[0] in "\"'" and "\n" not in s and "{}" not in s)
    leaves = st.one_of(
        NAMES, STRINGS, st.integers(-3, 3).map(str), st.sampled_from(["None", "True", "...", "[]", "{}", "()"]),
        st.builds(lambda s, n: f"f{s[:-1]} {{{n}}}{s[-1]}", quoted, NAMES),  # an f-string around a name
    )

    def compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda a, b: f"{a} + {b}", inner, inner),
            st.builds(lambda a, b: f"{a} % {b}", inner, inner),
            st.builds(lambda a, b: f"{a}.format({b})", inner, inner),
            st.builds(lambda a: f"({a},)", inner),
            st.builds(lambda a, b: f"[{a}, {b}]", inner, inner),
            st.builds(lambda a, b: f"{{{a}: {b}}}", inner, inner),
            st.builds(lambda a: f"lambda: {a}", inner),
            st.builds(lambda a, b: f"{a}[{b}]", NAMES, inner),
            st.builds(lambda a, b: f"{a}.{b}", inner.map(lambda e: f"({e})"), st.sampled_from(["data", "query", "objects"])),
            calls(inner),
        )

    return st.recursive(leaves, compound, max_leaves=8)


def calls(expr: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    keywords = st.sampled_from(["params", "algorithms", "options", "allow_origins", "allow_credentials", "prefix",
                                "dependencies", "verify", "key", "methods", "status_code"])
    argument = st.one_of(
        expr, NAMES.map(lambda n: f"*{n}"), NAMES.map(lambda n: f"**{n}"), st.builds(lambda k, v: f"{k}={v}", keywords, expr),
    )
    # keyword arguments after the positional ones, as Python requires
    ordered = st.lists(argument, max_size=3).map(lambda a: sorted(a, key=lambda x: "=" in x.split("(")[0] or x.startswith("**")))
    return st.builds(lambda f, a: f"{f}({', '.join(a)})", SINKS, ordered)


def sql_text() -> st.SearchStrategy[str]:
    """SQL text with values or names spliced in, the ways people do it."""
    sql = STRINGS.filter(lambda s: s[0] in "\"'" and "\n" not in s and "{}" not in s)
    return st.one_of(
        sql, st.builds(lambda q, n: f"{q} % {n}", sql, NAMES), st.builds(lambda q, n: f"{q} + {n}", sql, NAMES),
        st.builds(lambda q, n: f"{q}.format({n})", sql, NAMES), st.builds(lambda q, n: f"f{q[:-1]} {{{n}}}{q[-1]}", sql, NAMES),
        st.builds(lambda q, n: f"text({q} % {n})", sql, NAMES), st.builds(lambda q, n: f'" ".join([{q}, {n}])', sql, NAMES),
    )


def statements(expr: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    body = st.one_of(expr.map(lambda e: f"x = {e}"), expr.map(lambda e: f"return {e}"), st.just("pass"),
                     expr.map(lambda e: f"raise {e}"), st.just("raise"), expr.map(lambda e: f"logger.exception({e})"))
    exceptions = st.sampled_from(["Exception", "BaseException", "(ValueError, Exception)", "", "e", "*ExcGroup"])
    return st.one_of(
        body,
        st.builds(lambda b, e, h: f"try:\n    {b}\nexcept {e}:\n    {h}".replace("except :", "except:"), body, exceptions, body),
        st.builds(lambda e, b: f"with suppress({e}):\n    {b}", exceptions.filter(bool), body),
        st.builds(lambda d, p, b: f"@{d}\ndef handler({p}):\n    {b}", expr, st.sampled_from(["", "request", "user_id: int",
                  "db=Depends(get_db)", "token: str = Depends(oauth2)", "*args, **kwargs"]), body),
        st.builds(lambda d, b: f"@{d}\nasync def handler(request):\n    {b}", expr, body),
        st.builds(lambda n, b, s: f"class {n}({b}):\n    {s}", st.sampled_from(["APIError", "Api", "View"]),
                  st.sampled_from(["Exception", "APIView", "BaseModel", "", "metaclass=M"]), body),
        calls(expr),
        st.builds(lambda q, e, sink: f"query = {q}\n{sink}(query, {e})", sql_text(), expr, SINKS),  # SQL built, then run
        st.builds(lambda sink, q, rest: f"{sink}({', '.join([q, *rest])})", SINKS, sql_text(), st.lists(expr, max_size=2)),
        expr.map(lambda e: f"urlpatterns = [{e}]"),
        expr.map(lambda e: f"SECRET_KEY = {e}"),
        expr.map(lambda e: f"password = {e}"),
    )


IMPORTS = """\
import datetime, hashlib, json, jwt, pandas as pd, sqlalchemy
from contextlib import suppress
from datetime import datetime
from django.urls import path, re_path
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Security
from fastapi.middleware.cors import CORSMiddleware
from flask import Blueprint, abort, request
from sqlalchemy import text
app = FastAPI()
"""


@FUZZ
@given(st.lists(statements(expressions()), min_size=1, max_size=6), st.lists(statements(expressions()), max_size=3))
def test_snippets_of_what_the_rules_look_for(config, app, test):
    check_everything(config, IMPORTS + "\n".join(app) + "\n", IMPORTS + "\n".join(test) + "\n")


# -- real code: the primer (benchmarks/primer.py) over an installed package, as CI can run it without a network --------


def test_the_primer_finds_no_crash_in_an_installed_package(tmp_path):
    import importlib.util
    from importlib.metadata import version
    from pathlib import Path

    import pluggy  # pytest's plugin system: installed wherever the tests run

    spec = importlib.util.spec_from_file_location("primer", Path(__file__).parents[1] / "benchmarks" / "primer.py")
    primer = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = primer  # dataclasses look their module up there
    spec.loader.exec_module(primer)
    sources = tmp_path / "pluggy"  # a copy: site-packages is a default exclude, and is no place for our config
    shutil.copytree(Path(pluggy.__file__).parent, sources, ignore=shutil.ignore_patterns("__pycache__"))

    result = primer.check_package("pluggy", version("pluggy"), sources, security=False)

    assert result.crashes == []
    assert result.rules.errors == [] and result.rules.exit_code in (0, 1)
    assert result.rules.files == result.files > 10  # every file was checked
