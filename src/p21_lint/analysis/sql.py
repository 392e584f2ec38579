"""SQL: where queries run (sinks), which placeholders each driver takes, and where a dynamic piece sits in a query.

`read()` takes one alternative of a query (literal text and holes, from analysis/strings.py), puts a marker such as
`__p21_hole_0__` where each hole is, parses the text with sqlglot in the driver's dialect and reports, per hole,
whether it landed where a *value* goes (a comparison operand, VALUES, LIMIT, an IN list, inside a string literal),
where an *identifier* goes (a table, a column, an ORDER BY target), or where a whole *fragment* of SQL goes. When
sqlglot cannot parse the text, the words just before the hole decide, less surely.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass


from p21_lint.analysis.strings import Hole, Pieces, Text
from p21_lint.model import Level


HOLE = "__p21_hole_{}__"
PARAM = "__p21_param_{}__"
_HOLE_RE = re.compile(r"__p21_hole_(\d+)__")

# -- drivers and their placeholders -----------------------------------------------------------------------------

STYLES = {  # paramstyle name (as users write it in config) -> how it looks
    "qmark": "?",
    "format": "%s",
    "pyformat": "%(name)s",
    "dollar": "$1",
    "named": ":name",
}


@dataclass(frozen=True)
class Driver:
    name: str  # as messages name it
    styles: frozenset[str]  # placeholder styles it accepts; empty: unknown (SQL003 does not apply)
    dialect: str | None  # sqlglot dialect
    placeholder: str  # the placeholder messages suggest, `{n}` for a number

    @property
    def known(self) -> bool:
        return bool(self.styles)


def _driver(name: str, styles: str, dialect: str | None, placeholder: str) -> Driver:
    return Driver(name, frozenset(styles.split()), dialect, placeholder)


DRIVERS = {
    "sqlite3": _driver("sqlite3", "qmark named", "sqlite", "?"),
    "aiosqlite": _driver("aiosqlite", "qmark named", "sqlite", "?"),
    "psycopg2": _driver("psycopg2", "format pyformat", "postgres", "%s"),
    "psycopg": _driver("psycopg", "format pyformat", "postgres", "%s"),
    "asyncpg": _driver("asyncpg", "dollar", "postgres", "${n}"),
    "pymysql": _driver("PyMySQL", "format pyformat", "mysql", "%s"),
    "mysqldb": _driver("mysqlclient", "format pyformat", "mysql", "%s"),
    "mysql.connector": _driver("mysql-connector", "format pyformat", "mysql", "%s"),
    "aiomysql": _driver("aiomysql", "format pyformat", "mysql", "%s"),
    "databases": _driver("databases", "named", None, ":{name}"),
    "sqlalchemy": _driver("SQLAlchemy", "named", None, ":{name}"),
    "django": _driver("Django", "format pyformat", None, "%s"),
    "unknown": _driver("your driver", "", None, ""),
}
DBAPI_DRIVERS = {
    "sqlite3",
    "aiosqlite",
    "psycopg2",
    "psycopg",
    "pymysql",
    "mysqldb",
    "mysql.connector",
    "aiomysql",
    "django",
}

# calls that make a connection, pool, engine or session: qualified name -> driver
CONSTRUCTORS = {
    "sqlite3.connect": "sqlite3",
    "sqlite3.Connection": "sqlite3",
    "aiosqlite.connect": "aiosqlite",
    "psycopg2.connect": "psycopg2",
    "psycopg2.pool.SimpleConnectionPool": "psycopg2",
    "psycopg2.pool.ThreadedConnectionPool": "psycopg2",
    "psycopg.connect": "psycopg",
    "psycopg.Connection.connect": "psycopg",
    "psycopg.AsyncConnection.connect": "psycopg",
    "psycopg_pool.ConnectionPool": "psycopg",
    "psycopg_pool.AsyncConnectionPool": "psycopg",
    "asyncpg.connect": "asyncpg",
    "asyncpg.create_pool": "asyncpg",
    "pymysql.connect": "pymysql",
    "pymysql.Connect": "pymysql",
    "pymysql.connections.Connection": "pymysql",
    "MySQLdb.connect": "mysqldb",
    "MySQLdb.Connect": "mysqldb",
    "mysql.connector.connect": "mysql.connector",
    "aiomysql.connect": "aiomysql",
    "aiomysql.create_pool": "aiomysql",
    "databases.Database": "databases",
    "sqlalchemy.create_engine": "sqlalchemy",
    "sqlalchemy.engine.create_engine": "sqlalchemy",
    "sqlalchemy.ext.asyncio.create_async_engine": "sqlalchemy",
    "sqlalchemy.orm.Session": "sqlalchemy",
    "sqlalchemy.orm.sessionmaker": "sqlalchemy",
    "sqlalchemy.orm.scoped_session": "sqlalchemy",
    "sqlalchemy.ext.asyncio.AsyncSession": "sqlalchemy",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sqlalchemy",
}
# module-level objects that are connections already
OBJECTS = {"django.db.connection": "django", "django.db.connections": "django"}
# annotations: the qualified name's first part -> driver (`conn: asyncpg.Connection`, `db: Session`)
ANNOTATION_MODULES = {
    "sqlite3": "sqlite3",
    "aiosqlite": "aiosqlite",
    "psycopg2": "psycopg2",
    "psycopg": "psycopg",
    "psycopg_pool": "psycopg",
    "asyncpg": "asyncpg",
    "pymysql": "pymysql",
    "MySQLdb": "mysqldb",
    "aiomysql": "aiomysql",
    "databases": "databases",
    "sqlalchemy": "sqlalchemy",
}


@dataclass(frozen=True)
class Sink:
    """A call that runs SQL text, and how it takes parameters."""

    driver: Driver
    # how parameters are passed, for messages: dbapi, asyncpg, databases, text, session, raw, rawsql, extra, pandas, compose
    form: str
    sql_arg: int
    sql_keywords: tuple[str, ...] = ("sql", "query", "operation", "statement", "stmt", "raw_query")
    params_arg: int | None = 1  # VARARGS: every positional argument after the SQL; None: no parameters here
    params_keywords: tuple[str, ...] = ("parameters", "params", "args", "vars", "values")
    fragment: str = "statement"  # statement | auto | condition | expression
    confidence: Level = Level.HIGH
    by_name: bool = False  # matched by method name only: the text must look like SQL to count
    counts: bool = True  # SQL004 applies (executemany takes a list of rows: it does not)
    label: str = ""  # the call as written, filled in at the call site


VARARGS = -1

_DBAPI = {"execute": (1, True), "executemany": (1, False), "executescript": (None, False)}
METHODS: dict[str, dict[str, tuple[str, int | None, bool]]] = {}  # driver -> method -> (form, params_arg, counts)
for _name in DBAPI_DRIVERS:
    METHODS[_name] = {m: ("dbapi", p, c) for m, (p, c) in _DBAPI.items()}
METHODS["aiosqlite"].update({"execute_fetchall": ("dbapi", 1, True), "execute_insert": ("dbapi", 1, True)})
METHODS["asyncpg"] = {
    "execute": ("asyncpg", VARARGS, True),
    "fetch": ("asyncpg", VARARGS, True),
    "fetchrow": ("asyncpg", VARARGS, True),
    "fetchval": ("asyncpg", VARARGS, True),
    "executemany": ("asyncpg", 1, False),
    "cursor": ("asyncpg", VARARGS, True),
    "prepare": ("asyncpg", None, False),
}
METHODS["databases"] = {
    m: ("databases", 1, True) for m in ("execute", "fetch_all", "fetch_one", "fetch_val", "iterate")
}
METHODS["databases"]["execute_many"] = ("databases", 1, False)
METHODS["sqlalchemy"] = {"execute": ("session", 1, True), "exec_driver_sql": ("exec_driver_sql", 1, True)}

FUNCTIONS = {  # qualified name -> sink
    **{
        name: Sink(DRIVERS["sqlalchemy"], "text", 0, params_arg=None, fragment="auto", counts=False)
        for name in ("sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text")
    },
    **{
        name: Sink(DRIVERS["unknown"], "pandas", 0, params_arg=None, params_keywords=("params",))
        for name in (
            "pandas.read_sql",
            "pandas.read_sql_query",
            "pandas.io.sql.read_sql",
            "pandas.io.sql.read_sql_query",
        )
    },
    **{
        name: Sink(DRIVERS["django"], "rawsql", 0, fragment="expression")
        for name in ("django.db.models.expressions.RawSQL", "django.db.models.RawSQL")
    },
    **{
        name: Sink(DRIVERS[name.split(".")[0]], "compose", 0, params_arg=None, fragment="auto", counts=False)
        for name in ("psycopg.sql.SQL", "psycopg2.sql.SQL")
    },
    **{
        name: Sink(DRIVERS["psycopg2"], "dbapi", 1, params_arg=None, counts=False)
        for name in ("psycopg2.extras.execute_values", "psycopg2.extras.execute_batch")
    },
}

# method names that run SQL on objects we cannot identify: lower confidence, and only text that looks like SQL
BY_NAME = {
    "execute": 1,
    "executemany": None,
    "executescript": None,
    "fetch": VARARGS,
    "fetchrow": VARARGS,
    "fetchval": VARARGS,
    "fetch_all": 1,
    "fetch_one": 1,
    "fetch_val": 1,
    "execute_many": None,
    "iterate": 1,
    "exec_driver_sql": 1,
    "execute_sql": 1,
    "raw": 1,
    "read_sql": None,
    "read_sql_query": None,
    "execute_fetchall": 1,
    "execute_insert": 1,
}
_DB_RECEIVER = re.compile(
    r"(?i)(cur|conn|db|database|session|pool|engine|tx|txn|transaction|sqlite|pg|mysql|sql|objects|^c$)"
)


def by_name_sink(method: str, receiver: str) -> Sink | None:
    if method not in BY_NAME:
        return None
    confidence = Level.MEDIUM if _DB_RECEIVER.search(receiver) else Level.LOW
    if method == "raw" and (receiver.endswith("objects") or ".objects." in receiver + "."):
        return Sink(DRIVERS["django"], "raw", 0, params_keywords=("params",), confidence=Level.HIGH)
    params = BY_NAME[method]
    return Sink(
        DRIVERS["unknown"],
        "dbapi",
        0,
        params_arg=params,
        confidence=confidence,
        by_name=True,
        counts=params is not None,
    )


def method_sink(driver: str, method: str) -> Sink | None:
    entry = METHODS.get(driver, {}).get(method)
    if entry is None:
        return None
    form, params, counts = entry
    found = DRIVERS[driver]
    if form == "exec_driver_sql":  # the engine's own driver decides the placeholder
        found, form = DRIVERS["unknown"], "dbapi"
    return Sink(found, form, 0, params_arg=params, counts=counts)


def parse_extra_sink(entry: str) -> tuple[str, Sink]:
    """`"app.db.run_query:0:format"` or `".run_sql:sql:qmark:1"` -> (name, sink); ValueError if malformed."""
    parts = entry.split(":")
    if len(parts) not in (3, 4) or not parts[0] or not all(parts[1:]):
        raise ValueError(f"`{entry}` is not `qualified.name:argument:paramstyle[:parameters-argument]`")
    name, arg, style = parts[:3]
    if style not in (*STYLES, "unknown"):
        raise ValueError(f"`{entry}`: paramstyle must be one of {', '.join([*STYLES, 'unknown'])}")
    if not re.fullmatch(r"\.?[A-Za-z_][\w.]*", name):
        raise ValueError(f"`{entry}`: `{name}` is not a dotted name (or `.method` for any object's method)")
    styles = {"format": "format pyformat", "pyformat": "format pyformat"}.get(
        style, style if style != "unknown" else ""
    )
    example = {"qmark": "?", "format": "%s", "pyformat": "%(name)s", "dollar": "${n}", "named": ":{name}"}.get(
        style, ""
    )
    driver = _driver(name.lstrip("."), styles, None, example)
    sql_arg, keywords = (int(arg), ()) if arg.isdigit() else (0, (arg,))
    params = parts[3] if len(parts) == 4 else None
    params_arg = int(params) if params is not None and params.isdigit() else None
    sink = Sink(
        driver,
        "dbapi" if style != "dollar" else "asyncpg",
        sql_arg,
        sql_keywords=keywords or Sink.sql_keywords,
        params_arg=params_arg,
        params_keywords=(params,) if params is not None and not params.isdigit() else (),
        counts=params is not None,
    )
    return name, sink


# -- placeholders -----------------------------------------------------------------------------------------------

_TOKENS = re.compile(
    r"""(?P<skip>'(?:[^'\\]|''|\\.)*'|"(?:[^"]|"")*"|`[^`]*`|--[^\n]*|/\*.*?\*/|::|%%)
      | (?P<pyformat>%\((?P<pykey>[^)]+)\)s)
      | (?P<format>%s)
      | (?P<dollar>\$(?P<dnum>\d+))
      | (?P<qmark>\?(?P<qnum>\d*)(?![|&])(?!\s*(?:'|%|\$|array\b|ARRAY\b)))
      | (?P<named>(?<![\w:\\]):(?P<nkey>[A-Za-z_]\w*))""",
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Placeholder:
    style: str  # qmark, format, pyformat, dollar, named
    text: str
    key: str | None  # the name of a named one, the number of `$2`
    start: int
    end: int


def placeholders(text: str) -> tuple[Placeholder, ...]:
    """Placeholders outside string literals, quoted names and comments."""
    out = []
    for m in _TOKENS.finditer(text):
        kind = m.lastgroup
        if kind in (None, "skip"):
            continue
        if kind in ("pykey", "dnum", "qnum", "nkey"):  # lastgroup can name the inner group
            kind = {"pykey": "pyformat", "dnum": "dollar", "qnum": "qmark", "nkey": "named"}[kind]
        key = m.group("pykey") or m.group("dnum") or m.group("nkey") or (m.group("qnum") or None)
        out.append(Placeholder(kind, m.group(0), key, m.start(), m.end()))
    return tuple(out)


# -- reading a query --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spot:
    """Where one hole landed in the SQL."""

    # value | identifier | fragment | head (the statement itself starts with it: a query passed in) |
    # placeholder (the name of a placeholder: `:{key}`, `%({key})s`)
    kind: str
    clause: str  # in words, for messages: "a comparison", "LIMIT", "an IN list", "the table name", ...
    quoted: str | None = None  # the SQL string literal around the hole (`%{}%`), when it sits inside one
    sure: bool = True  # False when the text did not parse and the words before the hole decided
    delimited: str = ""  # the quote around a quoted identifier (`"{name}"`, `` `{name}` ``)


@dataclass(frozen=True)
class Reading:
    text: str  # the SQL with a marker for every hole
    holes: tuple[Hole, ...]
    spots: tuple[Spot, ...]  # one per hole
    placeholders: tuple[Placeholder, ...]
    looks_like_sql: bool


_COMMANDS = frozenset(
    [
        "select",
        "insert",
        "update",
        "delete",
        "with",
        "create",
        "alter",
        "drop",
        "truncate",
        "replace",
        "merge",
        "upsert",
        "pragma",
        "explain",
        "grant",
        "revoke",
        "begin",
        "commit",
        "rollback",
        "savepoint",
        "release",
        "set",
        "show",
        "describe",
        "call",
        "exec",
        "vacuum",
        "analyze",
        "copy",
        "lock",
        "declare",
        "listen",
        "notify",
        "comment",
        "refresh",
        "reindex",
        "cluster",
        "values",
    ]
)
_CLAUSE_WORDS = re.compile(r"(?i)\b(from|where|values|join|order\s+by|group\s+by|limit|returning|on\s+conflict)\b")
_FIRST_WORD = re.compile(r"^[\s(]*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z]+)", re.DOTALL)


def render(alternative: Pieces) -> tuple[str, tuple[Hole, ...]]:
    text, holes = [], []
    for piece in alternative:
        if isinstance(piece, Text):
            text.append(piece.text)
        else:
            text.append(HOLE.format(len(holes)))
            holes.append(piece)
    return "".join(text), tuple(holes)


def read(alternative: Pieces, dialect: str | None, fragment: str = "statement") -> Reading:
    text, holes = render(alternative)
    found = placeholders(text)
    looks = _looks_like_sql(text, fragment)
    spots = _spots(text, len(holes), dialect, fragment, found) if holes else ()
    return Reading(text, holes, spots, found, looks)


def _looks_like_sql(text: str, fragment: str) -> bool:
    if fragment != "statement":
        return True
    m = _FIRST_WORD.match(text)
    if m and m.group(1).lower() in _COMMANDS:
        return True
    stripped = text.lstrip()
    return stripped.startswith("__p21_hole_") and bool(_CLAUSE_WORDS.search(_HOLE_RE.sub(" ", text)))


@functools.lru_cache(maxsize=2048)
def _spots(
    text: str, count: int, dialect: str | None, fragment: str, found: tuple[Placeholder, ...]
) -> tuple[Spot, ...]:
    # placeholders become plain names so every dialect parses them the same way
    parse_text, shift = [], 0
    for i, p in enumerate(found):
        parse_text.append(text[shift : p.start])
        parse_text.append(PARAM.format(i))
        shift = p.end
    parse_text.append(text[shift:])
    sql = "".join(parse_text)
    named = _placeholder_names(text, found)
    from p21_lint.analysis import sql_tree  # sqlglot takes a sixth of a second to import: only when SQL is read

    tree = sql_tree.parse(sql, dialect, _attempts(sql, fragment))
    spots = sql_tree.spots(tree) if tree is not None else {}
    out = []
    for i in range(count):
        spot = named.get(i) or spots.get(i) or _lexical_spot(sql, i, dialect)
        quote = _enclosing_quote(sql, sql.find(HOLE.format(i)), dialect) if spot.kind != "placeholder" else None
        if quote in ('"', "`"):
            # a quoted identifier; sqlglot forgets the quotes in some places (`SET search_path TO "{schema}"`)
            clause = spot.clause if spot.kind == "identifier" and spot.clause != "a SET value" else "a quoted name"
            spot = Spot("identifier", clause, sure=spot.sure, delimited=quote)
        out.append(spot)
    return tuple(out)


_DOLLAR_HOLE = re.compile(r"(?<![\w$])\$__p21_hole_(\d+)__")


def _placeholder_names(text: str, found: tuple[Placeholder, ...]) -> dict[int, Spot]:
    """Holes that make up a placeholder's name (`:{key}`, `%({key})s`, `${n}`): the value itself goes as a
    parameter, and the name is SQL text only the program should choose."""
    out = {}
    for p in found:
        for m in _HOLE_RE.finditer(p.text):
            out[int(m.group(1))] = Spot("placeholder", "a placeholder's name")
    for m in _DOLLAR_HOLE.finditer(text):
        out[int(m.group(1))] = Spot("placeholder", "a placeholder's number")
    return out


def _enclosing_quote(sql: str, at: int, dialect: str | None) -> str | None:
    """The quote character the text at `at` sits inside (`'`, or `"`/`` ` `` around a name), or None. In
    MySQL double quotes delimit strings, as single quotes do."""
    quote, _ = literal_around(sql, at, dialect)
    if quote == '"' and dialect == "mysql":
        return "'"
    return quote


def literal_around(sql: str, at: int, dialect: str | None) -> tuple[str | None, int]:
    """The quote the text at `at` sits inside and where it opens, or (None, -1)."""
    if at < 0:
        return None, -1
    quote: str | None = None
    start = -1
    i = 0
    while i < at:
        c = sql[i]
        if quote is None:
            if c in "'\"`":
                quote, start = c, i
            elif sql.startswith("--", i):
                end = sql.find("\n", i)
                if end < 0 or end > at:
                    return None, -1
                i = end
            elif sql.startswith("/*", i):
                end = sql.find("*/", i + 2)
                if end < 0 or end > at:
                    return None, -1
                i = end + 1
        elif c == quote:
            if sql.startswith(quote * 2, i) and i + 1 < at:
                i += 1  # a doubled quote inside the literal
            else:
                quote, start = None, -1
        elif c == "\\" and quote == "'" and dialect == "mysql":
            i += 1
        i += 1
    return quote, start


def _attempts(sql: str, fragment: str) -> list[str]:
    m = _FIRST_WORD.match(sql)
    if fragment == "statement" or (m and m.group(1).lower() in _COMMANDS):
        return [sql]  # a whole statement (also what RawSQL and text() often hold)
    condition = f"SELECT 1 FROM __p21_t WHERE {sql}"
    if fragment == "condition":
        return [condition]
    if fragment == "expression":
        return [f"SELECT {sql}", condition]
    return [condition, f"SELECT 1 FROM __p21_t ORDER BY {sql}", f"SELECT {sql}"]


_LEX_VALUE_OP = re.compile(
    r"(?:=|<>|!=|<|>|\b(?:like|ilike|limit|offset|between|interval|then|else|when|and\s+\S+\s+between))\s*$",
    re.IGNORECASE,
)
_LEX_IDENT_KW = re.compile(r"\b(?:from|join|into|update|table|exists|by|select|distinct)\s*$", re.IGNORECASE)
_KEYWORD = re.compile(
    r"\b(select|from|where|and|or|on|in|values|by|into|set|limit|offset|having|join|update|table|returning)\b",
    re.IGNORECASE,
)


def _lexical_spot(sql: str, index: int, dialect: str | None = None) -> Spot:
    """Where a hole sits, judged from the words before it (the text did not parse)."""
    marker = HOLE.format(index)
    at = sql.find(marker)
    if at < 0:
        return Spot("fragment", "the statement", sure=False)
    before = sql[:at]
    quote = _enclosing_quote(sql, at, dialect)
    if quote in ('"', "`"):
        return Spot("identifier", "a quoted name", sure=False, delimited=quote)
    if quote == "'":
        mark = "'" if before.rfind("'") >= before.rfind('"') else '"'
        start = before.rfind(mark)
        end = sql.find(mark, at + len(marker))
        inner = sql[start + 1 : end if end >= 0 else len(sql)]
        return Spot("value", "a quoted string", _HOLE_RE.sub("...", inner.replace(marker, "{}")), sure=False)
    tail = before.rstrip()
    if not tail:
        return Spot("head", "the start of the statement", sure=False)
    if _LEX_VALUE_OP.search(tail):
        return Spot("value", "a comparison", sure=False)
    if _LEX_IDENT_KW.search(tail):
        return Spot("identifier", "a name", sure=False)
    if tail.endswith(("(", ",")):
        keywords = _KEYWORD.findall(tail)
        last = keywords[-1].lower() if keywords else ""
        if last in ("in", "values"):
            return Spot("value", "an IN list" if last == "in" else "VALUES", sure=False)
        if last in ("select", "by", "into", "table"):
            return Spot("identifier", "a name", sure=False)
    keywords = _KEYWORD.findall(tail)
    if keywords and keywords[-1].lower() == "by" and re.search(r"[\w\"`\]]$", tail):
        return Spot("identifier", "ORDER BY", sure=False)  # `ORDER BY name {direction}`
    return Spot("fragment", "a clause", sure=False)
