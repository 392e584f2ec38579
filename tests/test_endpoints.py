"""The endpoints gate (TEST001): which test requests reach which routes, the coverage threshold, accepted routes,
when the gate is skipped, and the `p21-lint routes` command."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from p21_lint.cli import main
from p21_lint.testing import lint_project

ONLY = 'select = ["TEST001"]\n'

APP = '''
from fastapi import FastAPI
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    API_V1_STR: str = "/api/v1"


settings = Settings()
app = FastAPI()


@app.get("/api/v1/users/me")  # p21: public
def me():
    return {}


@app.get("/api/v1/users/{user_id}")  # p21: public
def user(user_id: int):
    return {}


@app.post("/api/v1/users/")  # p21: public
def create_user():
    return {}


@app.get("/api/v1/items/{path:path}")  # p21: public
def item_file(path: str):
    return {}
'''


def gate(report):
    [endpoints] = [g for g in report.gates if g.name == "endpoints"]
    return endpoints


def untested(report) -> list[str]:
    return sorted(f.message.split("`")[1] for f in report.findings if f.code == "TEST001" and not f.suppressed)


def check(test: str, config: str = "", app: str = APP):
    return lint_project({"app/main.py": app, "tests/test_api.py": test}, ONLY + config)


def test_url_forms_that_reach_routes():
    report = check('''
        import pytest
        from app.main import app, settings

        def test_me(client):
            assert client.get(f"{settings.API_V1_STR}/users/me").status_code == 200

        def test_create(client):
            url = settings.API_V1_STR + "/users"  # no trailing slash: the framework redirects
            assert client.post(url, json={}).status_code == 200

        @pytest.mark.parametrize("name", ["a.txt", "dir/b.txt"])
        def test_files(client, name):
            assert client.get(f"/api/v1/items/{name}").status_code == 200

        def test_user(client):
            assert client.get(app.url_path_for("user", user_id=1)).status_code == 200
    ''')
    assert report.errors == ()
    assert untested(report) == []
    assert gate(report).status.value == "pass"
    assert gate(report).note == "4/4 endpoints called by tests (100%)"


def test_the_literal_route_first_and_the_method_must_match():
    report = check('''
        def test_users(client):
            assert client.get("/api/v1/users/me").status_code == 200   # not /users/{user_id}
            assert client.delete("/api/v1/users/3").status_code == 405  # no DELETE route: covers nothing
            assert client.get("/api/v1/items/x/y").status_code == 200
    ''')
    assert untested(report) == ["GET /api/v1/users/{user_id}", "POST /api/v1/users/"]
    endpoints = gate(report)
    assert endpoints.status.value == "fail"
    assert endpoints.note == "2/4 endpoints called by tests (50%); < 100%; 1 test request matches no route"
    assert endpoints.metrics["untested"] == 2
    [finding] = [f for f in report.findings if "user_id" in f.message]
    assert finding.message == (
        "`GET /api/v1/users/{user_id}` is called by no integration test: add a test that calls "
        '`client.get("/api/v1/users/1")` and checks the response'
    )
    assert (finding.location.path, finding.location.line) == ("app/main.py", 19)


def test_an_unknown_prefix_matches_any_prefix_and_says_so():
    app = APP.replace('API_V1_STR: str = "/api/v1"', "API_V1_STR: str")
    report = check('''
        from app.main import settings

        def test_me(client, user):
            assert client.get(f"{settings.API_V1_STR}/users/{user.id}").status_code == 200
    ''', app=app)
    assert untested(report) == ["GET /api/v1/items/{path:path}", "GET /api/v1/users/me", "POST /api/v1/users/"]


def test_threshold_and_accepted_routes():
    test = '''
        def test_me(client):
            assert client.get("/api/v1/users/me").status_code == 200
            assert client.get("/api/v1/users/1").status_code == 200
            assert client.get("/api/v1/items/a").status_code == 200
    '''
    assert gate(check(test)).status.value == "fail"
    assert gate(check(test, "min-endpoint-coverage = 75\n")).status.value == "pass"
    accepted = APP.replace('@app.post("/api/v1/users/")  # p21: public', '@app.post("/api/v1/users/")  # p21: public  # p21: ignore[TEST001]')
    report = check(test, app=accepted)
    assert gate(report).status.value == "pass"
    assert gate(report).note == "3/4 endpoints called by tests (75%); 1 accepted"


def test_async_clients_and_requests_registered_only_in_tests():
    report = check('''
        import pytest
        from fastapi import FastAPI
        from httpx import ASGITransport, AsyncClient

        from app.main import app

        @pytest.mark.anyio
        async def test_me():
            async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as ac:
                response = await ac.request("GET", "http://test/api/v1/users/me?verbose=1")
            assert response.status_code == 200

        def test_probe(client):
            probe = FastAPI()

            @probe.post("/api/v1/users/")
            def fake():
                return {}

            assert client.post("/api/v1/probe").status_code == 404
    ''')
    assert untested(report) == ["GET /api/v1/items/{path:path}", "GET /api/v1/users/{user_id}", "POST /api/v1/users/"]


def test_skipped_without_routes_and_the_tests_are_read_when_only_the_app_is_checked(tmp_path: Path):
    assert gate(lint_project({"app/util.py": "X = 1\n"}, ONLY)).note == "no routes found"
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\ncache = false\n", encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_api.py").write_text("def test_x(client):\n    client.get('/api/v1/users/me')\n")
    # `p21-lint app/`: the tests are not checked, but their client calls are still read (Facts of the whole project)
    result = CliRunner().invoke(main, ["check", str(tmp_path / "app"), "--format", "json"])
    report = json.loads(result.stdout)
    [endpoints] = [g for g in report["gates"] if g["name"] == "endpoints"]
    assert (endpoints["status"], endpoints["metrics"]["tested"]) == ("fail", 1)
    assert {f["path"] for f in report["findings"] if f["code"] == "TEST001"} == {"app/main.py"}
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--format", "json", "--min-endpoint-coverage", "25"])
    [endpoints] = [g for g in json.loads(result.stdout)["gates"] if g["name"] == "endpoints"]
    assert (endpoints["status"], endpoints["metrics"]["tested"]) == ("pass", 1)


def test_the_routes_command(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\n", encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_api.py").write_text("def test_x(client):\n    client.get('/api/v1/users/me')\n")
    result = CliRunner().invoke(main, ["routes", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["method"], r["path"]) for r in rows] == [
        ("GET", "/api/v1/items/{path:path}"), ("POST", "/api/v1/users/"),
        ("GET", "/api/v1/users/me"), ("GET", "/api/v1/users/{user_id}"),
    ]
    me = rows[2]
    assert {k: me[k] for k in ("file", "line", "handler", "authenticated", "public", "auth_evidence", "tests")} == {
        "file": "app/main.py", "line": 15, "handler": "app.main.me", "authenticated": False, "public": True,
        "auth_evidence": [], "tests": ["tests/test_api.py:2"],
    }
    text = CliRunner().invoke(main, ["routes", str(tmp_path)]).stdout
    assert "GET       /api/v1/users/me" in text
    assert "4 routes: 0 authenticated, 4 public, 0 without authentication; 1 called by tests (25%)" in text


def test_parametrized_cases_keep_their_pairs():
    report = check('''
        import pytest
        from app.main import app

        @pytest.mark.parametrize(("method", "route_name"), [("GET", "me"), ("POST", "create_user")])
        def test_routes(client, method, route_name):
            assert client.request(method, app.url_path_for(route_name)).status_code < 500
    ''')
    # GET /users/ or POST /users/me would come from mixing the cases up: neither exists, both stay unmatched
    assert untested(report) == ["GET /api/v1/items/{path:path}", "GET /api/v1/users/{user_id}"]
    assert "test request" not in gate(report).note
