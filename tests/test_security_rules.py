"""SEC001-SEC006 on one fixture project per idiom (python-jose, PyJWT, authlib, FastAPI, Flask, Django), secrets
that never reach a report, and bandit's repeats of p21 findings (real bandit) dropped by `dedup.split_repeats`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from p21_lint.dedup import split_repeats
from p21_lint.model import Finding, Level, Location
from p21_lint.report import RENDERERS
from p21_lint.testing import expected_markers, found_markers, lint_project

FIXTURES = Path(__file__).parent / "fixtures" / "security_rules"
SEC = ("SEC001", "SEC002", "SEC003", "SEC004", "SEC005", "SEC006")


def load(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.py"))}


def sec_markers(markers):
    return [m for m in markers if m[2] in SEC]


@pytest.mark.parametrize("project", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_fixture_project_reports_exactly_its_markers(project):
    files = load(FIXTURES / project)
    report = lint_project(files)
    assert not report.errors
    assert sec_markers(found_markers(report)) == sec_markers(expected_markers(files))


SECRET = "hunter2-Qx7-made-up"
LEAKY = f"""\
import jwt

SECRET_KEY = "{SECRET}"


def sign(payload):
    return jwt.encode(payload, "{SECRET}", algorithm="HS256")
"""


def test_a_secret_is_never_repeated_in_any_report_format(tmp_path):
    report = lint_project({"app.py": LEAKY})
    secrets = [f for f in report.findings if f.code == "SEC002"]
    assert [(f.location.line, f.sensitive) for f in secrets] == [(3, True), (7, True)]
    assert "`SECRET_KEY`" in secrets[0].message and "os.environ" in secrets[0].message
    (tmp_path / "app.py").write_text(LEAKY, encoding="utf-8")
    for name, render in RENDERERS.items():
        assert SECRET not in render(report, root=tmp_path, color=False), f"the {name} report shows the secret"


def test_the_fingerprint_does_not_depend_on_the_secret():
    """Rotating the value must not make a baselined finding new, and the fingerprint must not hash the secret."""
    first = lint_project({"app.py": LEAKY}).findings
    rotated = lint_project({"app.py": LEAKY.replace(SECRET, "another-made-up-value")}).findings
    assert [f.fingerprint for f in first] == [f.fingerprint for f in rotated]


def test_test_code_may_hold_literal_secrets():
    assert found_markers(lint_project({"tests/test_app.py": LEAKY, "conftest.py": LEAKY})) == []


def test_seed_jwt_decode_is_fine_and_its_utcnow_expiry_is_not():
    files = load(FIXTURES / "jose_app")
    report = lint_project(files)
    text = files["auth.py"].splitlines()
    decode_line = next(i for i, line in enumerate(text, 1) if "algorithms=[ALGORITHM])" in line and "payload" in line)
    assert ("auth.py", decode_line, "SEC001") not in found_markers(report)
    assert [c for _, _, c in found_markers(report)].count("SEC005") == 2


# -- bandit and p21 on the same line for the same reason: one finding ---------------------------------------------
DOUBLE = """\
import hashlib
import os


def connect(password):
    DB_PASSWORD = "made-up-db-password"
    try:
        return open_db(DB_PASSWORD)
    except Exception:
        pass


def legacy_hash(user, password):
    user.digest = hashlib.md5(password.encode()).hexdigest()


def drain(items):
    for item in items:
        try:
            item.close()
        except Exception:
            continue
"""


def run_bandit(folder: Path) -> list[Finding]:
    """Real bandit on the folder, its JSON results as Findings (what the security gate's adapter produces)."""
    done = subprocess.run([sys.executable, "-m", "bandit", "-f", "json", "-q", "-r", "."], cwd=folder,
                          capture_output=True, text=True, check=False)
    rows = json.loads(done.stdout)["results"]
    return [
        Finding(code=r["test_id"], message=r["issue_text"], source="bandit",
                location=Location(r["filename"].removeprefix("./"), r["line_number"], r["col_offset"] + 1,
                                  r["line_range"][-1]),
                severity=Level.parse(r["issue_severity"]))
        for r in rows
    ]


def test_bandit_repeats_of_p21_findings_are_dropped_and_the_rest_kept(tmp_path):
    (tmp_path / "app.py").write_text(DOUBLE, encoding="utf-8")
    bandit = run_bandit(tmp_path)
    assert {"B105", "B110", "B112", "B324"} <= {f.code for f in bandit}
    p21 = list(lint_project({"app.py": DOUBLE}).findings)
    assert {"SEC002", "ERR001", "SEC004"} <= {f.code for f in p21}

    kept, repeated = split_repeats(bandit, p21)
    assert sorted(f.code for f in repeated) == ["B105", "B110", "B112", "B324"]
    assert all(f.code not in {"B105", "B110", "B112", "B324"} for f in kept)
    assert len(kept) + len(repeated) == len(bandit)


def test_a_bandit_finding_on_another_line_or_for_another_reason_stays():
    p21 = [Finding("SEC002", "secret", Location("app.py", 3, 1, 3, 20))]
    bandit = [
        Finding("B105", "hardcoded", Location("app.py", 4, 1, 4, 1), source="bandit"),  # another line
        Finding("B110", "try/except/pass", Location("app.py", 3, 1, 3, 1), source="bandit"),  # another reason
        Finding("B105", "hardcoded", Location("other.py", 3, 1, 3, 1), source="bandit"),  # another file
        Finding("B105", "hardcoded", Location("app.py", 2, 1, 3, 1), source="bandit"),  # overlaps
    ]
    kept, repeated = split_repeats(bandit, p21)
    assert [f.location.line for f in repeated] == [2]
    assert len(kept) == 3
