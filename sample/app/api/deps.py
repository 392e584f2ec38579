"""Dependencies the routes share: the database and the authenticated user."""

from __future__ import annotations

import sqlite3
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.db import get_db
from app.errors import APIError, ErrorCode
from app.models import User
from app.repositories.users import UserRepository

bearer = HTTPBearer(auto_error=False)

Database = Annotated[sqlite3.Connection, Depends(get_db)]


def get_current_user(
    db: Database, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    if credentials is None:
        raise APIError(ErrorCode.AUTHENTICATION_FAILED, "send `Authorization: Bearer <token>` from /auth/login", 401)
    user = UserRepository(db).by_token(credentials.credentials)
    if user is None:
        raise APIError(ErrorCode.AUTHENTICATION_FAILED, "the token is unknown or was revoked; log in again", 401)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
