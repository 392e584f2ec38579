"""Users: every route needs a logged-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.api.deps import CurrentUser, Database, get_current_user
from app.models import User
from app.repositories.users import UserRepository
from app.services import users as users_service

router = APIRouter(prefix="/users", tags=["users"])


class ProfileUpdate(BaseModel):
    display_name: str


@router.get("/me")
def read_me(user: CurrentUser) -> dict[str, object]:
    return user.public()


@router.patch("/me")  # deliberate: TEST001 - no test calls PATCH /api/v1/users/me
def update_me(body: ProfileUpdate, user: CurrentUser, db: Database) -> dict[str, object]:
    return users_service.update_profile(UserRepository(db), user, body.display_name).public()


@router.get("/")
def search_users(
    q: str, user: Annotated[User, Depends(get_current_user)], db: Database
) -> list[dict[str, object]]:
    return [found.public() for found in UserRepository(db).search(q)]


@router.get("/{user_id}")
def read_user(user_id: int, user: CurrentUser, db: Database) -> dict[str, object]:
    return users_service.get_user(UserRepository(db), user_id).public()
