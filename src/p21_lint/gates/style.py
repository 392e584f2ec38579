"""The style gate: "Code must follow language-specific style guidelines", as the project's own ruff settings say.

ruff runs as `python -m ruff check --output-format json` on exactly the discovered files, from the project root,
so ruff finds the project's `[tool.ruff]` / `ruff.toml` itself and `--force-exclude` keeps its own excludes in
force for files passed by name. Its JSON is the contract; its findings keep their ruff codes (source "ruff").
Enabled by `style = true` (or `--style`); enabled without ruff installed is a tool error, never a pass.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess  # nosec B404: runs ruff, a fixed module, with our own argument list
import sys
from collections import Counter
from pathlib import Path

from p21_lint.config import Config
from p21_lint.engine.fingerprint import fingerprint
from p21_lint.files import SourceFile, relpath
from p21_lint.model import Finding, GateResult, Level, Location, Status, ToolError

RUFF_MODULE = "ruff"
ARGV_BUDGET = 24_000 if os.name == "nt" else 200_000  # characters of file names per ruff run
INSTALL_HINT = "install it with `pip install 'p21-lint[style]'` (or `pip install ruff`), or set `style = false`"


def style_gate(files: list[SourceFile], config: Config) -> tuple[GateResult, list[ToolError]]:
    if not config.style:
        return GateResult("style", Status.SKIPPED, note="disabled (set style = true or pass --style to run ruff)"), []
    if importlib.util.find_spec(RUFF_MODULE) is None:
        error = ToolError("ruff", "", f"style = true but ruff is not installed in this Python ({sys.executable}); {INSTALL_HINT}")
        return GateResult("style", Status.ERROR, note="ruff is not installed"), [error]
    if not files:
        return GateResult("style", Status.PASS, note="no files", metrics={"findings": 0}), []

    rows: list[dict] = []
    for batch in _batches([f"./{f.rel}" for f in files]):
        command = [sys.executable, "-I", "-m", RUFF_MODULE, "check", "--output-format", "json", "--force-exclude", "--no-fix",
                   "--exit-zero", "--", *batch]
        done = subprocess.run(command, cwd=config.root, capture_output=True, text=True, check=False)  # nosec B603
        try:
            if done.returncode != 0:
                raise ValueError
            rows.extend(json.loads(done.stdout or "[]"))
        except ValueError:
            detail = (done.stderr or done.stdout).strip().splitlines()
            message = f"ruff failed (exit {done.returncode}): {detail[-1] if detail else 'no output'}"
            return GateResult("style", Status.ERROR, note="ruff failed"), [ToolError("ruff", "", message)]

    findings = to_findings(rows, config.root)
    by_code = Counter(f.code for f in findings)
    metrics = {"findings": len(findings), "files": len(files), "by_code": dict(sorted(by_code.items()))}
    if not findings:
        return GateResult("style", Status.PASS, metrics=metrics, note=f"ruff: clean ({len(files)} files)"), []
    top = ", ".join(f"{code} {n}" for code, n in by_code.most_common(3))
    note = f"ruff: {len(findings)} finding{'s' if len(findings) != 1 else ''} ({top})"
    return GateResult("style", Status.FAIL, tuple(findings), metrics, note), []


def to_findings(rows: list[dict], root: Path) -> list[Finding]:
    """ruff's JSON rows as Findings. Syntax errors are skipped: the per-file pass reports every file that does not
    parse as a tool error already."""
    findings = []
    seen: Counter = Counter()
    lines: dict[str, list[str]] = {}
    for row in rows:
        code = row.get("code")
        if not code or code == "invalid-syntax":
            continue
        path = relpath(Path(row["filename"]), root)
        start, end = row.get("location") or {}, row.get("end_location") or {}
        line = int(start.get("row") or 1)
        text = _line(root / path, line, lines)
        key = (code, path, " ".join(text.split()))
        occurrence = seen[key]
        seen[key] += 1
        url = row.get("url") or ""
        findings.append(Finding(
            code=code,
            message=row.get("message", ""),
            location=Location(path, line, int(start.get("column") or 1), int(end.get("row") or line), int(end.get("column") or 0)),
            severity=Level.LOW,
            source="ruff",
            rule_name=row.get("name") or url.rsplit("/", 1)[-1],
            help_url=url,
            fingerprint=fingerprint(code, path, text, "", occurrence),
        ))
    return sorted(findings, key=Finding.sort_key)


def _line(path: Path, number: int, cache: dict[str, list[str]]) -> str:
    key = str(path)
    if key not in cache:
        try:
            cache[key] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[key] = []
    text = cache[key]
    return text[number - 1] if 0 < number <= len(text) else ""


def _batches(targets: list[str]) -> list[list[str]]:
    batches: list[list[str]] = [[]]
    size = 0
    for target in targets:
        if batches[-1] and size + len(target) + 1 > ARGV_BUDGET:
            batches.append([])
            size = 0
        batches[-1].append(target)
        size += len(target) + 1
    return batches
