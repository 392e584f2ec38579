"""Path templates of every framework in FastAPI style, and test URLs matched to them."""

from __future__ import annotations

import pytest

from p21_lint.analysis.routes import paths

KNOWN = True


@pytest.mark.parametrize(("rule", "template"), [
    ("/users/<int:user_id>", "/users/{user_id}"),
    ("/files/<path:name>", "/files/{name:path}"),
    ("/u/<username>/<any(a, b):kind>", "/u/{username}/{kind}"),
])
def test_flask_rules(rule, template):
    assert paths.flask_template(rule) == template


@pytest.mark.parametrize(("route", "template"), [
    ("users/<int:pk>/", "users/{pk}/"),
    ("docs/<path:rest>", "docs/{rest:path}"),
    ("<slug:slug>/", "{slug}/"),
])
def test_django_paths(route, template):
    assert paths.django_template(route) == template


@pytest.mark.parametrize(("regex", "template", "exact"), [
    (r"^users/(?P<pk>[0-9]+)/$", "users/{pk}/", True),
    (r"^api/?$", "api/", True),
    (r"^(?P<year>[0-9]{4})/(?P<slug>[\w-]+)\.html$", "{year}/{slug}.html", True),
    (r"^archive/(\d+)/$", "archive/{?}/", False),
    (r"^(?:en|de)/help/$", "{?}/help/", False),
])
def test_django_regexes(regex, template, exact):
    assert paths.django_regex_template(regex) == (template, exact)


def test_flask_joins_prefixes_with_one_slash():
    assert paths.join_slash("/api/", "/users") == "/api/users"
    assert paths.join_slash("/api", "users") == "/api/users"
    assert paths.join_slash("/api", "") == "/api"
    assert paths.join_slash("", "/x") == "/x"


def url(*pieces):
    return tuple(pieces)


def test_concrete_urls_prefer_the_literal_route():
    me = url((KNOWN, "/users/me"))
    assert paths.match_score("/users/me", me) > paths.match_score("/users/{user_id}", me) >= 0
    assert paths.match_score("/users/{user_id}", url((KNOWN, "/users/42/orders"))) == -1
    assert paths.matches("/files/{name:path}", url((KNOWN, "/files/a/b.txt")))
    assert not paths.matches("/files/{name:path}", url((KNOWN, "/files/")))


def test_unknown_pieces():
    some_user = url((KNOWN, "/users/"), (False, "user.id"))
    assert paths.matches("/users/{user_id}", some_user)
    assert not paths.matches("/users/me", some_user)  # an unknown id does not stand for `me`
    assert paths.matches("/users/me", some_user, strict=False)
    assert not paths.matches("/users/{user_id}/orders", some_user)  # one segment, not two
    prefixed = url((False, "settings.API_V1_STR"), (KNOWN, "/users/"), (False, "user.id"))
    assert paths.matches("/api/v1/users/{user_id}", prefixed)
    # an unknown prefix stands for literal text only: it never ends inside a parameter
    assert not paths.matches("/{tenant}/users/{user_id}", prefixed)
    assert paths.match_score("/api/v1/users/{user_id}", prefixed) > paths.match_score("/api/v1/items/{p:path}", prefixed)
    assert paths.matches("{?}/users/{user_id}", url((KNOWN, "/v2/users/7")))


def test_example_urls_for_messages():
    assert paths.example_url("/users/{user_id}/files/{name:path}") == "/users/1/files/a/b"
    assert paths.example_url("{?}/health") == ".../health"

