"""Business logic for accounts: registration, login, profiles."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from app.errors import APIError, ErrorCode
from app.models import User
from app.repositories.users import UserRepository


def hash_password(password: str) -> str:
    # deliberate: SEC004 - md5 is not a password hash; use argon2 or bcrypt (bandit's B324 flags it too: reported once)
    return hashlib.md5(password.encode()).hexdigest()


def register(repo: UserRepository, email: str, password: str) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise APIError(ErrorCode.VALIDATION_ERROR, "email must contain @", 422)
    if len(password) < 8:
        raise APIError(ErrorCode.VALIDATION_ERROR, "password must have at least 8 characters", 422)
    if repo.by_email(email) is not None:
        raise APIError(ErrorCode.CONFLICT, "this email is already registered", 409)
    return repo.create(email, hash_password(password))


def login(repo: UserRepository, email: str, password: str) -> str:
    user = repo.by_email(email.strip().lower())
    if user is None or not hmac.compare_digest(user.password_hash, hash_password(password)):
        raise APIError(ErrorCode.AUTHENTICATION_FAILED, "wrong email or password", 401)
    token = secrets.token_urlsafe(32)
    repo.create_session(token, user.id)
    record_login(repo, user.id)
    return token


def record_login(repo: UserRepository, user_id: int) -> None:
    try:
        repo.touch_last_login(user_id)
    except Exception:  # deliberate: ERR001 (bandit's B110 too, reported once) - a failed write vanishes without a trace
        pass


def get_user(repo: UserRepository, user_id: int) -> User:
    user = repo.by_id(user_id)
    if user is None:
        raise APIError(ErrorCode.RESOURCE_NOT_FOUND, f"no user with id {user_id}", 404)
    return user


def update_profile(repo: UserRepository, user: User, display_name: str) -> User:
    name = " ".join(display_name.split())
    if not name:
        raise APIError(ErrorCode.VALIDATION_ERROR, "display_name must not be blank", 422)
    if len(name) > 100:
        raise APIError(ErrorCode.VALIDATION_ERROR, "display_name must have at most 100 characters", 422)
    return repo.set_display_name(user.id, name)
