"""Precision and recall of p21-lint, bandit (B608) and ruff (S608) on the labelled SQL corpus.

    python benchmarks/sql_precision.py              # the table
    python benchmarks/sql_precision.py --details    # and every miss and false alarm, per tool

The corpus is tests/fixtures/sql: small files whose lines carrying SQL injection are marked `# error: SQL001` (a
value) or `# error: SQL002` (a name or a fragment of SQL); every other line is clean. SQL003/SQL004 markers (wrong
placeholder, wrong parameter count) are bugs, not injection, and neither bandit nor ruff looks for them: they are
left out here, and a hit on such a line counts as a false alarm like any other unmarked line.

A tool's finding covers the lines from its start to its end (a multi-line string is one finding): it is a true
positive if a marked line is among them, a false positive otherwise. Recall is the share of marked lines some
finding covers. Each tool runs as users run it: p21-lint through its check pipeline with the corpus's config,
bandit as `bandit -r -t B608 -f json`, ruff as `ruff check --select S608 --output-format json --isolated`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "sql"
MARKER = re.compile(r"#\s*error:\s*(?P<codes>[A-Z]+[0-9]{3}(?:\s*,\s*[A-Z]+[0-9]{3})*)")
INJECTION = {"SQL001", "SQL002"}


@dataclass(frozen=True)
class Hit:
    path: str
    first: int
    last: int

    def covers(self, line: int) -> bool:
        return self.first <= line <= self.last


@dataclass
class Score:
    tool: str
    hits: list[Hit]
    marked: set[tuple[str, int]]
    true_hits: list[Hit] = field(default_factory=list)
    false_hits: list[Hit] = field(default_factory=list)
    found: set[tuple[str, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for hit in self.hits:
            covered = {(p, n) for p, n in self.marked if p == hit.path and hit.covers(n)}
            (self.true_hits if covered else self.false_hits).append(hit)
            self.found |= covered

    @property
    def precision(self) -> float:
        return len(self.true_hits) / len(self.hits) if self.hits else 0.0

    @property
    def recall(self) -> float:
        return len(self.found) / len(self.marked) if self.marked else 0.0


def corpus_files() -> dict[str, str]:
    return {p.relative_to(CORPUS).as_posix(): p.read_text(encoding="utf-8") for p in sorted(CORPUS.rglob("*.py"))}


def marked_lines(files: dict[str, str]) -> set[tuple[str, int]]:
    out = set()
    for path, text in files.items():
        for number, line in enumerate(text.splitlines(), 1):
            m = MARKER.search(line)
            if m and INJECTION & {c.strip() for c in m.group("codes").split(",")}:
                out.add((path, number))
    return out


def run_p21(files: dict[str, str]) -> list[Hit]:
    from p21_lint.testing import lint_project

    config = (CORPUS / "config.toml").read_text(encoding="utf-8")
    report = lint_project(files, 'select = ["SQL"]\n' + config)
    if report.errors:
        raise SystemExit(f"p21-lint could not check the corpus: {report.errors}")
    return [
        Hit(f.location.path, f.location.line, max(f.location.line, f.location.end_line))
        for f in report.findings
        if f.code in INJECTION and not f.suppressed
    ]


def run_bandit() -> list[Hit]:
    proc = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", str(CORPUS), "-t", "B608", "-f", "json", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    data = json.loads(proc.stdout)
    if data.get("errors"):
        raise SystemExit(f"bandit could not check the corpus: {data['errors']}")
    hits = []
    for r in data["results"]:
        lines = r.get("line_range") or [r["line_number"]]
        hits.append(Hit(_relative(r["filename"]), min(lines), max(lines)))
    return hits


def run_ruff() -> list[Hit]:
    ruff = Path(sys.executable).with_name("ruff")
    command = [str(ruff)] if ruff.exists() else [sys.executable, "-m", "ruff"]
    proc = subprocess.run(
        [*command, "check", "--select", "S608", "--output-format", "json", "--isolated", "--no-cache", str(CORPUS)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"ruff failed: {proc.stderr}")
    return [
        Hit(_relative(r["filename"]), r["location"]["row"], r["end_location"]["row"]) for r in json.loads(proc.stdout)
    ]


def _relative(filename: str) -> str:
    return Path(filename).resolve().relative_to(CORPUS.resolve()).as_posix()


def table(scores: list[Score]) -> str:
    rows = [
        "| tool | findings | true | false | marked lines found | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        rows.append(
            f"| {s.tool} | {len(s.hits)} | {len(s.true_hits)} | {len(s.false_hits)} | {len(s.found)}/{len(s.marked)} "
            f"| {s.precision:.1%} | {s.recall:.1%} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--details", action="store_true", help="list every miss and false alarm")
    args = parser.parse_args()

    files = corpus_files()
    marked = marked_lines(files)
    scores = [
        Score("p21-lint (SQL001, SQL002)", run_p21(files), marked),
        Score("bandit B608", run_bandit(), marked),
        Score("ruff S608", run_ruff(), marked),
    ]
    print(f"corpus: {len(files)} files, {len(marked)} marked lines (tests/fixtures/sql)\n")
    print(table(scores))
    if args.details:
        for s in scores:
            print(f"\n## {s.tool}")
            for path, line in sorted(marked - s.found):
                print(f"  missed       {path}:{line}")
            for hit in sorted(s.false_hits, key=lambda h: (h.path, h.first)):
                print(f"  false alarm  {hit.path}:{hit.first}")
    best = scores[0]
    leads = all(best.precision > s.precision and best.recall > s.recall for s in scores[1:])
    print(f"\np21-lint leads both columns: {'yes' if leads else 'NO'}")
    return 0 if leads else 1


if __name__ == "__main__":
    sys.exit(main())
