"""Registration and login: public endpoints by nature."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import Database
from app.repositories.users import UserRepository
from app.services import users as users_service

router = APIRouter(prefix="/auth", tags=["auth"])


class Credentials(BaseModel):
    email: str
    password: str


@router.post("/register", status_code=201)
def register(body: Credentials, db: Database) -> dict[str, int]:
    user = users_service.register(UserRepository(db), body.email, body.password)
    return {"user_id": user.id}


@router.post("/login")
def login(body: Credentials, db: Database) -> dict[str, str]:
    token = users_service.login(UserRepository(db), body.email, body.password)
    return {"access_token": token, "token_type": "bearer"}  # nosec B105: a token type, not a secret
