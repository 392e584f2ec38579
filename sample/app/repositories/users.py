"""SQL for users and sessions (sqlite3, `?` placeholders)."""

from __future__ import annotations

import sqlite3

from app.models import User


def _user(row: sqlite3.Row | None) -> User | None:
    if row is None:
        return None
    return User(row["id"], row["email"], row["password_hash"], row["display_name"])


class UserRepository:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def by_id(self, user_id: int) -> User | None:
        return _user(self.conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone())

    def by_email(self, email: str) -> User | None:
        return _user(self.conn.execute("SELECT * FROM users WHERE email = ?", (email,)).fetchone())

    def by_token(self, token: str) -> User | None:
        row = self.conn.execute(
            "SELECT users.* FROM users JOIN sessions ON sessions.user_id = users.id WHERE sessions.token = ?",
            (token,),
        ).fetchone()
        return _user(row)

    def create(self, email: str, password_hash: str) -> User:
        cur = self.conn.execute("INSERT INTO users (email, password_hash) VALUES (?, ?)", (email, password_hash))
        self.conn.commit()
        return User(cur.lastrowid, email, password_hash)

    def create_session(self, token: str, user_id: int) -> None:
        self.conn.execute("INSERT INTO sessions (token, user_id) VALUES (?, ?)", (token, user_id))
        self.conn.commit()

    def touch_last_login(self, user_id: int) -> None:
        self.conn.execute("UPDATE users SET last_login = CURRENT_TIMESTAMP WHERE id = ?", (user_id,))
        self.conn.commit()

    def set_display_name(self, user_id: int, name: str) -> User:
        self.conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (name, user_id))
        self.conn.commit()
        return self.by_id(user_id)

    def search(self, text: str) -> list[User]:
        # deliberate: SQL001 (bandit's B608 too, reported once) - the search text is pasted into the SQL (injection); write
        # `"... WHERE email LIKE ?"` and pass `(f"%{text}%",)` as the parameters
        rows = self.conn.execute(f"SELECT * FROM users WHERE email LIKE '%{text}%' ORDER BY id").fetchall()
        return [_user(row) for row in rows]

    def signups_per_day(self, days: int) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT date(created_at) AS day, COUNT(*) AS n FROM users"
            " WHERE created_at >= date('now', ?) GROUP BY day ORDER BY day",
            (f"-{days} days",),
        ).fetchall()
        return [(row["day"], row["n"]) for row in rows]
