from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app import db
from app.main import app
from app.repositories.users import UserRepository


@pytest.fixture
def conn(tmp_path):
    conn = db.connect(str(tmp_path / "test.db"))
    yield conn
    conn.close()


@pytest.fixture
def repo(conn):
    return UserRepository(conn)


@pytest.fixture
def client(conn):
    app.dependency_overrides[db.get_db] = lambda: conn
    with TestClient(app) as client:
        yield client
    app.dependency_overrides.clear()


@pytest.fixture
def token(client):
    credentials = {"email": "ada@example.com", "password": "correct horse"}
    assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
    return client.post("/api/v1/auth/login", json=credentials).json()["access_token"]
