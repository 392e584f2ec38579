"""SQL text read with sqlglot: where each hole of a statement sits (a value, a name, a clause).

Its own module so that sqlglot (a sixth of a second to import) loads only when some SQL is read: a warm run reads
none. analysis/sql.py renders the text and decides; this reads the tree.
"""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp

from p21_lint.analysis.sql import _HOLE_RE, Spot

logging.getLogger("sqlglot").setLevel(logging.CRITICAL)  # sqlglot warns about SQL it only half supports


def parse(sql: str, dialect: str | None, attempts: list[str]) -> list[exp.Expression] | None:
    for attempt in attempts:
        try:
            trees = [t for t in sqlglot.parse(attempt, read=dialect) if t is not None]
        except Exception:  # sqlglot raises ParseError, TokenError and, on odd input, plain errors
            continue
        if trees and not any(isinstance(t, exp.Command) and _HOLE_RE.search(t.sql()) for t in trees):
            return trees
    return None


_IDENTIFIER_PARENTS = tuple(
    getattr(exp, n)
    for n in ("Table", "Schema", "Ordered", "Order", "Group", "Distinct", "Pragma", "ColumnDef")
    if hasattr(exp, n)
)
_VALUE_PARENTS = tuple(getattr(exp, n) for n in ("Limit", "Offset", "Fetch", "Values", "Interval") if hasattr(exp, n))
_CLAUSE_NAMES = {
    "Limit": "LIMIT",
    "Offset": "OFFSET",
    "Fetch": "FETCH",
    "Values": "VALUES",
    "Interval": "INTERVAL",
    "Table": "the table name",
    "Schema": "a column list",
    "Ordered": "ORDER BY",
    "Order": "ORDER BY",
    "Group": "GROUP BY",
    "Distinct": "DISTINCT",
    "Pragma": "a PRAGMA",
    "ColumnDef": "a column definition",
}


def spots(trees: list[exp.Expression]) -> dict[int, Spot]:
    spots: dict[int, Spot] = {}
    for tree in trees:
        for node in tree.walk():
            if isinstance(node, tuple):  # sqlglot < 21 yields (node, parent, key)
                node = node[0]
            if not isinstance(node, (exp.Identifier, exp.Literal, exp.Var)):
                continue
            value = node.this if isinstance(node.this, str) else ""
            for m in _HOLE_RE.finditer(value):
                spots.setdefault(int(m.group(1)), _classify(node, value, m))
    return spots


def _classify(node: exp.Expression, value: str, m: re.Match[str]) -> Spot:
    setting = node.find_ancestor(exp.SetItem)
    if setting is not None and isinstance(setting.parent, exp.Set):
        return _setting_spot(node, value, m, setting)
    if isinstance(node, exp.Literal) and node.is_string:
        return Spot("value", "a quoted string", _HOLE_RE.sub("...", value.replace(m.group(0), "{}")))
    parent = node.parent
    whole = value == m.group(0)
    if isinstance(node, exp.Identifier) and (not whole or node.args.get("quoted")):
        return Spot("identifier", _clause_of(parent) or "a name")
    if isinstance(parent, exp.TableAlias) or (isinstance(parent, exp.Alias) and node.arg_key == "alias"):
        return Spot("fragment", "after a table or expression")
    if isinstance(parent, exp.Table):
        return Spot("identifier", "the table name")
    if isinstance(parent, exp.Column) and parent.args.get("table") is not None:
        return Spot("identifier", "a column name")
    if isinstance(parent, exp.Dot):
        return Spot("identifier", "a column name")
    if hasattr(exp, "Pragma") and node.find_ancestor(exp.Pragma) is not None:
        return Spot("identifier", "a PRAGMA")  # `PRAGMA table_info(t)`: sqlite's dialect reads it as `table_info = t`
    current = parent if isinstance(parent, exp.Column) else node
    while current is not None:
        above = current.parent
        key = current.arg_key
        if above is None:
            return Spot("fragment", "the statement")
        if isinstance(above, exp.In):
            if key == "expressions":
                return Spot("value", "an IN list")
            return Spot("identifier", "a column name") if key == "this" else Spot("fragment", "an IN subquery")
        if isinstance(above, exp.Between):
            return Spot("identifier", "a column name") if key == "this" else Spot("value", "BETWEEN")
        if isinstance(above, (exp.And, exp.Or)) or (isinstance(above, (exp.Where, exp.Having)) and key == "this"):
            return Spot("fragment", "a WHERE condition")
        if isinstance(above, exp.Join) and key == "on":
            return Spot("fragment", "a JOIN condition")
        if isinstance(above, exp.Binary) and isinstance(above, exp.Predicate):
            if key == "expression":
                return Spot("value", "a comparison" if not isinstance(above.parent, exp.Update) else "SET")
            return Spot("identifier", "a column name")
        if isinstance(above, exp.Binary) and not isinstance(above, exp.Connector) and key == "expression":
            return Spot("value", "an expression")
        if isinstance(above, _VALUE_PARENTS):
            return Spot("value", _CLAUSE_NAMES.get(type(above).__name__, "a value"))
        if isinstance(above, exp.Tuple) and isinstance(above.parent, exp.Values):
            return Spot("value", "VALUES")
        if isinstance(above, _IDENTIFIER_PARENTS):
            if isinstance(above, exp.Ordered) and isinstance(above.parent, exp.IndexParameters):
                return Spot("identifier", "an index's columns")
            return Spot("identifier", _CLAUSE_NAMES.get(type(above).__name__, "a name"))
        if isinstance(above, exp.Select) and key == "expressions":
            return Spot("identifier", "the selected columns")
        if isinstance(above, (exp.Update, exp.Insert, exp.Delete, exp.Select, exp.Command)):
            return Spot("fragment", "the statement")
        current = above
    return Spot("fragment", "the statement")


def _setting_spot(node: exp.Expression, value: str, m: re.Match[str], setting: exp.Expression) -> Spot:
    """`SET name TO value` (PostgreSQL, MySQL): the setting's name is a name; its value takes no placeholder
    in PostgreSQL, where parameters are bound by the server (psycopg 3, asyncpg)."""
    assignment = setting.this
    if isinstance(assignment, exp.EQ) and _inside(node, assignment.this):
        return Spot("identifier", "a setting's name")
    if isinstance(node, exp.Literal) and node.is_string:
        return Spot("value", "a SET value", _HOLE_RE.sub("...", value.replace(m.group(0), "{}")))
    return Spot("identifier", "a SET value")


def _inside(node: exp.Expression, ancestor: exp.Expression) -> bool:
    current: exp.Expression | None = node
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


def _clause_of(node: exp.Expression | None) -> str | None:
    while node is not None:
        name = type(node).__name__
        if name in _CLAUSE_NAMES and isinstance(node, _IDENTIFIER_PARENTS):
            return _CLAUSE_NAMES[name]
        if isinstance(node, exp.Column):
            return "a column name"
        node = node.parent
    return None
