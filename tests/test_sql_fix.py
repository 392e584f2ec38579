"""The SQL001 autofix: the rewritten query returns the same rows as the original on a real in-memory sqlite3
database, closes the injection, and nothing but the plain case is touched."""

from __future__ import annotations

import sqlite3
import textwrap

import pytest

from p21_lint.fix import FixResult, fix_source
from p21_lint.testing import lint

SETUP = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, city TEXT, score REAL);
INSERT INTO users (id, name, city, score) VALUES
    (1, 'alice', 'Paris', 7.5), (2, 'bob', 'Lyon', 3.0), (3, 'carol', 'Paris', 9.25), (4, 'o''brien', 'Nice', 1.0);
"""


def _database() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SETUP)
    return conn


def _run(source: str, args: tuple):
    namespace: dict = {}
    exec(compile(source, "<case>", "exec"), namespace)  # the tests run the code; the linter never does
    return namespace["query"](_database(), *args)


CASES = [
    # (function, inputs that behave the same before and after)
    (
        """
        import sqlite3

        def query(conn: sqlite3.Connection, name, city):
            return conn.execute(f"SELECT id FROM users WHERE name = '{name}' AND city = '{city}' ORDER BY id").fetchall()
        """,
        [("alice", "Paris"), ("bob", "Paris"), ("nobody", "Lyon")],
    ),
    (
        """
        import sqlite3

        def query(conn: sqlite3.Connection, low):
            cur = conn.cursor()
            cur.execute("SELECT name FROM users WHERE score > %s ORDER BY id" % low)
            return cur.fetchall()
        """,
        [(3,), (7.5,), (0,)],
    ),
    (
        """
        import sqlite3

        def query(conn: sqlite3.Connection, uid, city):
            return conn.execute("SELECT name FROM users WHERE id = {} OR city = '{c}' ORDER BY id".format(uid, c=city)).fetchall()
        """,
        [(1, "Nice"), (2, "Paris"), (9, "Rome")],
    ),
    (
        """
        import sqlite3

        def query(conn: sqlite3.Connection, limit, name):
            return conn.execute(
                f"SELECT id FROM users WHERE name <> '{name}' AND city LIKE 'P%' ORDER BY id LIMIT {limit}"
            ).fetchall()
        """,
        [(1, "alice"), (5, "bob"), (0, "carol")],
    ),
]


@pytest.mark.parametrize(("source", "inputs"), CASES)
def test_fixed_query_returns_the_same_rows(source, inputs):
    original = textwrap.dedent(source)
    result = fix_source(original)
    assert result.fixed == 1
    assert result.source != original
    for args in inputs:
        assert _run(result.source, args) == _run(original, args), args
    # and the fixed code is what SQL001 asks for, and fixing again changes nothing
    assert [f.code for f in lint(result.source).findings if f.code.startswith("SQL")] == []
    assert fix_source(result.source) == FixResult(result.source, 0)


def test_fix_closes_the_injection():
    original = textwrap.dedent(CASES[0][0])
    fixed = fix_source(original).source
    attack = ("x' OR '1'='1", "x' OR '1'='1")
    assert len(_run(original, attack)) == 4  # the original hands out every row
    assert _run(fixed, attack) == []
    assert _run(fixed, ("o'brien", "Nice")) == [(4,)]  # and a quote in a real name no longer breaks the query


def test_fix_output_per_driver():
    source = textwrap.dedent("""
        import asyncpg
        import psycopg2


        def pg(name):
            cur = psycopg2.connect("").cursor()
            cur.execute(f"SELECT * FROM users WHERE name = '{name}' AND note LIKE 'a%'")


        async def apg(conn: asyncpg.Connection, a, b):
            return await conn.fetch(f"SELECT * FROM t WHERE a = {a} AND b = '{b}'")
    """)
    fixed = fix_source(source).source
    assert """cur.execute("SELECT * FROM users WHERE name = %s AND note LIKE 'a%%'", (name,))""" in fixed
    assert 'await conn.fetch("SELECT * FROM t WHERE a = $1 AND b = $2", a, b)' in fixed


@pytest.mark.parametrize(
    "line",
    [
        'conn.execute(f"SELECT * FROM {table}")',  # a name: SQL002, not a value
        "conn.execute(f\"SELECT * FROM t WHERE name LIKE '%{term}%'\")",  # a pattern, not a whole literal
        "conn.execute(q)",  # not inline
        'conn.execute(f"SELECT * FROM t WHERE a = {a} AND b = ?", (term,))',  # has parameters already
        'conn.execute(f"SELECT * FROM t WHERE a = {a:d}")',  # a format spec
        'thing.execute(f"SELECT * FROM t WHERE a = {a}")',  # the driver is not known
        'conn.execute("SELECT * FROM t WHERE a = %(a)s" % {"a": a})',  # named %-formatting
        'conn.execute(f"SELECT * FROM t WHERE a = {a!r}")',  # a conversion
    ],
)
def test_everything_but_the_plain_case_is_left_alone(line):
    source = f"import sqlite3\n\n\ndef f(conn: sqlite3.Connection, thing, table, term, q, a):\n    {line}\n"
    result = fix_source(source)
    assert (result.fixed, result.source) == (0, source)


def test_a_file_that_does_not_parse_is_left_alone():
    assert fix_source("def broken(:\n") == FixResult("def broken(:\n", 0)


def test_cli_diff_previews_and_fix_rewrites(tmp_path):
    from click.testing import CliRunner

    from p21_lint.cli import main

    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\n")
    db = tmp_path / "db.py"
    before = 'import sqlite3\n\n\ndef find(conn: sqlite3.Connection, name):\n    return conn.execute(f"SELECT * FROM users WHERE name = \'{name}\'").fetchall()\n'
    db.write_text(before)

    preview = CliRunner().invoke(main, ["check", str(tmp_path), "--diff"])
    assert preview.exit_code == 1 and '+    return conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchall()' in preview.output
    assert db.read_text() == before  # --diff writes nothing

    fixed = CliRunner().invoke(main, ["check", str(tmp_path), "--fix", "--no-cache"])
    assert fixed.exit_code == 0, fixed.output
    assert '"SELECT * FROM users WHERE name = ?", (name,)' in db.read_text()
    assert CliRunner().invoke(main, ["check", str(tmp_path), "--diff"]).exit_code == 0  # nothing left to fix


def test_fix_with_a_shard_fixes_only_the_shard_s_files(tmp_path):
    from click.testing import CliRunner

    from p21_lint.cli import main
    from p21_lint.shard import Shard

    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\n")
    query = 'import sqlite3\n\n\ndef find(conn: sqlite3.Connection, name):\n    return conn.execute(f"SELECT * FROM users WHERE name = \'{name}\'").fetchall()\n'
    names = [f"db_{i}.py" for i in range(6)]
    for name in names:
        (tmp_path / name).write_text(query)
    first = Shard(1, 2)
    mine = {n for n in names if first.takes(n)}
    assert mine and mine != set(names)  # both shards hold some

    CliRunner().invoke(main, ["check", str(tmp_path), "--fix", "--no-cache", "--shard", "1/2", "--format", "json"])

    fixed = {n for n in names if "?" in (tmp_path / n).read_text()}
    assert fixed == mine  # the other job of the matrix fixes the rest
