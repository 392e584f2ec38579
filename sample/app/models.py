"""The domain: what a user is, independent of the database and the API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    id: int
    email: str
    password_hash: str
    display_name: str | None = None

    def public(self) -> dict[str, object]:
        """What the API may show about a user: never the password hash."""
        return {"id": self.id, "email": self.email, "display_name": self.display_name}
