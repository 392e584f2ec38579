"""URL path templates: every framework's syntax turned into FastAPI's `{name}` style, and test URLs matched to them.

A template's parameters match one path segment (`{user_id}`), a path converter matches the rest of the path
(`{file:path}`), and `{?}` is a piece that could not be resolved statically (it matches anything). A test URL is
literal text with unknown pieces (`f"/users/{user.id}"`): an unknown piece at the start stands for a prefix
(`{settings.API_V1_STR}` without a visible value), elsewhere for one segment's text.
"""

from __future__ import annotations

import functools
import re

UNRESOLVED = "{?}"
_PARAM = re.compile(r"\{([^{}]*)\}")
_FLASK_PARAM = re.compile(r"<(?:(?P<conv>[a-zA-Z_][\w]*)(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_]\w*)>")
_DJANGO_PARAM = re.compile(r"<(?:(?P<conv>[a-zA-Z_]\w*):)?(?P<name>[a-zA-Z_]\w*)>")
_SPECIAL = set("[](){}*+?|\\^$")


def flask_template(rule: str) -> str:
    """`/users/<int:user_id>` -> `/users/{user_id}`; `<path:p>` -> `{p:path}`."""
    return _FLASK_PARAM.sub(_param, rule)


def django_template(route: str) -> str:
    """A `path()` route: `users/<int:pk>/` -> `users/{pk}/`."""
    return _DJANGO_PARAM.sub(_param, route)


def _param(m: re.Match[str]) -> str:
    return f"{{{m['name']}:path}}" if m["conv"] == "path" else f"{{{m['name']}}}"


def django_regex_template(regex: str) -> tuple[str, bool]:
    """A `re_path()` regex as a template: `^users/(?P<pk>[0-9]+)/$` -> `users/{pk}/`. The flag says whether
    the whole regex was understood (otherwise the rest is replaced by `{?}`)."""
    text = regex[1:] if regex.startswith("^") else regex
    text = text[:-1] if text.endswith("$") and not text.endswith("\\$") else text
    text = text[:-2] if text.endswith("\\Z") else text
    out: list[str] = []
    i = 0
    exact = True
    while i < len(text):
        ch = text[i]
        if text.startswith("(?P<", i):
            end = _group_end(text, i)
            name = text[i + 4 : text.index(">", i)]
            out.append(f"{{{name}}}")
            i = end
        elif ch == "(":
            end = _group_end(text, i)
            out.append(UNRESOLVED)
            exact = False
            i = end
        elif ch == "\\" and i + 1 < len(text) and not text[i + 1].isalnum():
            out.append(text[i + 1])
            i += 2
        elif ch == "?" and out and out[-1] == "/":  # `/?`: an optional slash; keep the slash
            i += 1
        elif ch in _SPECIAL:
            out.append(UNRESOLVED)
            exact = False
            i = len(text)
        else:
            out.append(ch)
            i += 1
    return "".join(out), exact


def _group_end(text: str, start: int) -> int:
    depth = 0
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def join_slash(prefix: str, rule: str) -> str:
    """Flask / Werkzeug joining of a blueprint prefix and a rule: exactly one slash between them."""
    if not prefix:
        return rule
    if not rule:
        return prefix
    return prefix.rstrip("/") + "/" + rule.lstrip("/")


def normalize(path: str) -> str:
    path = path if path.startswith("/") or path.startswith(UNRESOLVED) else "/" + path
    return re.sub(r"/{2,}", "/", path)


def specificity(template: str) -> int:
    """Literal characters of a template: `/users/me` beats `/users/{user_id}` for the URL `/users/me`."""
    return len(_PARAM.sub("", template))


# -- matching ------------------------------------------------------------------------------------------------------
# Tokens: a character ("c", ch), or a wildcard that matches one non-slash character ("s1"), any number of them
# ("s*"), any character ("a1"), any number of any characters ("a*"), or (in a test URL) an unknown prefix ("p*"),
# which stands for literal text of the route only: a prefix constant never ends inside a route parameter.


@functools.lru_cache(maxsize=4096)
def template_tokens(template: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _PARAM.finditer(template):
        out.extend(("c", ch) for ch in template[pos : m.start()])
        inner = m.group(1)
        if inner == "?":
            out.append(("a*", ""))
        elif inner.endswith(":path"):
            out.extend((("a1", ""), ("a*", "")))
        else:
            out.extend((("s1", ""), ("s*", "")))
        pos = m.end()
    out.extend(("c", ch) for ch in template[pos:])
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def template_regex(template: str) -> re.Pattern[str]:
    out: list[str] = []
    pos = 0
    for m in _PARAM.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        inner = m.group(1)
        out.append(".*" if inner == "?" else ".+" if inner.endswith(":path") else "[^/]+")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out), re.DOTALL)


def url_tokens(parts: tuple[tuple[bool, str], ...]) -> tuple[tuple[str, str], ...]:
    """A test URL as (known, text) pieces -> tokens; an unknown first piece is a prefix, others one segment."""
    out: list[tuple[str, str]] = []
    for index, (known, text) in enumerate(parts):
        if known:
            out.extend(("c", ch) for ch in text)
        elif index == 0:
            out.append(("p*", ""))
        else:
            out.extend((("s1", ""), ("s*", "")))
    return tuple(out)


def _compatible(a: tuple[str, str], b: tuple[str, str], strict: bool) -> bool:
    ka, kb = a[0], b[0]
    if kb == "p*":
        return ka == "c"
    if ka == "c" and kb == "c":
        return a[1] == b[1]
    if ka == "c" and kb[0] == "s" and strict:
        return False  # strict: an unknown segment of the URL does not stand for literal text of the route
    if ka == "c":
        return kb[0] == "a" or a[1] != "/"
    if kb == "c":
        return ka[0] == "a" or b[1] != "/"
    return True


def tokens_match(route: tuple[tuple[str, str], ...], url: tuple[tuple[str, str], ...], strict: bool) -> int:
    """-1 when no concrete URL is matched by both the route template and the test URL pattern; else the most
    characters of the URL's literal text that the route's literal text can match (to prefer `/users/{id}` over
    `/items/{path:path}` for `{prefix}/users/{id}`)."""
    nr, nu = len(route), len(url)
    if nr + nu > 600:  # beyond any real path; keeps the recursion shallow
        return -1
    memo: dict[tuple[int, int], int] = {}

    def best(i: int, j: int) -> int:
        if (i, j) in memo:
            return memo[(i, j)]
        if i == nr and j == nu:
            memo[(i, j)] = 0
            return 0
        r = route[i] if i < nr else None
        u = url[j] if j < nu else None
        found = -1
        if r is not None and r[0].endswith("*"):
            found = max(found, best(i + 1, j))
        if u is not None and u[0].endswith("*"):
            found = max(found, best(i, j + 1))
        if r is not None and u is not None and _compatible(r, u, strict):
            ni = i if r[0].endswith("*") else i + 1
            nj = j if u[0].endswith("*") else j + 1
            if (ni, nj) != (i, j):
                rest = best(ni, nj)
                if rest >= 0:
                    found = max(found, rest + (r[0] == "c" and u[0] == "c"))
        memo[(i, j)] = found
        return found

    return best(0, 0)


def match_score(template: str, url: tuple[tuple[bool, str], ...], strict: bool = True) -> int:
    """-1 when the test URL cannot reach the template; else how well it fits (higher is better)."""
    if all(known for known, _ in url):
        return specificity(template) if template_regex(template).fullmatch("".join(t for _, t in url)) else -1
    return tokens_match(template_tokens(template), url_tokens(url), strict)


def matches(template: str, url: tuple[tuple[bool, str], ...], strict: bool = True) -> bool:
    return match_score(template, url, strict) >= 0


def example_url(template: str) -> str:
    """A URL that the template matches, for messages: `/users/{user_id}` -> `/users/1`."""
    return _PARAM.sub(lambda m: "..." if m.group(1) == "?" else "a/b" if m.group(1).endswith(":path") else "1", template)
