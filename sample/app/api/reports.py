"""Reports for the team dashboard."""

from __future__ import annotations

import json  # deliberate: style gate, ruff F401 - imported and never used

from fastapi import APIRouter

from app.api.deps import Database
from app.repositories.users import UserRepository
from app.services import reports as reports_service

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/signups")  # deliberate: AUTH001 - no CurrentUser dependency: anyone can read the numbers
def signup_report(db: Database, days: int = 7) -> dict[str, object]:
    return reports_service.signup_summary(UserRepository(db).signups_per_day(days))
