"""SQLite connections; the schema comes from migrations/*.sql, applied in order."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    for script in sorted(MIGRATIONS.glob("*.sql")):
        conn.executescript(script.read_text(encoding="utf-8"))
    return conn


def get_db() -> Iterator[sqlite3.Connection]:
    """The request's connection (a FastAPI dependency; tests override it)."""
    conn = connect(os.environ.get("SIGNUP_DB", "signup.db"))
    try:
        yield conn
    finally:
        conn.close()
