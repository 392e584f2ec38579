"""The route table of a Flask project laid out like Miguel Grinberg's microblog: an app factory registering
blueprints with `url_prefix`, flask-login and flask-httpauth decorators, a blueprint guarded by `before_request`,
a `MethodView` added with `add_url_rule`, a flask-restx namespace of `Resource`s with `method_decorators`, and a
prefix that cannot be known statically. Asserted exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from p21_lint.analysis.routes.table import RouteTable, build, settings_of
from p21_lint.check import run_check
from p21_lint.config import load_config
from p21_lint.engine.pool import check_files
from p21_lint.engine.runner import FileSettings
from p21_lint.files import discover

ROOT = Path(__file__).parent / "fixtures" / "routes" / "flask_app"


@pytest.fixture(scope="module")
def table() -> RouteTable:
    config = load_config((ROOT,), ROOT / "pyproject.toml", {"jobs": 1, "cache": False})
    results = check_files(discover(config), FileSettings(rules=()), 1)
    assert [e for r in results for e in r.errors] == []
    return build([r.facts for r in results if r.facts is not None], settings_of(config))


def test_the_whole_table(table):
    rows = [(r.method, r.path, f"{r.file}:{r.line}", r.handler, r.authenticated, r.public, r.tests) for r in table.rows]
    test = "tests/test_routes.py"
    assert rows == [
        ("GET", "/", "app/main/routes.py:20", "app.main.routes.index", True, True, ()),
        ("POST", "/", "app/main/routes.py:20", "app.main.routes.index", True, False, ()),
        ("GET", "/admin/reports", "app/admin/views.py:15", "app.admin.views.ReportAPI.get", True, False, (f"{test}:38",)),
        ("POST", "/admin/reports", "app/admin/views.py:18", "app.admin.views.ReportAPI.post", True, False, ()),
        ("POST", "/api/tokens", "app/api/tokens.py:8", "app.api.tokens.get_token", True, False, (f"{test}:28",)),
        ("DELETE", "/api/tokens", "app/api/tokens.py:16", "app.api.tokens.revoke_token", True, False, (f"{test}:29",)),
        ("GET", "/api/users", "app/api/users.py:17", "app.api.users.get_users", True, False, (f"{test}:23",)),
        ("POST", "/api/users", "app/api/users.py:22", "app.api.users.create_user", False, True, (f"{test}:24",)),
        ("GET", "/api/users/{id}", "app/api/users.py:11", "app.api.users.get_user", True, False, (f"{test}:21",)),
        ("PUT", "/api/users/{id}", "app/api/users.py:29", "app.api.users.update_user", True, False, ()),
        ("GET", "/api/v2/orders/", "app/api_v2.py:16", "app.api_v2.OrderList.get", True, False, (f"{test}:33",)),
        ("POST", "/api/v2/orders/", "app/api_v2.py:19", "app.api_v2.OrderList.post", True, False, ()),
        ("GET", "/api/v2/orders/{order_id}", "app/api_v2.py:25", "app.api_v2.Order.get", False, False, (f"{test}:34",)),
        ("GET", "/auth/login", "app/auth/routes.py:8", "app.auth.routes.login", False, True, (f"{test}:5",)),
        ("POST", "/auth/login", "app/auth/routes.py:8", "app.auth.routes.login", False, True, (f"{test}:6",)),
        ("GET", "/auth/logout", "app/auth/routes.py:15", "app.auth.routes.logout", False, True, ()),
        ("GET", "/auth/reset_password_request", "app/auth/routes.py:21", "app.auth.routes.reset_password_request", False,
         True, ()),
        ("POST", "/auth/reset_password_request", "app/auth/routes.py:21", "app.auth.routes.reset_password_request", False,
         True, ()),
        ("GET", "/explore", "app/main/routes.py:25", "app.main.routes.explore", False, False, ()),
        ("GET", "/healthz", "app/__init__.py:14", "app.healthz", False, True, ()),
        ("GET", "/index", "app/main/routes.py:20", "app.main.routes.index", True, False, (f"{test}:10",)),
        ("POST", "/index", "app/main/routes.py:20", "app.main.routes.index", True, False, ()),
        ("GET", "/user/{username}", "app/main/routes.py:32", "app.main.routes.user", True, False, (f"{test}:16",)),
        ("GET", "{?}/changelog", "app/docs.py:7", "app.docs.changelog", False, False, ()),
    ]


def test_evidence(table):
    rows = {r.label: r for r in table.rows}
    assert rows["DELETE /api/tokens"].auth_evidence == ("`@token_auth.login_required`",)
    assert rows["GET /index"].auth_evidence == ("`@login_required`",)
    assert rows["GET /admin/reports"].auth_evidence == (
        "before_request `require_admin` → checks `is_authenticated` and refuses with 403 (app/admin/views.py:8)",
    )
    assert rows["GET /api/v2/orders/"].auth_evidence == ("`@jwt_required` in `method_decorators` of `OrderList`",)
    # microblog's before_app_request reads is_authenticated but refuses nobody: no evidence for /explore
    assert rows["GET /explore"].auth_evidence == ()
    assert rows["POST /api/users"].public_reason == "`# p21: public`"
    assert rows["GET /auth/reset_password_request"].public_reason == "a usual public endpoint (`reset-password-request`)"


def test_endpoint_names_for_url_for(table):
    rows = {r.label: r for r in table.rows}
    assert rows["GET /api/users"].name == "api.get_users"
    assert rows["GET /healthz"].name == "healthz"


def test_an_unresolved_prefix_is_reported(table):
    rows = {r.label: r for r in table.rows}
    assert rows["GET {?}/changelog"].notes == (
        'prefix `os.environ.get("DOCS_PREFIX", "/docs")` unresolved: `os.environ.get("DOCS_PREFIX", "/docs")` '
        "cannot be known statically",
    )
    unmatched = [(q.where, q.method, q.url) for q in table.requests if not q.rows]
    assert unmatched == [("tests/test_routes.py:11", "DELETE", "/index")]


def test_auth001_on_the_fixture():
    config = load_config((ROOT,), ROOT / "pyproject.toml", {"jobs": 1, "cache": False, "select": ["AUTH001"]})
    report = run_check(config)
    found = sorted((f.location.path, f.location.line, f.message) for f in report.findings)
    assert [(path, line) for path, line, _ in found] == [
        ("app/api_v2.py", 23), ("app/docs.py", 6), ("app/main/routes.py", 24),
    ]
    assert found[0][2].startswith(
        "`GET /api/v2/orders/{order_id}` has no authentication: add `method_decorators = [login_required]` to the "
        "resource class"
    )
    assert found[2][2].startswith("`GET /explore` has no authentication: add `@login_required`")
