"""One problem, one finding: bandit's results that a p21 rule already reports on the same lines for the same reason.

bandit's B105 (a hard-coded password string) and SEC002, B608 (SQL built from strings) and SQL001/SQL002, B110
(`except: pass`) and ERR001 look at the same code for the same reason. The p21 finding is the one kept: it says what
to write instead, and it is the one `# p21: ignore[...]` and the baseline know. A p21 finding counts whether or not
it is suppressed: a line the user accepted for SEC002 is accepted for B105 too.
"""

from __future__ import annotations

from collections.abc import Iterable

from p21_lint.model import Finding

# bandit test id -> the p21 codes that report the same problem
EQUIVALENT: dict[str, frozenset[str]] = {
    "B105": frozenset({"SEC002"}),  # hardcoded_password_string
    "B106": frozenset({"SEC002"}),  # hardcoded_password_funcarg
    "B107": frozenset({"SEC002"}),  # hardcoded_password_default
    "B608": frozenset({"SQL001", "SQL002"}),  # hardcoded_sql_expressions
    "B110": frozenset({"ERR001"}),  # try_except_pass
    "B112": frozenset({"ERR001"}),  # try_except_continue
    "B303": frozenset({"SEC004"}),  # md5/sha1 (bandit < 1.7.6 name)
    "B324": frozenset({"SEC004"}),  # hashlib with md5/sha1
}


def _lines(finding: Finding) -> range:
    loc = finding.location
    return range(loc.line, max(loc.end_line, loc.line) + 1)


def split_repeats(bandit: Iterable[Finding], p21: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(bandit findings to keep, bandit findings a p21 finding of an equivalent code already reports). Two findings
    are the same when they are in one file and their line ranges overlap."""
    covered: dict[tuple[str, str], list[range]] = {}
    for f in p21:
        covered.setdefault((f.location.path, f.code), []).append(_lines(f))
    kept, repeated = [], []
    for f in bandit:
        lines = _lines(f)
        same = any(
            lines.start < other.stop and other.start < lines.stop
            for code in EQUIVALENT.get(f.code, ())
            for other in covered.get((f.location.path, code), ())
        )
        (repeated if same else kept).append(f)
    return kept, repeated
