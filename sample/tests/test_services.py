"""Unit tests of the business logic, against a real (temporary) SQLite database."""

from __future__ import annotations

import pytest

from app.errors import APIError, ErrorCode
from app.services import reports, users


def test_register_normalises_the_email(repo):
    user = users.register(repo, "  Ada@Example.com ", "correct horse")
    assert user.email == "ada@example.com"
    assert repo.by_email("ada@example.com") == user


@pytest.mark.parametrize(
    ("email", "password", "code"),
    [
        ("no-at-sign", "correct horse", ErrorCode.VALIDATION_ERROR),
        ("ada@example.com", "short", ErrorCode.VALIDATION_ERROR),
    ],
)
def test_register_rejects_bad_input(repo, email, password, code):
    with pytest.raises(APIError) as caught:
        users.register(repo, email, password)
    assert caught.value.code is code
    assert caught.value.status_code == 422


def test_register_rejects_a_taken_email(repo):
    users.register(repo, "ada@example.com", "correct horse")
    with pytest.raises(APIError) as caught:
        users.register(repo, "ADA@example.com", "another one")
    assert caught.value.code is ErrorCode.CONFLICT


def test_login_returns_a_token_that_finds_the_user(repo):
    user = users.register(repo, "ada@example.com", "correct horse")
    token = users.login(repo, "ada@example.com", "correct horse")
    assert repo.by_token(token) == user


def test_login_rejects_a_wrong_password(repo):
    users.register(repo, "ada@example.com", "correct horse")
    with pytest.raises(APIError) as caught:
        users.login(repo, "ada@example.com", "wrong horse")
    assert caught.value.status_code == 401


def test_signup_summary_of_no_signups():
    assert reports.signup_summary([]) == {"days": 0, "total": 0, "average": 0.0, "busiest": None, "trend": "flat"}
