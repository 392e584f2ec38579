"""Integration tests: the HTTP API through FastAPI's TestClient."""

from __future__ import annotations


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_register_then_login(client):
    credentials = {"email": "bob@example.com", "password": "correct horse"}
    created = client.post("/api/v1/auth/register", json=credentials)
    assert created.status_code == 201
    again = client.post("/api/v1/auth/register", json=credentials)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"
    assert client.post("/api/v1/auth/login", json=credentials).json()["token_type"] == "bearer"


def test_me_needs_a_token(client):
    response = client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTHENTICATION_FAILED"


def test_me(client, token):
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json()["email"] == "ada@example.com"


def test_read_user(client, token):
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/users/me", headers=headers).json()
    assert client.get(f"/api/v1/users/{me['id']}", headers=headers).json() == me
    assert client.get("/api/v1/users/999", headers=headers).status_code == 404


def test_search_users(client, token):
    response = client.get("/api/v1/users/", params={"q": "ada"}, headers={"Authorization": f"Bearer {token}"})
    assert [u["email"] for u in response.json()] == ["ada@example.com"]


def test_signup_report(client, token):
    report = client.get("/api/v1/reports/signups").json()
    assert report["total"] == 1
    assert report["trend"] == "flat"
