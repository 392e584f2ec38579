"""One API error type: an ErrorCode, a message for the client and an HTTP status (the team's standard)."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any


class ErrorCode(Enum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
    CONFLICT = "CONFLICT"


class APIError(Exception):
    def __init__(self, code: ErrorCode, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code.value,
                "message": self.message,
                "timestamp": datetime.now(timezone.utc).isoformat(),
            }
        }
