"""The project pass: every file's Facts joined into the route table, the tests' requests matched to its rows.

`route_table(project)` builds it once per check (AUTH001 and the endpoints gate share it); `build(facts, settings)`
is the pure function underneath, used by `p21-lint routes` too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from p21_lint.analysis.routes import paths
from p21_lint.analysis.routes.apps import AppRoutes
from p21_lint.analysis.routes.auth import AuthJudge, AuthSettings
from p21_lint.analysis.routes.facts import ClientCall
from p21_lint.analysis.routes.index import Index
from p21_lint.analysis.routes.rows import Draft, RouteRow
from p21_lint.analysis.routes.urlconf import DjangoRoutes
from p21_lint.model import Facts

METHOD_ORDER = {m: i for i, m in enumerate(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "WEBSOCKET", "ANY"))}


@dataclass(frozen=True)
class TestRequest:
    """A request a test makes, and the rows it reaches."""

    file: str
    line: int
    method: str
    url: str  # as shown: `/api/v1/users/{?}`, or `reverse("user-detail")`
    rows: tuple[int, ...]  # indexes into RouteTable.rows
    note: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class RouteTable:
    rows: tuple[RouteRow, ...]
    requests: tuple[TestRequest, ...]
    notes: tuple[str, ...]  # what could not be resolved, beyond single rows

    def to_json(self) -> list[dict[str, Any]]:
        return [row_json(r) for r in self.rows]


def row_json(row: RouteRow) -> dict[str, Any]:
    return {
        "method": row.method,
        "path": row.path,
        "file": row.file,
        "line": row.line,
        "handler": row.handler,
        "authenticated": row.authenticated,
        "public": row.public,
        "auth_evidence": list(row.auth_evidence),
        "public_reason": row.public_reason,
        "tests": list(row.tests),
        "framework": row.framework,
        "registered": row.registered,
        "name": row.name,
        "notes": list(row.notes),
    }


def settings_of(config: Any) -> AuthSettings:
    if config is None:
        return AuthSettings()
    return AuthSettings(
        public=tuple(getattr(config, "public", ()) or ()),
        auth_dependencies=tuple(getattr(config, "auth_dependencies", ()) or ()),
        public_defaults=bool(getattr(config, "public_defaults", True)),
    )


def route_table(project: Any) -> RouteTable:
    """The project's table, built on first use and kept on the project for the other users in this check."""
    table = getattr(project, "_p21_route_table", None)
    if table is None:
        table = build(project.facts.values(), settings_of(project.config))
        project._p21_route_table = table
    return table


def build(facts: Iterable[Facts], settings: AuthSettings) -> RouteTable:
    index = Index(facts)
    judge = AuthJudge(index, settings)
    app_files = [f for f in index.files if not f.is_test]
    apps, django = AppRoutes(index, judge), DjangoRoutes(index, judge)
    drafts = apps.rows(app_files) + django.rows(app_files)
    rows = _finish(drafts, judge)
    requests = _match(index, rows)
    covering: dict[int, list[str]] = {}
    for request in requests:
        for i in request.rows:
            covering.setdefault(i, []).append(request.where)
    rows = [replace(r, tests=tuple(sorted(set(covering.get(i, ())), key=_where_key))) for i, r in enumerate(rows)]
    return RouteTable(tuple(rows), tuple(requests), tuple(apps.notes + django.notes))


def _where_key(where: str) -> tuple[str, int]:
    path, _, line = where.rpartition(":")
    return path, int(line) if line.isdigit() else 0


def _finish(drafts: list[Draft], judge: AuthJudge) -> list[RouteRow]:
    seen: set[tuple] = set()
    rows = []
    advice: dict[str, str] = {}  # one suggestion per kind of route: every route is judged by now
    for d in drafts:
        key = (d.method, d.path, d.handler, d.registered)
        if key in seen:  # the same router reached twice the same way
            continue
        seen.add(key)
        public_reason = d.public_reason or judge.public_reason(d.method, d.path) or ""
        evidence = tuple(dict.fromkeys(d.evidence))
        rows.append(RouteRow(
            method=d.method, path=d.path, file=d.file, line=d.line, handler=d.handler, framework=d.framework,
            registered=d.registered, name=d.name, authenticated=bool(evidence), public=bool(public_reason),
            auth_evidence=evidence, public_reason=public_reason,
            suggestion=_advice(advice, judge, d.suggestion or d.framework), notes=tuple(dict.fromkeys(d.notes)),
            decl_line=d.decl_line,
        ))
    rows.sort(key=lambda r: (r.path, METHOD_ORDER.get(r.method, 99), r.file, r.line))
    return rows


def _advice(advice: dict[str, str], judge: AuthJudge, kind: str) -> str:
    if kind not in advice:
        advice[kind] = judge.suggestion(kind)
    return advice[kind]


# -- tests' requests ---------------------------------------------------------------------------------------------------


def _match(index: Index, rows: list[RouteRow]) -> list[TestRequest]:
    by_method: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_method.setdefault(row.method, []).append(i)
    cache: dict[tuple, tuple[int, ...]] = {}
    out = []
    for facts in index.files:
        if not facts.is_test:
            continue
        for call in facts.client_calls:
            url, shown, note = _url(index, call)
            key = (call.method, url, call.route_name)
            if key not in cache:
                candidates = [*by_method.get(call.method, ()), *by_method.get("ANY", ())]
                if call.method == "HEAD":
                    candidates += by_method.get("GET", [])
                cache[key] = _reach(rows, candidates, url, call.route_name)
            out.append(TestRequest(facts.path, call.line, call.method, shown, cache[key], note or call.note))
    return out


def _url(index: Index, call: ClientCall) -> tuple[tuple[tuple[bool, str], ...], str, str]:
    """The URL as (known, text) pieces, as shown, and a note on what could not be resolved."""
    if call.route_name:
        return (), f"name `{call.route_name}`", ""
    pieces: list[tuple[bool, str]] = []
    notes = []
    for kind, text in call.url:
        if kind == "":
            pieces.append((True, text))
        elif kind == "ref":
            value, why = index.resolve(text)
            if value is None:
                pieces.append((False, index.short(text)))
                if not pieces[:-1]:
                    notes.append(f"prefix `{index.short(text)}` unresolved ({why}): any prefix matches")
            else:
                pieces.append((True, value))
        else:
            pieces.append((False, text))
    merged: list[tuple[bool, str]] = []
    for known, text in pieces:
        if known and merged and merged[-1][0]:
            merged[-1] = (True, merged[-1][1] + text)
        else:
            merged.append((known, text))
    shown = "".join(text if known else "{" + text + "}" for known, text in merged)
    return tuple(merged), shown, "; ".join(notes)


def _strip_slash(text: str) -> str:
    return text[:-1] if len(text) > 1 and text.endswith("/") else text


def _reach(rows: list[RouteRow], candidates: list[int], url: tuple[tuple[bool, str], ...], name: str) -> tuple[int, ...]:
    """The rows a request reaches: by route name, or by path (a literal route beats a parameter route, and a
    trailing slash is ignored: frameworks redirect it)."""
    if name:
        return tuple(i for i in candidates if _name_matches(rows[i].name, name))
    if not any(known and text for known, text in url):
        return ()  # nothing of the URL is known: it reaches no route in particular
    if url and url[-1][0]:
        url = (*url[:-1], (True, _strip_slash(url[-1][1])))
    for strict in (True, False):
        scores = {i: paths.match_score(_strip_slash(rows[i].path), url, strict) for i in candidates}
        best = max(scores.values(), default=-1)
        if best >= 0:
            return tuple(i for i, score in scores.items() if score == best)
    return ()


def _name_matches(route: str, wanted: str) -> bool:
    """`url_for(".get_user")` inside a blueprint, `reverse("users:detail")`, `url_path_for("read_user")`."""
    if not route:
        return False
    if route == wanted:
        return True
    if wanted.startswith("."):
        return route.endswith(wanted)
    return False
