"""SQL: the standard "Database queries must use parameterized statements".

analysis/sql_check.py finds what is wrong with a function's queries; these rules say it, in the driver's own terms:
what is wrong and what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from p21_lint import cst
from p21_lint.analysis import sql as sqlinfo
from p21_lint.analysis.sql import Reading, Sink, Spot
from p21_lint.analysis.sql_check import (
    CountProblem,
    FunctionProblems,
    HoleProblem,
    Problem,
    StyleProblem,
)
from p21_lint.engine.context import FileContext
from p21_lint.engine.rule import Rule, RuleOption
from p21_lint.model import Level

STANDARD_SQL = "Database queries must use parameterized statements"


@dataclass(frozen=True)
class Issue:
    code: str
    node: cst.CSTNode
    message: str
    confidence: Level


class SinkOption(RuleOption):
    """`extra-sinks`: a list of "qualified.name:argument:paramstyle[:parameters-argument]" strings."""

    def check(self, value: Any, where: str) -> Any:
        checked = super().check(value, where)
        for entry in checked:
            try:
                sqlinfo.parse_extra_sink(entry)
            except ValueError as exc:
                raise TypeError(f"{where}: option `{self.name}`: {exc}") from None
        return checked


def issue(problem: Problem, context: FileContext) -> Issue:
    if isinstance(problem, HoleProblem):
        return _hole_issue(problem, context)
    if isinstance(problem, StyleProblem):
        return Issue("SQL003", problem.node, _wrong_style_message(problem.wrong, problem.driver), Level.HIGH)
    return Issue("SQL004", problem.node, _count_message(problem, context), problem.sink.confidence)


# -- messages ---------------------------------------------------------------------------------------------------

_OTHER_PLACEHOLDERS = "the placeholder your driver takes: `?` for sqlite3, `%s` for psycopg and MySQL, `$1` for asyncpg"


def _short(code: str, limit: int = 40) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."


def _param_name(code: str) -> str:
    names = re.findall(r"[A-Za-z_]\w*", code)
    names = [n for n in names if n not in ("self", "request", "args", "get", "form", "data", "json", "str", "int")]
    return names[-1] if names else "value"


def _before(reading: Reading, index: int, quoted: bool) -> str:
    """The SQL just before hole `index` (before the quote that opens its literal, when it sits in one), shortened,
    for the suggestion."""
    at = reading.text.find(sqlinfo.HOLE.format(index))
    if quoted:
        _, start = sqlinfo.literal_around(reading.text, at, None)
        at = start if start >= 0 else at
    before = re.sub(r"__p21_hole_\d+__", "...", reading.text[:at])
    before = " ".join(before.split())
    words = before.split(" ")
    tail = (" ".join(words[-4:]) if len(words) > 4 else before).rstrip()
    return ("... " if len(words) > 4 else "") + tail + ("" if tail.endswith("(") or not tail else " ")


def _whole(code: str, fallback: str, limit: int = 30) -> str:
    """`code` for a suggestion, which must stay valid Python: never cut short; `fallback` when too long."""
    code = " ".join(code.split())
    return code if len(code) <= limit else fallback


def _label(call: cst.Call, context: FileContext) -> str:
    """The called function as written (`cur.execute`), or its method name alone when that is long."""
    func = call.func
    short = func.attr.value if isinstance(func, cst.Attribute) else "execute"
    return _whole(context.code_for(func), short)


def _literal(text: str) -> str:
    """`text` as a Python string literal, in the quotes it does not contain (`"user"` is a quoted SQL name)."""
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace('"', '\\"') + '"'


def _placeholder(sink: Sink, reading: Reading, index: int, name: str) -> str:
    if not sink.driver.known:
        return "%s"
    at = reading.text.find(sqlinfo.HOLE.format(index))
    n = 1 + sum(1 for p in reading.placeholders if p.start < at)
    return sink.driver.placeholder.format(n=n, name=name)


def _hole_issue(found: HoleProblem, context: FileContext) -> Issue:
    spot, sink, reading = found.spot, found.sink, found.reading
    code = " ".join(context.code_for(found.hole.node).split())
    shown = _short(code)
    index = reading.holes.index(found.hole)
    confidence = sink.confidence
    if not spot.sure:
        confidence = Level(max(Level.LOW, confidence - 1))
    if spot.kind == "value":
        return Issue("SQL001", found.hole.node, _value_message(found, context, code, index), confidence)
    if spot.kind == "placeholder":
        return Issue(
            "SQL002",
            found.hole.node,
            f"`{shown}` is formatted into the SQL as {spot.clause}: a placeholder's name is SQL text too, and "
            f"`x OR 1=1` there is injection; name placeholders after fixed names (a column from an allowlist, "
            f"or a counter: `:p{{i}}`) and keep the values in the parameters",
            confidence,
        )
    if spot.kind == "identifier":
        return Issue("SQL002", found.hole.node, _name_message(found, context, code), confidence)
    return Issue(
        "SQL002",
        found.hole.node,
        f"`{shown}` splices SQL text built elsewhere into {spot.clause}: if any user input can reach it this is SQL "
        "injection; build the fragment here from literal pieces with placeholders and pass its values as parameters",
        Level.LOW,
    )


def _name_message(found: HoleProblem, context: FileContext, code: str) -> str:
    spot, sink, reading = found.spot, found.sink, found.reading
    shown = _short(code)
    allowed = _allowlist_name(spot)
    items = _collection(found.hole.node, context)
    if items is not None or found.hole.repeated:  # a list of names joined into the SQL
        check = (
            f"`if not set({items}) <= {allowed}: raise ...`"
            if items is not None and _is_name(items)
            else f"`if not set(names) <= {allowed}: raise ...` on the list they come from"
        )
        source = f" from `{items}`" if items is not None else " (one per item of a list)"
        return (
            f"`{shown}` puts names{source} into the SQL as {spot.clause}; a parameter cannot stand for a "
            f"name, so check every one against a fixed set first ({check})"
        )
    check = (
        f"`if {code} not in {allowed}: raise ...`"
        if _is_name(code)
        else f"assign it to a variable and check that: `if name not in {allowed}: raise ...`"
    )
    quoting = _quoting(sink, code if len(code) <= 40 else "name")
    if spot.clause in ("a SET value", "a setting's name") or (spot.delimited and _is_set(reading.text)):
        where = "the value of a SET" if spot.clause != "a setting's name" else "the name of a SET"
        return (
            f"`{shown}` is formatted into the SQL as {where}; SET takes no parameter, so check it against a fixed "
            f"set first ({check}), or set it through a function that takes one: "
            f"`{_set_config(sink, reading, found, code)}`"
        )
    if spot.delimited:
        return (
            f"`{shown}` is formatted into the SQL as a quoted name: the quotes do not protect it (a "
            f"{'backtick' if spot.delimited == '`' else 'double quote'} in it ends the name); check it against a "
            f"fixed set first ({check})"
            + (f", or drop the quotes and let the driver quote it: {quoting}" if quoting else "")
        )
    return (
        f"`{shown}` is formatted into the SQL as {spot.clause}; a parameter cannot stand for a name, so check it "
        f"against a fixed set first ({check}) or map user input to names with a dict"
        + (f", or let the driver quote it: {quoting}" if quoting else "")
    )


def _is_name(code: str) -> bool:
    """A variable, `self.x` or `options.schema`: what a membership test can vouch for afterwards."""
    return re.fullmatch(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", code) is not None


def _quoting(sink: Sink, name: str) -> str:
    """The driver's own identifier quoting, which escapes quotes inside the name ('' where there is none)."""
    if sink.driver.name in ("psycopg", "psycopg2") or sink.form == "compose":
        return f'`sql.SQL("... {{}}").format(sql.Identifier({name}))` (psycopg.sql)'
    if sink.driver.name == "SQLAlchemy":
        return f"`engine.dialect.identifier_preparer.quote({name})`"
    return ""


_SET = re.compile(r"(?i)^[\s(]*set\s+(?:session\s+|local\s+)?([A-Za-z_][\w.]*)")


def _is_set(text: str) -> bool:
    return _SET.match(text) is not None


def _set_config(sink: Sink, reading: Reading, found: HoleProblem, code: str) -> str:
    """`SET name TO value` as PostgreSQL's `set_config(name, value, is_local)`, which takes a parameter."""
    m = _SET.match(reading.text)
    setting = m.group(1) if m and not m.group(1).startswith("__p21_hole_") else "name"
    name = _param_name(code)
    value = code if len(code) <= 40 else name
    index = reading.holes.index(found.hole)
    placeholder = _placeholder(sink, reading, index, name) if sink.driver.known else "%s"
    query = f"SELECT set_config('{setting}', {placeholder}, false)"
    if sink.form == "text":
        return f'text("{query}")` with `{{"{name}": {value}}}'
    if sink.form in ("session", "databases"):
        return f'"{query}"` with `{{"{name}": {value}}}'
    if sink.form == "asyncpg":
        return f'"{query}"` with `{value}` as its argument'
    return f'"{query}"` with `({value},)'


def _allowlist_name(spot: Spot) -> str:
    if "SET" in spot.clause:
        return "ALLOWED_VALUES"
    if spot.delimited:
        return "ALLOWED_NAMES"
    if "table" in spot.clause:
        return "ALLOWED_TABLES"
    if "ORDER" in spot.clause:
        return "ALLOWED_SORTS"
    return "ALLOWED_COLUMNS"


def _value_message(found: HoleProblem, context: FileContext, code: str, index: int) -> str:
    spot, sink, reading = found.spot, found.sink, found.reading
    shown = _short(code)
    name = _param_name(code)
    param = code if len(code) <= 40 else name
    if spot.quoted and spot.quoted.replace("{}", ""):
        pieces = [p.replace("%%", "%").replace("{", "{{").replace("}", "}}") for p in spot.quoted.split("{}")]
        param = "f" + _literal(("{" + param + "}").join(pieces))
    placeholder = _placeholder(sink, reading, index, name)
    sql = _before(reading, index, spot.quoted is not None) + placeholder
    label = _label(found.call, context)
    head = f"`{shown}` is formatted into the SQL as {spot.clause}: SQL injection. "
    if spot.clause == "an IN list":
        param = _collection(found.hole.node, context) or _whole(code, "items")
        if sink.form == "asyncpg":
            return head + f"Pass the list as one parameter: `... = ANY($1)` with `{label}(query, list({param}))`"
        if sink.driver.name in ("psycopg", "psycopg2"):
            return head + f"Pass the list as one parameter: `... = ANY(%s)` with `{label}(query, (list({param}),))`"
        mark = sink.driver.placeholder if sink.driver.known and "{" not in sink.driver.placeholder else "?"
        return head + (
            f"Generate one placeholder per item and pass the items: "
            f'`", ".join(["{mark}"] * len({param}))` and `{label}(query, tuple({param}))`'
        )
    q = _literal(sql)
    forms = {
        "dbapi": f'{label}({q}, ({param},))',
        "raw": f'{label}({q}, [{param}])',
        "rawsql": f'RawSQL({q}, ({param},))',
        "extra": f'.extra(where=[{q}], params=[{param}])',
        "extra-select": f'.extra(select={{"...": {q}}}, select_params=[{param}])',
        "asyncpg": f'{label}({q}, {param})',
        "databases": f'{label}({q}, {{"{name}": {param}}})',
        "session": f'{label}(text({q}), {{"{name}": {param}}})',
        "text": f'text({q})` and pass `{{"{name}": {param}}}` to `execute()',
        "pandas": f'{label}({q}, con, params=({param},))',
        "exec_driver_sql": f'{label}({q}, ({param},))',
    }
    if spot.clause == "a SET value" and sink.driver.dialect != "mysql":
        return head + (
            "SET takes no parameter in PostgreSQL (psycopg 3 and asyncpg bind on the server), so set it through "
            f"a function that does: `{_set_config(sink, reading, found, code)}`"
        )
    if sink.form == "compose":
        return head + (
            f"Pass it as a parameter (`%s`) to `execute()`, or compose it: "
            f"`sql.SQL({_literal(_before(reading, index, spot.quoted is not None) + '{}')})"
            f".format(sql.Literal({param}))`"
        )
    suggestion = forms.get(sink.form, forms["dbapi"])
    if spot.quoted is not None:
        head += "Drop the quotes around it and pass it as a parameter: "
    else:
        head += "Pass it as a parameter: "
    tail = "" if sink.driver.known else f" (with {_OTHER_PLACEHOLDERS})"
    return head + f"`{suggestion}`" + tail


def _collection(node: cst.CSTNode, context: FileContext) -> str | None:
    """`ids` for `map(str, ids)`, `str(i) for i in ids` or `", ".join(ids)`: what a list of items joined into the
    SQL is made of; None when the hole is one item."""
    found = None
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "join"
        and node.args
    ):
        node = found = node.args[0].value
    if isinstance(node, (cst.GeneratorExp, cst.ListComp, cst.SetComp)):
        found = node.for_in.iter
    elif isinstance(node, cst.Call) and len(node.args) == 2 and context.qualified_name(node.func) == "builtins.map":
        found = node.args[1].value
    return _whole(context.code_for(found), "items") if found is not None else None


def _wrong_style_message(wrong: sqlinfo.Placeholder, driver: sqlinfo.Driver) -> str:
    takes = " or ".join(f"`{sqlinfo.STYLES[s]}`" for s in sorted(driver.styles, key=list(sqlinfo.STYLES).index))
    key = re.sub(r"__p21_hole_\d+__", "{...}", wrong.key or "")  # `:{key}`: a name made in the code
    text = re.sub(r"__p21_hole_\d+__", "{...}", wrong.text)
    number = key if key.isdigit() else "1"
    name = key if key and not key.isdigit() else "name"
    right = driver.placeholder.format(n=number, name=name)
    return (
        f"`{text}` is not a placeholder {driver.name} understands, so the query fails or binds nothing: "
        f"{driver.name} takes {takes}; write `{right}` instead of `{text}`"
    )


def _count_message(problem: CountProblem, context: FileContext) -> str:
    if problem.kind == "missing-key":
        shown = f"%({problem.key})s" if problem.style == "pyformat" else f":{problem.key}"
        return (
            f'the query uses `{shown}` but the parameters have no key "{problem.key}": add it to the dict, or '
            "fix the placeholder's name"
        )
    code = context.code_for(problem.node).strip()
    if problem.kind == "not-a-tuple":
        inner = code[1:-1].strip()
        return (
            f"`{code}` is `{inner}` in parentheses, not a tuple, so the driver does not get one parameter: "
            f"write `({inner},)`"
        )
    placeholders = _plural(problem.placeholders, "placeholder")
    if problem.kind == "one-list":
        return (
            f"the query has {placeholders} but one list is passed: asyncpg takes each parameter as its own "
            f"argument: `{context.code_for(problem.call.func)}(query, *{code})`"
        )
    given = problem.given
    passed = _plural(min(given), "parameter") if len(given) == 1 else f"{sorted(given)} parameters"
    fix = "pass one value per placeholder" if problem.style else "remove the parameters or add placeholders"
    return f"the query has {placeholders} but {passed} {'is' if passed.startswith('1 ') else 'are'} passed: {fix}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# -- the rules --------------------------------------------------------------------------------------------------


class _SqlRule(FunctionProblems, Rule):
    standard = STANDARD_SQL
    # the sinks' names, plus SQL's own words in capitals: a file that only calls a sink from `extra-sinks` still
    # runs (the engine's pre-filter cannot see options)
    TRIGGERS = (
        b"execute",
        b"exec_driver_sql",
        b"text(",
        b"raw(",
        b"fetch",
        b"read_sql",
        b"extra(",
        b"RawSQL",
        b"SQL(",
        b"iterate(",
        b"SELECT ",
        b"INSERT ",
        b"UPDATE ",
        b"DELETE ",
    )

    def __init__(self, context: FileContext, options: dict[str, Any]) -> None:
        super().__init__(context, options)
        self.start_functions()

    def on_problems(self, problems: list) -> None:
        for problem in problems:
            found = issue(problem, self.context)
            if found.code == self.code and (found.code, id(found.node)) not in self.analysis.reported:
                self.analysis.reported.add((found.code, id(found.node)))
                self.report(found.node, found.message, confidence=found.confidence)


class SqlValueInterpolation(_SqlRule):
    """A value formatted into SQL text instead of passed as a parameter."""

    code = "SQL001"
    name = "sql-value-interpolation"
    severity = Level.HIGH
    cwe = 89
    OPTIONS = (
        SinkOption(
            "extra-sinks",
            list,
            [],
            'Your own functions that run SQL, as "qualified.name:argument:paramstyle[:parameters-argument]" '
            '(".method" for a method of any object); every SQL rule checks them.',
        ),
    )

    def __init__(self, context: FileContext, options: dict[str, Any]) -> None:
        super().__init__(context, options)
        self.analysis.add_sinks(options.get("extra-sinks", ()))


class SqlDynamicIdentifier(_SqlRule):
    """A table, column, ORDER BY target or SQL fragment formatted into SQL text."""

    code = "SQL002"
    name = "sql-dynamic-identifier"
    severity = Level.MEDIUM
    cwe = 89


class SqlWrongPlaceholder(_SqlRule):
    """A placeholder style the driver does not understand (`?` handed to psycopg)."""

    code = "SQL003"
    name = "sql-wrong-placeholder"
    severity = Level.MEDIUM
    cwe = 628


class SqlParameterCount(_SqlRule):
    """The number of placeholders differs from the number of parameters passed."""

    code = "SQL004"
    name = "sql-parameter-count"
    severity = Level.MEDIUM
    cwe = 628
