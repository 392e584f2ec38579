"""`--fix` for SQL001: rewrite the plain case into the driver's placeholders plus a parameter tuple.

The plain case, and nothing else: an f-string, a `"..." % args` or a `"...".format(args)` written inline as the
query of a call whose driver is known (sqlite3, aiosqlite, psycopg, PyMySQL, mysqlclient, aiomysql, Django's cursor,
asyncpg), that passes no parameters yet, where every interpolation is a plain value (`{x}`, `%s`, `{}`) that lands
where a value goes, either bare or as a whole quoted literal (`'{name}'`), and the text has no placeholders of its
own. `cur.execute(f"SELECT * FROM t WHERE name = '{name}' AND id = {uid}")` becomes
`cur.execute("SELECT * FROM t WHERE name = ? AND id = ?", (name, uid))`. A `%` in the text is doubled for drivers
whose placeholder is `%s`. Anything else (a query in a variable, a name or fragment, a LIKE pattern, a format
spec) is left as it is: SQL001 keeps reporting it.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

import libcst as cst

from p21_lint.analysis import sql as sqlinfo
from p21_lint.analysis.names import NameTracker
from p21_lint.analysis.sql_check import FunctionProblems, HoleProblem, argument
from p21_lint.analysis.strings import Hole, Text
from p21_lint.engine.context import FileContext
from p21_lint.engine.walk import walk

_FORMS = ("dbapi", "asyncpg")
_PERCENT = re.compile(r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[#0\- +]*\d*(?:\.\d+)?[hlL]?)(?P<conv>[a-zA-Z%])")


@dataclass(frozen=True)
class FixResult:
    source: str
    fixed: int  # how many calls were rewritten


def fix_source(source: str, module_name: str = "", path: str = "app.py") -> FixResult:
    """The source with every plain SQL001 case rewritten; unchanged (and 0) if there is none or it does not parse."""
    try:
        module = cst.parse_module(source)
    except Exception:  # a file that does not parse is reported by the check; --fix leaves it alone
        return FixResult(source, 0)
    tracker = NameTracker(module_name, is_package=path.endswith("__init__.py"))
    context = FileContext(path, module_name, False, module, tracker)
    planner = _Planner(context)
    walk(module, [tracker, planner], _raise)
    if not planner.plan:
        return FixResult(source, 0)
    fixed = module.visit(_Rewriter(planner.plan))
    return FixResult(fixed.code, len(planner.plan))


def _raise(visitor: object, exc: Exception) -> None:
    raise exc  # --fix rewrites nothing it could not fully read


@dataclass(frozen=True)
class _Rewrite:
    sql_node: cst.BaseExpression
    text: str  # the new SQL, with the driver's placeholders
    values: tuple[cst.BaseExpression, ...]
    form: str


class _Planner(FunctionProblems, cst.BatchableCSTVisitor):
    """Finds the plain cases, with the same sinks and the same reading of the SQL as the rules."""

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context
        self.plan: dict[cst.Call, _Rewrite] = {}
        self.start_functions()

    def on_problems(self, problems: list) -> None:
        calls: dict[int, HoleProblem] = {}
        for problem in problems:
            if isinstance(problem, HoleProblem) and problem.spot.kind == "value":
                calls.setdefault(id(problem.call), problem)
        for problem in calls.values():
            rewrite = _plain_case(problem)
            if rewrite is not None:
                self.plan[problem.call] = rewrite


def _plain_case(problem: HoleProblem) -> _Rewrite | None:
    sink, call = problem.sink, problem.call
    driver = sink.driver
    if sink.form not in _FORMS or not driver.known or sink.by_name or "{name}" in driver.placeholder:
        return None
    sql_node = argument(call, sink.sql_arg, sink.sql_keywords)
    if sql_node is None or _has_params(call, sink):
        return None
    split = _split(sql_node)
    if split is None:
        return None
    texts, values = split
    alternative = tuple(
        p for i, t in enumerate(texts) for p in ((Text(t),) + ((Hole(values[i]),) if i < len(values) else ()))
    )
    reading = sqlinfo.read(alternative, driver.dialect, sink.fragment)
    if reading.placeholders or len(reading.spots) != len(values):
        return None
    parts = [texts[0]]
    for i, spot in enumerate(reading.spots):
        if spot.kind != "value" or spot.quoted not in (None, "{}") or spot.clause == "a SET value":
            return None  # SET takes no parameter in PostgreSQL: a person rewrites it with set_config()
        mark = driver.placeholder.format(n=i + 1)
        if spot.quoted is not None:  # '{x}' -> ?: the quotes go with the text around the hole
            if not (parts[-1].endswith("'") and texts[i + 1].startswith("'")):
                return None
            parts[-1] = parts[-1][:-1]
            parts.append(mark)
            parts.append(texts[i + 1][1:])
        else:
            parts.append(mark)
            parts.append(texts[i + 1])
    if driver.placeholder == "%s":  # with parameters, a literal % must be written %%
        parts = [p if p == "%s" else p.replace("%", "%%") for p in parts]
    return _Rewrite(sql_node, "".join(parts), tuple(values), sink.form)


def _has_params(call: cst.Call, sink: sqlinfo.Sink) -> bool:
    if sink.params_arg == sqlinfo.VARARGS:
        return len([a for a in call.args if a.keyword is None]) > sink.sql_arg + 1
    if sink.params_arg is not None and argument(call, sink.params_arg, sink.params_keywords) is not None:
        return True
    return any(a.keyword is not None and a.keyword.value in sink.params_keywords for a in call.args) or any(
        a.star for a in call.args
    )


def _split(node: cst.BaseExpression) -> tuple[list[str], list[cst.BaseExpression]] | None:
    """The literal texts and the interpolated values of an inline formatting expression, or None."""
    if isinstance(node, cst.FormattedString):
        if "r" in node.prefix.lower() or "b" in node.prefix.lower():
            return None
        texts, values = [""], []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                if "\\" in part.value:
                    return None
                texts[-1] += part.value.replace("{{", "{").replace("}}", "}")
            elif part.conversion is None and part.format_spec is None and part.equal is None:
                values.append(part.expression)
                texts.append("")
            else:
                return None
        return texts, values
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        template = _plain_string(node.left)
        if template is None:
            return None
        args = [e.value for e in node.right.elements] if isinstance(node.right, cst.Tuple) else [node.right]
        if any(isinstance(a, (cst.Dict, cst.StarredElement)) for a in args) or isinstance(node.right, cst.Dict):
            return None
        texts, pos = [], 0
        count = 0
        current = ""
        for m in _PERCENT.finditer(template):
            current += template[pos : m.start()]
            pos = m.end()
            if m.group("conv") == "%" and not m.group("flags"):
                current += "%"
                continue
            if m.group("conv") != "s" or m.group("flags") or m.group("key") is not None:
                return None
            texts.append(current)
            current = ""
            count += 1
        texts.append(current + template[pos:])
        return (texts, args) if count == len(args) else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
        template = _plain_string(node.func.value)
        if template is None or any(a.star for a in node.args):
            return None
        positional = [a.value for a in node.args if a.keyword is None]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        texts, values, auto = [""], [], 0
        try:
            fields = list(string.Formatter().parse(template))
        except ValueError:
            return None
        for text, field, spec, conversion in fields:
            texts[-1] += text
            if field is None:
                continue
            if spec or conversion:
                return None
            if field == "":
                value = positional[auto] if auto < len(positional) else None
                auto += 1
            elif field.isdigit():
                value = positional[int(field)] if int(field) < len(positional) else None
            else:
                value = keywords.get(field)
            if value is None:
                return None
            values.append(value)
            texts.append("")
        return texts, values
    return None


def _plain_string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString) and "b" not in node.prefix.lower():
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _literal(text: str) -> str:
    if "\n" in text and '"""' not in text and "\\" not in text and not text.endswith('"'):
        return f'"""{text}"""'
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _Rewriter(cst.CSTTransformer):
    def __init__(self, plan: dict[cst.Call, _Rewrite]) -> None:
        super().__init__()
        self.plan = plan

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        rewrite = self.plan.get(original)
        if rewrite is None:
            return updated
        sql = cst.SimpleString(_literal(rewrite.text))
        args = []
        for old, new in zip(original.args, updated.args):
            args.append(new.with_changes(value=sql) if old.value is rewrite.sql_node else new)
        if args:  # the last argument needs a comma before the new ones
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        if rewrite.form == "asyncpg":
            extra = [cst.Arg(v) for v in rewrite.values]
        else:
            elements = [cst.Element(v) for v in rewrite.values]
            if len(elements) == 1:
                elements[0] = elements[0].with_changes(comma=cst.Comma())
            extra = [cst.Arg(cst.Tuple(elements))]
        for i, arg in enumerate(extra[:-1]):
            extra[i] = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return updated.with_changes(args=[*args, *extra])


def fix_files(files: list, write: bool) -> list[tuple[str, str, str, int]]:
    """(path, old text, new text, calls rewritten) for every checked file a fix changes; written back if `write`.
    Only SQL001's plain case is fixable, so files without a SQL sink word are not even parsed."""
    changed = []
    for f in files:
        try:
            raw = f.path.read_bytes()
            if not any(word in raw for word in (b"execute", b"fetch", b"executemany")):
                continue
            old = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the check reports a file it cannot read
        result = fix_source(old, f.module, f.rel)
        if result.fixed:
            if write:
                f.path.write_bytes(result.source.encode("utf-8"))
            changed.append((f.rel, old, result.source, result.fixed))
    return changed
