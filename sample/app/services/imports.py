"""Bulk import of accounts from a CSV export (email,display_name,password), run by support staff:

    python -m app.services.imports accounts.csv

deliberate: coverage gate - no test exercises this module, so the business logic stays under 80% line coverage
(with `trend` in services/reports.py and `update_profile` in services/users.py).
"""

from __future__ import annotations

import csv
import io
import logging
import subprocess
import sys
from dataclasses import dataclass, field

from app.errors import APIError
from app.repositories.users import UserRepository
from app.services import users

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    created: int = 0
    skipped: list[str] = field(default_factory=list)  # "line 3: reason"


def import_accounts(repo: UserRepository, text: str) -> ImportResult:
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text))
    missing = {"email", "password"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"the CSV lacks the column(s) {', '.join(sorted(missing))}")
    for line, row in enumerate(reader, start=2):
        try:
            user = users.register(repo, row["email"], row["password"])
        except APIError as exc:
            result.skipped.append(f"line {line}: {exc.message}")
            continue
        if row.get("display_name"):
            users.update_profile(repo, user, row["display_name"])
        result.created += 1
    return result


def main(argv: list[str]) -> int:
    from app.db import connect

    if len(argv) != 2:
        print("usage: python -m app.services.imports FILE.csv", file=sys.stderr)
        return 2
    if argv[1].endswith(".gz"):
        # deliberate: security gate, bandit B602 - the file name goes through a shell (`a.csv.gz; rm -rf ~`)
        subprocess.run(f"gunzip -f {argv[1]}", shell=True, check=True)
        argv[1] = argv[1][: -len(".gz")]
    with open(argv[1], encoding="utf-8") as fh:
        result = import_accounts(UserRepository(connect("signup.db")), fh.read())
    for reason in result.skipped:
        log.warning("skipped %s", reason)
    print(f"{result.created} created, {len(result.skipped)} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
