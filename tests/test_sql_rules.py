"""SQL001-SQL004: the labelled corpus, the SQL reading, the string data flow, messages and options.

Everything runs through the real pipeline (`lint_project`) or the real analysis functions: libcst parses, sqlglot
reads the SQL, nothing is mocked.
"""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import libcst as cst
import pytest
import sqlglot

from p21_lint.analysis import sql as sqlinfo
from p21_lint.analysis.strings import Flow, Hole, Hooks, Safety, Seq, Str, Text
from p21_lint.config import ConfigError
from p21_lint.model import Level
from p21_lint.testing import expected_markers, found_markers, lint_project

CORPUS = Path(__file__).parent / "fixtures" / "sql"
SQL = 'select = ["SQL"]\njobs = 1\n'

# What p21-lint gets wrong in the corpus, on purpose: the benchmark must show real limits, and this list must
# shrink, never silently change. (path, line, code) expected but not found, or found but not expected.
KNOWN_MISSES = {
    ("limits/cross_module_builder/queries.py", 2, "SQL001"),  # the query is built in another module
    ("limits/cross_module_wrapper/service.py", 5, "SQL001"),  # the sink is wrapped in another module
    ("limits/pyspark_sql.py", 7, "SQL001"),  # spark.sql is not a known sink (add it with extra-sinks)
}
KNOWN_FALSE = {
    ("limits/custom_validator.py", 9, "SQL002"),  # validated by a function p21-lint cannot read
}


def _corpus() -> dict[str, str]:
    return {p.relative_to(CORPUS).as_posix(): p.read_text(encoding="utf-8") for p in sorted(CORPUS.rglob("*.py"))}


def _lint(source: str, config: str = "") -> list[tuple[int, str]]:
    report = lint_project({"app.py": source}, SQL + config)
    assert not report.errors, report.errors
    return sorted((f.location.line, f.code) for f in report.findings)


def _findings(source: str, config: str = ""):
    report = lint_project({"app.py": source}, SQL + config)
    assert not report.errors, report.errors
    return report.findings


# -- the corpus -------------------------------------------------------------------------------------------------


def test_corpus_is_large_and_covers_every_driver():
    files = _corpus()
    assert len(files) >= 150
    groups = {path.split("/")[0] for path in files}
    assert {
        "sqlite3",
        "aiosqlite",
        "psycopg2",
        "psycopg",
        "asyncpg",
        "mysql",
        "databases",
        "sqlalchemy",
        "django",
        "pandas",
        "flow",
        "safe",
        "edge",
        "limits",
    } <= groups
    markers = expected_markers(files)
    assert {code for _, _, code in markers} == {"SQL001", "SQL002", "SQL003", "SQL004"}
    clean = [path for path, text in files.items() if "# error:" not in text]
    assert len(clean) >= 60, "the corpus needs safe look-alikes as much as it needs findings"


def test_corpus_findings_match_the_markers():
    files = _corpus()
    report = lint_project(files, SQL + (CORPUS / "config.toml").read_text(encoding="utf-8"))
    assert not report.errors, report.errors
    expected = set(expected_markers(files))
    found = set(found_markers(report))
    assert expected - found == KNOWN_MISSES
    assert found - expected == KNOWN_FALSE
    # one finding per marked line: no hole is reported twice (two sinks, two paths through the function)
    keys = [(f.location.path, f.location.line, f.code) for f in report.findings]
    assert len(keys) == len(set(keys))


# -- the seed's idiom and the examples ------------------------------------------------------------------


def test_seed_idiom_passes():
    source = """
        @app.get("/users/{user_id}/orders")
        async def get_user_orders(user_id: int, status: str = None):
            query = "SELECT * FROM orders WHERE user_id = $1"
            params = [user_id]

            if status:
                query += " AND status = $2"
                params.append(status)

            return await db.fetch_all(query, params)
    """
    assert _lint(source) == []


def test_seed_idiom_with_a_known_databases_object_is_a_wrong_placeholder():
    """`databases.Database` takes `:name` placeholders, so `$1` is a bug once the driver is known."""
    source = """
        import databases

        db = databases.Database("postgresql://localhost/app")

        async def get_user_orders(user_id: int, status: str = None):
            query = "SELECT * FROM orders WHERE user_id = $1"
            params = [user_id]
            if status:
                query += " AND status = $2"
                params.append(status)
            return await db.fetch_all(query, params)
    """
    assert _lint(source) == [(12, "SQL003")]


def test_a_query_built_over_ten_lines_is_followed():
    source = """
        def report(cursor, region, start):
            q = "SELECT region, SUM(total)"
            q += " FROM orders"
            q += " JOIN customers ON customers.id = orders.customer_id"
            q += " WHERE orders.created >= %s"
            q = q + " AND customers.region = '%s'" % region
            q += " GROUP BY region"
            q += " ORDER BY 2 DESC"
            params = (start,)
            unused = "done"
            cursor.execute(q, params)
    """
    assert _lint(source) == [(7, "SQL001")]


# -- messages: what is wrong and what to write instead, in the driver's own terms ------------------------------


@pytest.mark.parametrize(
    ("setup", "call", "expected"),
    [
        ("import sqlite3\nc = sqlite3.connect('x')", "c.execute", 'c.execute("... users WHERE id = ?", (uid,))'),
        ("import psycopg2\nc = psycopg2.connect('')", "c.cursor().execute", '("... users WHERE id = %s", (uid,))'),
        ("import asyncpg\nc = asyncpg.connect('')", "c.fetch", 'c.fetch("... users WHERE id = $1", uid)'),
        ("import databases\nc = databases.Database('x')", "c.fetch_all", '("... users WHERE id = :uid", {"uid": uid})'),
        ("from sqlalchemy import text\nc = None", "text", 'text("... users WHERE id = :uid")'),
        ("from django.db import connection as c", "c.cursor().execute", '("... users WHERE id = %s", (uid,))'),
    ],
)
def test_value_message_names_the_driver_placeholder(setup, call, expected):
    source = f'{setup}\n\ndef get(uid):\n    {call}(f"SELECT * FROM users WHERE id = {{uid}}")\n'
    findings = _findings(source)
    assert [(f.location.line, f.code) for f in findings] == [(setup.count("\n") + 4, "SQL001")]
    assert "`uid` is formatted into the SQL" in findings[0].message
    assert expected in findings[0].message
    assert findings[0].confidence is Level.HIGH


def test_quoted_value_message_drops_the_quotes_and_keeps_the_wildcards():
    findings = _findings("""
        import sqlite3

        def search(term):
            sqlite3.connect("x").execute(f"SELECT * FROM t WHERE name LIKE '%{term}%'")
    """)
    assert "Drop the quotes" in findings[0].message
    assert '"... t WHERE name LIKE ?", (f"%{term}%",)' in findings[0].message


def test_in_list_message_generates_placeholders():
    findings = _findings("""
        import sqlite3

        def many(ids):
            sqlite3.connect("x").execute("SELECT * FROM t WHERE id IN (%s)" % ",".join(map(str, ids)))
    """)
    assert '", ".join(["?"] * len(ids))' in findings[0].message
    assert "tuple(ids)" in findings[0].message


def test_identifier_message_suggests_an_allowlist_and_psycopg_identifier():
    findings = _findings("""
        import psycopg

        def listing(sort):
            psycopg.connect("").execute(f"SELECT * FROM posts ORDER BY {sort}")
    """)
    assert findings[0].code == "SQL002"
    assert "ORDER BY" in findings[0].message
    assert "if sort not in ALLOWED_SORTS: raise" in findings[0].message
    assert "sql.Identifier(sort)" in findings[0].message
    assert findings[0].severity is Level.MEDIUM


def test_wrong_placeholder_message_says_what_the_driver_takes():
    findings = _findings("""
        import psycopg2

        def get(uid):
            psycopg2.connect("").cursor().execute("SELECT * FROM t WHERE id = ?", (uid,))
    """)
    assert [f.code for f in findings] == ["SQL003"]
    assert "psycopg2 takes `%s` or `%(name)s`; write `%s` instead of `?`" in findings[0].message


def test_asyncpg_list_of_parameters_message():
    findings = _findings("""
        import asyncpg

        async def get(a, b):
            conn = await asyncpg.connect("")
            return await conn.fetch("SELECT * FROM t WHERE a = $1 AND b = $2", [a, b])
    """)
    assert [f.code for f in findings] == ["SQL004"]
    assert "asyncpg takes each parameter as its own argument" in findings[0].message


def test_every_suggestion_in_the_corpus_is_valid_python_and_complete_sql_parses():
    """What a message tells the user to write must be code they can paste: each backticked suggestion after the
    first (the first shows the offending expression) parses as Python, and each complete SQL string in one
    (not cut short with `...`) parses as SQL."""
    files = _corpus()
    report = lint_project(files, SQL + (CORPUS / "config.toml").read_text(encoding="utf-8"))
    code_like = re.compile(r"^(?:[A-Za-z_][\w.]*\(|if |\(|f?[\"'])")
    checked = 0
    for finding in report.findings:
        if finding.code not in ("SQL001", "SQL002"):
            continue
        for snippet in re.findall(r"`([^`]+)`", finding.message)[1:]:
            if len(snippet) < 3 or not code_like.match(snippet):  # `"`: a quote character, named in the text
                continue
            tree = ast.parse(snippet.replace("raise ...", "raise ValueError"))  # SyntaxError fails the test
            checked += 1
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_full_sql(node.value):
                    sql = re.sub(r"%s|\?|\$\d+|:\w+", "1", node.value)
                    assert sqlglot.parse(sql, read="postgres"), (finding.message, sql)
    assert checked > 100


def _is_full_sql(text: str) -> bool:
    first = text.split(" ", 1)[0].upper()
    return not text.startswith("...") and first in ("SELECT", "UPDATE", "INSERT", "DELETE", "SET")


def test_a_quoted_name_is_an_identifier_except_in_mysql():
    findings = _findings("""
        import psycopg2
        import pymysql

        def pg(schema):
            psycopg2.connect("").cursor().execute(f'SELECT * FROM "{schema}".users')

        def my(name):
            pymysql.connect().cursor().execute(f'SELECT * FROM users WHERE name = "{name}"')
    """)
    assert [(f.location.line, f.code) for f in findings] == [(6, "SQL002"), (9, "SQL001")]
    assert "the quotes do not protect it" in findings[0].message
    assert "sql.Identifier(schema)" in findings[0].message
    assert '`execute("... users WHERE name = %s", (name,))`' in findings[1].message  # no stray `"` left


def test_set_takes_no_parameter_so_the_message_offers_set_config():
    findings = _findings("""
        from sqlalchemy import text

        def tenant(conn, schema, app):
            conn.execute(text(f"SET search_path TO {schema}"))
            conn.execute(text(f"SET application_name = '{app}'"))
    """)
    assert [(f.location.line, f.code) for f in findings] == [(5, "SQL002"), (6, "SQL001")]
    assert "SELECT set_config('search_path', :schema, false)" in findings[0].message
    assert "SELECT set_config('application_name', :app, false)" in findings[1].message


def test_a_single_name_is_not_described_as_a_list():
    findings = _findings("""
        import sqlite3

        def count(conn: sqlite3.Connection, schema, table):
            return conn.execute(f"SELECT COUNT(*) FROM {table_ref(schema, table)}").fetchone()

        def listing(conn: sqlite3.Connection, columns):
            return conn.execute(f"SELECT {', '.join(columns)} FROM t").fetchall()
    """)
    assert [f.code for f in findings] == ["SQL002", "SQL002"]
    assert "puts names" not in findings[0].message
    assert "assign it to a variable and check that" in findings[0].message
    assert "if not set(columns) <= ALLOWED_COLUMNS: raise" in findings[1].message


# -- what is input, and what is the program's own text -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # module-level names are configuration: imports and globals
        ("from app.db import db\n\ndef f(c: sqlite3.Connection):\n    c.execute(f'SELECT {db.now}')", []),
        ("schema = load()\n\ndef f(c: sqlite3.Connection):\n    c.execute(f'SELECT * FROM {schema}.t')", []),
        # ... unless they carry the request
        ("from flask import request\n\ndef f(c: sqlite3.Connection):\n    c.execute(f'SELECT {request.form[0]}')", [4]),
        ("import sys\n\ndef f(c: sqlite3.Connection):\n    c.execute(f'SELECT * FROM {sys.argv[1]}')", [4]),
        # a variable of the enclosing function is a parameter there, not a global
        ("def f(c: sqlite3.Connection, t):\n    def g():\n        c.execute(f'SELECT * FROM {t}')\n    g()", [3]),
        # attributes of the connection itself are its dialect's SQL; what a call on it returns is data
        ("def f(db):\n    db.execute(f'CREATE TABLE t (a {db.big_int})')", []),
        ("def f(db):\n    r = db.fetchone('SELECT a FROM t')\n    db.execute(f'SELECT * FROM t WHERE a = {r.a}')", [3]),
        # generated placeholders and quoted names are the program's text
        ("def f(db, v):\n    db.execute(f'UPDATE t SET a = {db.timestamp_placeholder(\"a\")}', {'a': v})", []),
        ("def f(c: sqlite3.Connection, ops, t):\n    c.execute(f'SELECT * FROM {ops.quote_name(t)}')", []),
        ("def f(c: sqlite3.Connection, t):\n    c.execute(f'SELECT * FROM t WHERE a = {quote(t)}')", [2]),
    ],
)
def test_configuration_and_generated_text_are_not_input(source, expected):
    findings = _findings("import sqlite3\n" + source + "\n")
    assert [f.location.line - 1 for f in findings] == expected


def test_self_attributes_follow_where_the_class_sets_them():
    source = """
        import sqlite3

        class Base:
            pass

        class Repo(Base):
            sort: str = "id"

            def __init__(self, table):
                self.table = table

            def pick(self, order):
                self.order = order

            def run(self, c: sqlite3.Connection):
                c.execute(f"SELECT * FROM {self.schema}.{self.table}")
                c.execute(f"SELECT * FROM t ORDER BY {self.sort}")
                c.execute(f"SELECT * FROM t ORDER BY {self.order}")
                c.execute(f"SELECT * FROM t WHERE a = '{self.request.GET['a']}'")
    """
    findings = _findings(source)
    # schema: set by no one here (a base class, the framework): configuration; table: the constructor's
    # argument; sort: a field; order: set by another method; request: the request
    assert [(f.location.line, f.code, _code_of(f.message)) for f in findings] == [
        (17, "SQL002", "self.table"),
        (18, "SQL002", "self.sort"),
        (19, "SQL002", "self.order"),
        (20, "SQL001", "self.request.GET['a']"),
    ]


def _code_of(message: str) -> str:
    return message.split("`")[1]


def test_placeholder_names_are_reported_once_with_the_columns_they_mirror():
    source = """
        import sqlite3

        def insert(c: sqlite3.Connection, row: dict):
            cols = list(row)
            c.execute(f"INSERT INTO t ({', '.join(cols)}) VALUES ({', '.join(f':{k}' for k in cols)})", row)

        def search(c: sqlite3.Connection, filters: dict):
            where = " AND ".join(f"{COLUMNS[k]} = :{k}" for k in filters)
            c.execute(f"SELECT * FROM t WHERE {where}", filters)
    """
    findings = _findings(source)
    assert [(f.location.line, f.code, _code_of(f.message)) for f in findings] == [
        (6, "SQL002", "cols"),
        (9, "SQL002", "k"),
    ]
    assert "placeholder's name" in findings[1].message


# -- confidence: a qualified-name or typed sink is sure, a method name alone is not ----------------------------


def test_confidence_follows_how_the_sink_was_recognised():
    findings = _findings("""
        import sqlite3

        def known(conn: sqlite3.Connection, a):
            conn.execute(f"SELECT * FROM t WHERE a = '{a}'")

        def named(cursor, b):
            cursor.execute(f"SELECT * FROM t WHERE b = '{b}'")

        def anything(thing, c):
            thing.execute(f"SELECT * FROM t WHERE c = '{c}'")

        def fragment(conn: sqlite3.Connection, where):
            conn.execute(f"SELECT * FROM t WHERE {where}")
    """)
    assert [(f.location.line, f.code, f.confidence) for f in findings] == [
        (5, "SQL001", Level.HIGH),
        (8, "SQL001", Level.MEDIUM),
        (11, "SQL001", Level.LOW),
        (14, "SQL002", Level.LOW),
    ]


def test_text_that_is_not_sql_reaching_a_method_name_sink_is_not_flagged():
    assert (
        _lint("""
        def run(redis, celery, client, job, key, name):
            redis.execute(f"GET {key}")
            client.fetch(f"https://example.com/users/{name}")
            job.execute("Hello {}".format(name))
            celery.send_task(f"tasks.{name}")
    """)
        == []
    )


def test_sql_looking_strings_that_reach_no_sink_are_not_flagged():
    assert (
        _lint("""
        import logging
        import sqlite3

        log = logging.getLogger(__name__)

        def audit(conn: sqlite3.Connection, table, uid):
            log.info(f"SELECT from {table} where id={uid}")
            message = f"DELETE FROM {table} failed for {uid}"
            conn.execute("INSERT INTO audit (message) VALUES (?)", (message,))
    """)
        == []
    )


# -- options ----------------------------------------------------------------------------------------------------


def test_extra_sinks_reach_every_sql_rule():
    config = '[tool.p21-lint.rules.SQL001]\nextra-sinks = ["app_db.q:0:format:1", ".run_sql:sql:dollar"]\n'
    source = """
        from app_db import q

        def a(x):
            q(f"SELECT * FROM t WHERE a = '{x}'")
            q("SELECT * FROM t WHERE a = ?", (x,))
            q("SELECT * FROM t WHERE a = %s AND b = %s", (x,))

        def b(store, x):
            store.run_sql(sql=f"SELECT * FROM t WHERE b = {x}")
    """
    assert _lint(source, config) == [(5, "SQL001"), (6, "SQL003"), (7, "SQL004"), (10, "SQL001")]


@pytest.mark.parametrize("entry", ["app.q", "app.q:0", "app.q:0:percent", "not a name:0:qmark", "app.q::qmark"])
def test_malformed_extra_sinks_are_config_errors(entry):
    with pytest.raises(ConfigError, match="extra-sinks"):
        lint_project({"app.py": "x = 1\n"}, f'[tool.p21-lint.rules.SQL001]\nextra-sinks = ["{entry}"]\n')


def test_suppression_on_the_hole_line():
    source = """
        import sqlite3

        def get(conn: sqlite3.Connection, uid):
            conn.execute(f"SELECT * FROM t WHERE id = {uid}")  # p21: ignore[SQL001]
    """
    report = lint_project({"app.py": source}, SQL)
    assert [f.code for f in report.findings if not f.suppressed] == []


# -- robustness -------------------------------------------------------------------------------------------------


def test_many_branches_stay_fast_and_keep_the_unsafe_path():
    branches = "\n".join(f'    if f{i}:\n        q += " AND c{i} = ?"' for i in range(40))
    source = (
        "import sqlite3\n\ndef search(conn: sqlite3.Connection, name, "
        + ", ".join(f"f{i}" for i in range(40))
        + '):\n    q = "SELECT * FROM t WHERE 1 = 1"\n'
        + branches
        + "\n    q += f\" AND name = '{name}'\"\n    conn.execute(q)\n"
    )
    started = time.perf_counter()
    assert _lint(source) == [(85, "SQL001")]
    assert time.perf_counter() - started < 5


def test_a_very_long_concatenation_does_not_crash_the_rule():
    terms = " + ".join(f'"c{i} = 1 AND "' for i in range(300))
    source = f'import sqlite3\n\ndef q(conn: sqlite3.Connection, x):\n    conn.execute("SELECT * FROM t WHERE " + {terms} + x)\n'
    report = lint_project({"app.py": source}, SQL)
    assert not report.errors
    assert [(f.code, f.confidence) for f in report.findings] == [("SQL002", Level.LOW)]


# -- the SQL reading --------------------------------------------------------------------------------------------

HOLE = Hole(cst.Name("x"))


def _spot(*pieces: str | None, dialect: str | None = None, fragment: str = "statement") -> sqlinfo.Spot:
    alternative = tuple(Text(p) if p is not None else HOLE for p in pieces)
    reading = sqlinfo.read(alternative, dialect, fragment)
    return reading.spots[0]


@pytest.mark.parametrize(
    ("before", "after", "kind", "clause"),
    [
        ("SELECT * FROM t WHERE id = ", "", "value", "a comparison"),
        ("SELECT * FROM t WHERE name = '", "'", "value", "a quoted string"),
        ("SELECT * FROM t WHERE id IN (", ")", "value", "an IN list"),
        ("SELECT * FROM t LIMIT ", "", "value", "LIMIT"),
        ("INSERT INTO t (a) VALUES (", ")", "value", "VALUES"),
        ("UPDATE t SET a = ", " WHERE id = %s", "value", "SET"),
        ("SELECT * FROM t WHERE a BETWEEN ", " AND 3", "value", "BETWEEN"),
        ("SELECT * FROM ", " WHERE id = ?", "identifier", "the table name"),
        ("SELECT * FROM t ORDER BY ", "", "identifier", "ORDER BY"),
        ("SELECT * FROM t GROUP BY ", "", "identifier", "GROUP BY"),
        ("SELECT ", " FROM t", "identifier", "the selected columns"),
        ("SELECT * FROM t WHERE ", " = 1", "identifier", "a column name"),
        ("SELECT * FROM t JOIN u ON u.", " = t.id", "identifier", "a column name"),
        ("SELECT * FROM events_", "", "identifier", "the table name"),
        ("SELECT * FROM t WHERE ", "", "fragment", "a WHERE condition"),
        ("SELECT * FROM t WHERE a = 1 AND ", "", "fragment", "a WHERE condition"),
    ],
)
def test_where_a_hole_lands(before, after, kind, clause):
    spot = _spot(before, None, after)
    assert (spot.kind, spot.clause, spot.sure) == (kind, clause, True)


def test_unparseable_text_is_judged_by_the_words_before_the_hole():
    assert _spot("SELECT * FROM t ORDER BY name ", None).kind == "identifier"  # a sort direction
    assert _spot("SELECT * FROM t WHERE a = 1 ", None).kind == "fragment"
    spot = _spot(None, " WHERE id = ?")
    assert spot.kind == "head" and not spot.sure  # a base query passed in: not this function's to judge


def test_set_statements_and_quoted_names():
    set_quoted = _spot('SET search_path TO "', None, '"', dialect="postgres")  # sqlglot drops these quotes
    assert (set_quoted.kind, set_quoted.delimited) == ("identifier", '"')
    assert (_spot("SET search_path TO ", None).kind, _spot("SET search_path TO ", None).clause) == (
        "identifier",
        "a SET value",
    )
    assert _spot("SET application_name = '", None, "'").clause == "a SET value"
    assert _spot("SET ", None, " = 1").clause == "a setting's name"
    assert _spot('SELECT * FROM t WHERE a = "', None, '"').kind == "identifier"  # standard SQL: a column
    assert _spot("SELECT * FROM t WHERE a = 'it''s \"", None, "'").kind == "value"  # inside a string literal
    assert _spot("CREATE INDEX i ON t (", None, ")").clause == "an index's columns"


def test_placeholder_names_are_their_own_spot():
    assert _spot("INSERT INTO t (a) VALUES (:", None, ")").kind == "placeholder"
    assert _spot("INSERT INTO t (a) VALUES (%(", None, ")s)", dialect="postgres").kind == "placeholder"
    assert _spot("SELECT * FROM t WHERE a = $", None, dialect="postgres").kind == "placeholder"
    assert _spot("SELECT * FROM t WHERE a::", None).kind != "placeholder"  # a cast, not a placeholder


def test_dialects_read_their_own_quoting():
    assert _spot("SELECT * FROM `", None, "` WHERE x = 1", dialect="mysql").kind == "identifier"
    assert _spot('SELECT * FROM "', None, '" WHERE x = 1', dialect="postgres").kind == "identifier"
    assert _spot('SELECT * FROM t WHERE a = "', None, '"', dialect="mysql").kind == "value"  # a MySQL string
    assert _spot("PRAGMA table_info(", None, ")", dialect="sqlite").kind == "identifier"


@pytest.mark.parametrize(
    ("text", "styles"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", ["qmark", "qmark"]),
        ("SELECT * FROM t WHERE a = %s AND b = %(name)s", ["format", "pyformat"]),
        ("SELECT * FROM t WHERE a = $1 AND b = $2", ["dollar", "dollar"]),
        ("SELECT * FROM t WHERE a = :a AND b = :b_2", ["named", "named"]),
        ("SELECT '?', '%s', ':x' FROM t -- ? %s :y\n/* $1 */", []),
        ("SELECT a::int, b::text FROM t WHERE c = '10:30'", []),
        ("SELECT * FROM t WHERE data ? 'key' AND tags ?| array['a'] AND id = %s", ["format"]),
        ("SELECT * FROM t WHERE name LIKE %s || '%%'", ["format"]),
        ('SELECT "a?b" FROM t', []),
    ],
)
def test_placeholders_outside_literals_and_comments(text, styles):
    assert [p.style for p in sqlinfo.placeholders(text)] == styles


# -- the string data flow ---------------------------------------------------------------------------------------


def _value(body: str, name: str = "q"):
    module = cst.parse_module(body)
    func = module.body[0]
    assert isinstance(func, cst.FunctionDef)

    def qualified(node):
        if isinstance(node, cst.Name) and node.value in ("int", "len", "str", "range", "enumerate", "map", "set"):
            return f"builtins.{node.value}"
        return None

    flow = Flow(Hooks(qualified=qualified), constants=lambda n: None)
    env = flow.run_function(func)
    return env[name]


def _texts(value: Str) -> list[str]:
    return sorted("".join(p.text if isinstance(p, Text) else "{}" for p in alt) for alt in value.alternatives)


def test_branches_are_kept_apart_and_merged():
    value = _value(
        'def f(a, b):\n    q = "SELECT 1"\n    if a:\n        q += " WHERE x = ?"\n    else:\n        q += " WHERE y = " + b\n'
    )
    assert _texts(value) == ["SELECT 1 WHERE x = ?", "SELECT 1 WHERE y = {}"]


def test_a_branch_that_raises_does_not_flow_on():
    value = _value('def f(col):\n    if col not in ("a", "b"):\n        raise ValueError\n    q = f"ORDER BY {col}"\n')
    assert _texts(value) == ["ORDER BY a", "ORDER BY b"]


def test_loops_run_zero_or_one_time():
    value = _value('def f(cols):\n    q = "SELECT 1"\n    for c in ("a", "b"):\n        q += f", {c}"\n')
    assert _texts(value) == ["SELECT 1", "SELECT 1, a", "SELECT 1, b"]


def test_generated_placeholders_are_literal_but_uncounted():
    value = _value('def f(ids):\n    q = "IN (" + ",".join("?" * len(ids)) + ")"\n')
    assert _texts(value) == ["IN (?)"]
    assert any(isinstance(p, Text) and p.repeated for p in value.alternatives[0])


def test_percent_format_numeric_conversions_are_safe():
    value = _value("def f(a, b):\n    q = \"id = %d AND name = '%s'\" % (a, b)\n")
    holes = [p for p in value.alternatives[0] if isinstance(p, Hole)]
    assert [h.safety for h in holes] == [Safety.NUMERIC, Safety.UNSAFE]


def test_format_and_replace_and_join():
    assert _texts(_value('def f(t):\n    q = "SELECT * FROM {t} WHERE a = {{x}}".format(t=t)\n')) == [
        "SELECT * FROM {} WHERE a = {x}"
    ]
    assert _texts(_value('def f(t):\n    q = "SELECT * FROM :t".replace(":t", t)\n')) == ["SELECT * FROM {}"]
    assert _texts(
        _value('def f():\n    parts = ["a = ?"]\n    parts.append("b = ?")\n    q = " AND ".join(parts)\n')
    ) == ["a = ? AND b = ?"]


def test_a_compiled_anchored_pattern_checks_a_name():
    module = cst.parse_module(
        'import re\nNAME = re.compile(r"^[a-z_]+$")\nWORD = re.compile(r"[a-z]+")\n'
        "def f(a, b):\n    if not NAME.match(a):\n        raise ValueError\n"
        "    if not WORD.match(b):\n        raise ValueError\n    q = f\"{a}{b}\"\n"
    )
    flow_source = module.body[3]
    assert isinstance(flow_source, cst.FunctionDef)

    def qualified(node):
        return "re.compile" if isinstance(node, cst.Attribute) and node.attr.value == "compile" else None

    def constant(name):
        for stmt in module.body[1:3]:
            assign = stmt.body[0]
            if assign.targets[0].target.value == name:
                return Flow(Hooks(qualified=qualified), constants=lambda n: None).eval(assign.value, {})
        return None

    env = Flow(Hooks(qualified=qualified), constants=constant).run_function(flow_source)
    holes = [p for p in env["q"].alternatives[0] if isinstance(p, Hole)]
    assert [h.safety for h in holes] == [Safety.ALLOWED, Safety.UNSAFE]  # `match` of an unanchored pattern


def test_a_subset_test_vouches_for_every_element():
    value = _value(
        "def f(cols):\n    if not set(cols) <= {\"a\", \"b\"}:\n        raise ValueError\n    q = \", \".join(cols)\n"
    )
    assert _texts(value) == ["a, b"]  # every element is one of the allowed names (how many: unknown)


def test_list_lengths_follow_appends_and_are_lost_when_the_list_escapes():
    assert _value("def f(a):\n    p = [a]\n    if a:\n        p.append(a)\n", "p").lengths == frozenset({1, 2})
    escaped = _value("def f(a):\n    p = [a]\n    helper(p)\n", "p")
    assert isinstance(escaped, Seq) and escaped.lengths is None
    kept = _value("def f(a):\n    p = [a]\n    n = len(p)\n", "p")
    assert kept.lengths == frozenset({1})
