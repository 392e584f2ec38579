"""The route table of a FastAPI project laid out like the official full-stack template: routers in
app/api/routes/*.py, joined in app/api/main.py, mounted under `settings.API_V1_STR` in app/main.py, auth through
`CurrentUser = Annotated[User, Depends(get_current_user)]` in app/api/deps.py. Asserted exactly: prefixes chained
across three files, aliases from another module, router- and include-level dependencies, call-form registration,
an unmounted router, and which test requests reach which route."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from p21_lint.analysis.routes.table import RouteTable, build, settings_of
from p21_lint.check import run_check
from p21_lint.config import load_config
from p21_lint.engine.pool import check_files
from p21_lint.engine.runner import FileSettings
from p21_lint.files import discover

ROOT = Path(__file__).parent / "fixtures" / "routes" / "fastapi_app"


def table_of(root: Path) -> tuple[RouteTable, list]:
    config = load_config((root,), root / "pyproject.toml", {"jobs": 1, "cache": False})
    results = check_files(discover(config), FileSettings(rules=()), 1)
    assert [e for r in results for e in r.errors] == []
    facts = [r.facts for r in results if r.facts is not None]
    return build(facts, settings_of(config)), facts


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return table_of(ROOT)[0]


def test_the_whole_table(table):
    rows = [(r.method, r.path, f"{r.file}:{r.line}", r.handler, r.authenticated, r.public, r.tests) for r in table.rows]
    assert rows == [
        ("GET", "/", "app/main.py:11", "app.main.root", False, True, ("tests/api/test_items.py:26",)),
        ("GET", "/api/v1/admin/audit", "app/api/routes/admin.py:12", "app.api.routes.admin.audit_log", True, False, ()),
        ("GET", "/api/v1/admin/stats", "app/api/routes/admin.py:8", "app.api.routes.admin.admin_stats", True, False, ()),
        ("GET", "/api/v1/items/", "app/api/routes/items.py:14", "app.api.routes.items.read_items", True, False,
         ("tests/api/test_items.py:11",)),
        ("GET", "/api/v1/items/stats", "app/api/routes/items.py:19", "app.api.routes.items.item_stats", False, False, ()),
        ("GET", "/api/v1/items/{id}", "app/api/routes/items.py:24", "app.api.routes.items.read_item", True, False,
         ("tests/api/test_items.py:16",)),
        ("PUT", "/api/v1/items/{id}", "app/api/routes/items.py:29", "app.api.routes.items.update_item", True, False,
         ("tests/api/test_items.py:21",)),
        ("PATCH", "/api/v1/items/{id}", "app/api/routes/items.py:29", "app.api.routes.items.update_item", True, False,
         ("tests/api/test_items.py:21",)),
        ("DELETE", "/api/v1/items/{id}", "app/api/routes/items.py:34", "app.api.routes.items.delete_item", True, False, ()),
        ("POST", "/api/v1/login/access-token", "app/api/routes/login.py:12", "app.api.routes.login.login_access_token",
         False, True, ("tests/conftest.py:20",)),
        ("POST", "/api/v1/login/test-token", "app/api/routes/login.py:17", "app.api.routes.login.test_token", True, True, ()),
        ("POST", "/api/v1/password-recovery/{email}", "app/api/routes/login.py:22", "app.api.routes.login.recover_password",
         False, True, ()),
        ("GET", "/api/v1/users/", "app/api/routes/users.py:12", "app.api.routes.users.read_users", True, False,
         ("tests/api/test_users.py:20",)),
        ("POST", "/api/v1/users/", "app/api/routes/users.py:17", "app.api.routes.users.create_user", True, False,
         ("tests/api/test_users.py:21",)),
        ("GET", "/api/v1/users/me", "app/api/routes/users.py:22", "app.api.routes.users.read_user_me", True, False,
         ("tests/api/test_users.py:9",)),
        ("PATCH", "/api/v1/users/me", "app/api/routes/users.py:27", "app.api.routes.users.update_user_me", True, False,
         ("tests/api/test_users.py:14",)),
        ("POST", "/api/v1/users/signup", "app/api/routes/users.py:32", "app.api.routes.users.register_user", False, True,
         ("tests/api/test_users.py:37",)),
        ("GET", "/api/v1/users/{user_id}", "app/api/routes/users.py:37", "app.api.routes.users.read_user_by_id", True, False,
         ("tests/api/test_users.py:26",)),
        ("DELETE", "/api/v1/users/{user_id}", "app/api/routes/users.py:42", "app.api.routes.users.delete_user", True, False, ()),
        ("POST", "/api/v1/webhooks/payments", "app/api/routes/webhooks.py:7", "app.api.routes.webhooks.payment_webhook",
         True, False, ()),
        ("GET", "/legacy/export", "app/api/routes/legacy.py:7", "app.api.routes.legacy.export_everything", False, False, ()),
        ("WEBSOCKET", "/ws/notifications", "app/main.py:16", "app.main.notifications", False, False,
         ("tests/api/test_items.py:27",)),
    ]


def by_label(table: RouteTable) -> dict:
    return {r.label: r for r in table.rows}


def test_auth_evidence_is_followed_through_aliases_and_dependencies_in_other_modules(table):
    rows = by_label(table)
    scheme = "security scheme `reusable_oauth2` (OAuth2PasswordBearer)"
    assert rows["GET /api/v1/users/me"].auth_evidence == (
        f"`CurrentUser` → `get_current_user` → `TokenDep` → {scheme} (parameter)",
    )
    assert rows["GET /api/v1/users/"].auth_evidence == (
        f"`get_current_active_superuser` → `CurrentUser` → `get_current_user` → `TokenDep` → {scheme} (route)",
    )
    # dependencies=[...] on the APIRouter, and on the include_router call in another file
    assert rows["GET /api/v1/admin/stats"].auth_evidence[0].endswith("(`router` at app/api/routes/admin.py:5)")
    assert rows["POST /api/v1/webhooks/payments"].auth_evidence == (
        "`verify_webhook_signature` → refuses with 401 (`include_router` at app/api/main.py:11)",
    )


def test_public_routes_say_why(table):
    rows = by_label(table)
    assert rows["POST /api/v1/login/access-token"].public_reason == "a usual public endpoint (`access-token`)"
    assert rows["GET /"].public_reason == "the site root"
    # the login form is a dependency from fastapi.security, but it is no authentication
    assert rows["POST /api/v1/login/access-token"].auth_evidence == ()


def test_what_cannot_be_resolved_is_said(table):
    rows = by_label(table)
    assert rows["GET /legacy/export"].notes == (
        "`router` is never mounted on an app (no include_router / register_blueprint reaches it)",
    )


def test_requests_that_reach_no_route(table):
    unmatched = [(q.where, q.method, q.url) for q in table.requests if not q.rows]
    assert unmatched == [
        # a route registered only inside a test is not a route of the app
        ("tests/api/test_items.py:33", "GET", "/only-in-tests"),
        # the wrong method reaches neither GET nor DELETE /users/{user_id}
        ("tests/api/test_users.py:32", "PUT", "/api/v1/users/{uuid.uuid4()}"),
    ]


def test_facts_are_picklable():
    _, facts = table_of(ROOT)
    assert pickle.loads(pickle.dumps(facts)) == facts


def test_auth001_and_test001_on_the_fixture():
    config = load_config((ROOT,), ROOT / "pyproject.toml", {"jobs": 1, "cache": False, "select": ["AUTH001", "TEST001"]})
    report = run_check(config)
    assert report.errors == ()
    found = sorted((f.location.path, f.location.line, f.code) for f in report.findings)
    assert found == [
        ("app/api/routes/admin.py", 8, "TEST001"),
        ("app/api/routes/admin.py", 12, "TEST001"),
        ("app/api/routes/items.py", 18, "AUTH001"),
        ("app/api/routes/items.py", 18, "TEST001"),
        ("app/api/routes/items.py", 33, "TEST001"),
        ("app/api/routes/legacy.py", 6, "AUTH001"),
        ("app/api/routes/legacy.py", 6, "TEST001"),
        ("app/api/routes/login.py", 16, "TEST001"),
        ("app/api/routes/login.py", 21, "TEST001"),
        ("app/api/routes/users.py", 41, "TEST001"),
        ("app/api/routes/webhooks.py", 6, "TEST001"),
        ("app/main.py", 15, "AUTH001"),
    ]
    [stats] = [f for f in report.findings if f.code == "AUTH001" and f.location.line == 18]
    assert stats.message.startswith(
        "`GET /api/v1/items/stats` has no authentication: add a parameter `current_user: CurrentUser` or "
        "`dependencies=[Depends(get_current_user)]`"
    )
    [gate] = [g for g in report.gates if g.name == "endpoints"]
    assert (gate.status.value, gate.metrics["endpoints"], gate.metrics["tested"]) == ("fail", 22, 13)
