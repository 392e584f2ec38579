"""The security gate: bandit as a subprocess on exactly the discovered files, its JSON report mapped to Findings.

`start` launches bandit before the libcst pass and `finish` collects it afterwards, so the two run side by side.
bandit gets explicit file lists, never `-r DIR`: its own directory walk knows nothing of our excludes, default
excludes or .gitignore. The project's bandit settings apply on top, passed explicitly because bandit does not
look for them itself: `[tool.bandit]` (`-c pyproject.toml`) and a `.bandit` ini file at the root (`--ini`).
Files are passed as `./rel` from the project root, as `bandit -r .` run there would see them, so `exclude_dirs`
patterns written for that (`tests`, `./vendor`, `*/migrations/*`) mean the same here.

A hard-coded secret bandit found never reaches the report: its message is redacted, its fingerprint is computed
from the flagged line with string literals blanked, and the Finding is `sensitive` (no renderer prints its line).
"""

from __future__ import annotations

import json
import os
import re
import subprocess  # nosec B404
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Sequence
from typing import IO, Any

from p21_lint import dedup
from p21_lint.config import Config
from p21_lint.engine.fingerprint import fingerprint
from p21_lint.files import MAX_BYTES, SourceFile, matches_any, relpath
from p21_lint.model import Finding, GateResult, Level, Location, Status, ToolError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 in CI
    import tomli as tomllib

BANDIT_MODULE = "bandit"
# Windows caps a whole command line at 32,767 characters; POSIX allows far more (macOS: 1 MiB with the environment).
ARGV_BUDGET = 24_000 if os.name == "nt" else 200_000

# hardcoded_password_string / _funcarg / _default: their message quotes the secret
SECRET_TESTS = frozenset({"B105", "B106", "B107"})
_SECRET_WORDS = re.compile(r"pas+wo?r?d|passphrase|\bpwd\b|secret|token|\bkeys?\b|credential", re.IGNORECASE)
_QUOTED_TAIL = re.compile(r"""(:\s*)(['"]).*\2\s*$""", re.DOTALL)  # "Possible hardcoded password: 'hunter2'"
_STRING = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")
_LEVELS = ("high", "medium", "low")
_UNKNOWN_TEST = re.compile(r"Unknown test found in profile: (\S+)")


@dataclass
class _Chunk:
    """One bandit process over one batch of files (one batch unless the file list outgrows the command line)."""

    process: subprocess.Popen | None
    output: str  # the JSON report bandit writes (`-o`): immune to anything else reaching stdout
    stderr: IO[bytes] | None
    error: str = ""  # the process could not even start


@dataclass
class BanditRun:
    files: list[SourceFile]
    module: str = BANDIT_MODULE
    by_path: dict[str, str] = field(default_factory=dict)  # normalised path as bandit reports it -> repo-relative
    config_files: list[str] = field(default_factory=list)  # the project's bandit settings we passed, repo-relative
    chunks: list[_Chunk] = field(default_factory=list)


def start(files: list[SourceFile], config: Config, *, module: str = BANDIT_MODULE, argv_budget: int = ARGV_BUDGET) -> BanditRun:
    """Launch bandit on `files` (in the background) and return the handle `finish` collects."""
    # a file over our size limit is already a read error; bandit has no limit and would spend minutes on it
    run = BanditRun([f for f in files if not _too_large(f)], module)
    files = run.files
    if not files:
        return run
    settings = bandit_config_args(config)
    run.config_files = [relpath(Path(a), config.root) for a in settings[1::2]]
    # -I: isolated mode, so a module of the checked project (a `yaml.py` at its root) is never imported
    base = [sys.executable, "-I", "-m", module, "-f", "json", "-q", *settings]
    targets = [f"./{f.rel}" for f in files]  # "./" also keeps a file named "-x.py" from reading as an option
    run.by_path = {os.path.normpath(t): f.rel for t, f in zip(targets, files)}
    room = argv_budget - _argv_cost([*base, "-o", os.path.join(tempfile.gettempdir(), "p21-bandit-xxxxxxxx.json")])
    for batch in _batches(targets, room):
        run.chunks.append(_launch(base, batch, config.root))
    return run


def _too_large(f: SourceFile) -> bool:
    try:
        return f.path.stat().st_size > MAX_BYTES
    except OSError:
        return False  # bandit says why it cannot read it, as we do


def bandit_config_args(config: Config) -> list[str]:
    """The project's own bandit configuration, passed explicitly."""
    args: list[str] = []
    if config.source is not None and config.source.suffix == ".toml" and _has_bandit_table(config.source):
        args += ["-c", str(config.source)]
    ini = config.root / ".bandit"
    if ini.is_file():
        args += ["--ini", str(ini)]
    return args


def _has_bandit_table(pyproject: Path) -> bool:
    try:
        with pyproject.open("rb") as fh:
            return "bandit" in tomllib.load(fh).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False  # the config loader has already reported a file it cannot read


def _argv_cost(args: list[str]) -> int:
    return sum(len(a) + 9 for a in args)  # the string, its NUL and its pointer


def _batches(targets: list[str], room: int) -> list[list[str]]:
    batches: list[list[str]] = [[]]
    used = 0
    for target in targets:
        cost = _argv_cost([target])
        if batches[-1] and used + cost > room:
            batches.append([])
            used = 0
        batches[-1].append(target)
        used += cost
    return batches


def _launch(base: list[str], targets: list[str], cwd: Path) -> _Chunk:
    fd, output = tempfile.mkstemp(prefix="p21-bandit-", suffix=".json")
    os.close(fd)
    # a file, not a pipe: bandit never blocks on a full pipe while the libcst pass runs; closed in `_collect`
    stderr = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        # our own interpreter running bandit on the project's file names, no shell
        process = subprocess.Popen(  # nosec B603
            [*base, "-o", output, *targets], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )
    except OSError as exc:
        stderr.close()
        return _Chunk(None, output, None, f"bandit could not be started ({sys.executable}): {exc.strerror or exc}")
    return _Chunk(process, output, stderr)


def finish(run: BanditRun, config: Config, p21: Sequence[Finding] = ()) -> tuple[GateResult, list[ToolError]]:
    """Wait for bandit and turn its JSON into the security gate's result and tool errors. A bandit finding that a
    p21 finding in `p21` already reports (B105 beside SEC002 on the same line) is dropped: one problem, one line."""
    reports, failures, unknown = [], [], set()
    for chunk in run.chunks:
        data, failure, stderr = _collect(chunk, run.module)
        if failure:
            failures.append(failure)
        else:
            reports.append(data)
        unknown.update(_UNKNOWN_TEST.findall(stderr))
    if failures:
        errors = [ToolError("bandit", "", message) for message in dict.fromkeys(failures)]
        return GateResult("security", Status.ERROR, note="bandit could not run"), errors
    # bandit only warns about a test id it does not know (a typo in `skips` then skips nothing): we refuse it
    where = run.config_files[0] if run.config_files else ""
    config_errors = [
        ToolError("bandit", where, f"the bandit configuration names `{test}`, which is not a bandit test id (e.g. B101): fix or remove it")
        for test in sorted(unknown)
    ]
    return _gate(_merge(reports), run, config, config_errors, p21)


def cancel(run: BanditRun) -> None:
    """Stop bandit and remove its files: the check failed before the gate could be read."""
    for chunk in run.chunks:
        if chunk.process is not None and chunk.process.poll() is None:
            chunk.process.kill()
            chunk.process.wait()
        if chunk.stderr is not None:
            chunk.stderr.close()
        Path(chunk.output).unlink(missing_ok=True)


def _collect(chunk: _Chunk, module: str) -> tuple[dict[str, Any], str, str]:
    """bandit's JSON report (or the reason there is none) and its stderr."""
    try:
        if chunk.process is None or chunk.stderr is None:
            return {}, chunk.error, ""
        code = chunk.process.wait()
        chunk.stderr.seek(0)
        stderr = chunk.stderr.read().decode("utf-8", errors="replace")
        text = Path(chunk.output).read_text(encoding="utf-8", errors="replace")
    finally:
        if chunk.stderr is not None:
            chunk.stderr.close()
        Path(chunk.output).unlink(missing_ok=True)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    # exit 1 only says bandit found issues; the report itself is what tells a run from a failure
    if code in (0, 1) and isinstance(data, dict) and isinstance(data.get("results"), list):
        return data, "", stderr
    if f"No module named {module}" in stderr:
        return {}, f"bandit is not installed in this environment ({sys.executable}): pip install bandit", stderr
    tail = stderr.strip()[-800:] or "no output"
    return {}, f"bandit failed (exit {code}): {tail}", stderr


def _merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    results, errors, files, totals = [], [], set(), Counter()
    for data in reports:
        results.extend(data.get("results", []))
        errors.extend(data.get("errors", []))
        for name, counts in data.get("metrics", {}).items():
            if name == "_totals":
                totals.update({k: v for k, v in counts.items() if isinstance(v, int)})
            else:
                files.add(name)
    return {"results": results, "errors": errors, "files": files, "totals": totals}


def _gate(
    data: dict[str, Any], run: BanditRun, config: Config, config_errors: list[ToolError], p21: Sequence[Finding] = ()
) -> tuple[GateResult, list[ToolError]]:
    def rel(name: str) -> str:
        normal = os.path.normpath(name)
        return run.by_path.get(normal, Path(normal).as_posix())

    errors = config_errors + [
        ToolError("bandit", rel(e.get("filename", "")), _bandit_error(e.get("reason", "unknown error")))
        for e in data["errors"]
    ]
    severity_min, confidence_min = Level.parse(config.bandit_severity), Level.parse(config.bandit_confidence)
    results = sorted(
        data["results"], key=lambda r: (rel(r.get("filename", "")), r.get("line_number", 0), r.get("col_offset", 0), r.get("test_id", ""))
    )
    occurrences: Counter = Counter()
    findings, below, test_asserts = [], 0, 0
    tests = {f.rel for f in run.files if f.is_test}
    for result in results:
        # occurrences count every result, so a fingerprint does not change with the thresholds
        finding = to_finding(result, rel(result.get("filename", "")), occurrences)
        if finding.code == "B101" and finding.location.path in tests:
            test_asserts += 1  # `assert` is how pytest tests are written (B101 is about asserts in shipped code)
            continue
        if finding.severity < severity_min or finding.confidence < confidence_min:
            below += 1
            continue
        if _ignored(finding, config.per_file_ignores):
            finding = replace(finding, suppressed=True)
        findings.append(finding)
    findings, repeated = dedup.split_repeats(findings, p21)

    active = [f for f in findings if not f.suppressed]
    by_severity = Counter(str(f.severity) for f in active)
    totals = data["totals"]
    scanned = len(data["files"])
    version = bandit_version(run.module)
    metrics = {
        "files": scanned,
        "excluded_by_bandit_config": max(0, len(run.files) - scanned),
        "findings": len(active),
        "by_severity": {k: by_severity.get(k, 0) for k in _LEVELS},
        "below_threshold": below,
        "repeats_of_p21": len(repeated),
        "asserts_in_tests": test_asserts,
        "suppressed": len(findings) - len(active),
        "nosec": totals.get("nosec", 0),
        "skipped_tests": totals.get("skipped_tests", 0),
        "severity_threshold": config.bandit_severity,
        "confidence_threshold": config.bandit_confidence,
        "bandit_version": version,
    }
    status = Status.ERROR if errors else Status.FAIL if active else Status.PASS
    return GateResult("security", status, tuple(findings), metrics, _note(metrics, len(errors))), errors


def to_finding(result: dict[str, Any], path: str, occurrences: Counter) -> Finding:
    """One bandit result as a Finding; a secret it names stays out of the message and the fingerprint."""
    code = str(result.get("test_id", "B000"))
    text = str(result.get("issue_text", ""))
    line = int(result.get("line_number", 1) or 1)
    line_range = result.get("line_range") or [line]
    flagged = _flagged_lines(str(result.get("code", "")), line_range)
    sensitive = code in SECRET_TESTS or bool(_SECRET_WORDS.search(text))
    if sensitive:
        text = redact(text, flagged)
    # the flagged line alone: a multi-line node's other lines (a whole function, for B107) would make it fragile
    snippet = flagged.get(line, "")
    if sensitive:
        snippet = _STRING.sub("'***'", snippet)
    key = (code, path, " ".join(snippet.split()))
    occurrences[key] += 1
    end_col = int(result.get("end_col_offset", 0) or 0)
    cwe = (result.get("issue_cwe") or {}).get("id")
    return Finding(
        code=code,
        message=text,
        location=Location(path, line, max(int(result.get("col_offset", 0) or 0), 0) + 1, max(line_range), end_col + 1 if end_col > 0 else 0),
        severity=_level(result.get("issue_severity")),
        confidence=_level(result.get("issue_confidence")),
        source="bandit",
        rule_name=str(result.get("test_name", "")),
        cwe=int(cwe) if isinstance(cwe, int) and cwe > 0 else None,
        help_url=str(result.get("more_info", "")),
        fingerprint=fingerprint(code, path, snippet, "", occurrences[key]),
        sensitive=sensitive,
    )


def redact(text: str, flagged: dict[int, str]) -> str:
    """bandit's message without the secret it quotes: "Possible hardcoded password: '***'"."""
    redacted, count = _QUOTED_TAIL.subn(r"\1\2***\2", text)
    if count:
        return redacted
    for literal in _STRING.findall("\n".join(flagged.values())):  # an unfamiliar message: blank every literal
        if literal[1:-1]:
            text = text.replace(literal[1:-1], "***")
    return text


def _flagged_lines(code: str, line_range: list[int]) -> dict[int, str]:
    """The lines of `line_range` from bandit's numbered `code` excerpt ("12 x = 1"), without their numbers."""
    wanted = set(line_range)
    out = {}
    for row in code.splitlines():
        number, _, source = row.partition(" ")
        if number.isdigit() and int(number) in wanted:
            out[int(number)] = source
    return out


def _bandit_error(reason: str) -> str:
    message = f"bandit could not check this file: {reason}"
    if "syntax error" in reason.lower():
        # bandit reads files with the `ast` of the Python running it: newer syntax (`except A, B:` of 3.14) fails
        version = ".".join(map(str, sys.version_info[:2]))
        message += (f"; bandit parses with this Python ({version}), so if the file uses newer syntax, run p21-lint "
                    "under the Python version the project targets")
    return message


def _level(text: Any) -> Level:
    return Level.__members__.get(str(text).upper(), Level.LOW)  # bandit's UNDEFINED ranks lowest


def _ignored(finding: Finding, per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...]) -> bool:
    return any(
        any(finding.code.startswith(c) for c in codes) for glob, codes in per_file_ignores if matches_any(finding.location.path, (glob,))
    )


def bandit_version(module: str = BANDIT_MODULE) -> str:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return "unknown"


def _note(metrics: dict[str, Any], errors: int) -> str:
    count = metrics["findings"]
    parts = [f"{count} finding{'s' if count != 1 else ''}"]
    if count:
        parts[0] += " (" + ", ".join(f"{n} {k}" for k, n in metrics["by_severity"].items() if n) + ")"
    parts[0] += f" in {metrics['files']} file{'s' if metrics['files'] != 1 else ''}"
    if metrics["below_threshold"]:
        parts.append(f"{metrics['below_threshold']} below {metrics['severity_threshold']}/{metrics['confidence_threshold']} thresholds")
    if metrics["suppressed"]:
        parts.append(f"{metrics['suppressed']} suppressed")
    if metrics["nosec"] or metrics["skipped_tests"]:
        parts.append(f"{metrics['nosec'] + metrics['skipped_tests']} # nosec")
    if metrics["excluded_by_bandit_config"]:
        parts.append(f"{metrics['excluded_by_bandit_config']} excluded by bandit config")
    if errors:
        parts.append(f"{errors} bandit error{'s' if errors != 1 else ''}")
    parts.append(f"bandit {metrics['bandit_version']}")
    return "; ".join(parts)
