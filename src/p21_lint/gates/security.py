"""The security gate: bandit as a subprocess on exactly the discovered files, its JSON report mapped to Findings.

`start` launches bandit before the libcst pass and `finish` collects it afterwards, so the two run side by side.
bandit gets explicit file lists, never `-r DIR`: its own directory walk knows nothing of our excludes, default
excludes or .gitignore. The project's bandit settings apply on top, passed explicitly because bandit does not
look for them itself: `[tool.bandit]` (`-c pyproject.toml`) and a `.bandit` ini file at the root (`--ini`).
Files are passed as `./rel` from the project root, as `bandit -r .` run there would see them, so `exclude_dirs`
patterns written for that (`tests`, `./vendor`, `*/migrations/*`) mean the same here.

bandit's answer for each file is cached (engine/cache.py) under the file's bytes, its path as bandit gets it, the
bandit configuration's content, bandit's version and plugins, the Python it parses with and p21-lint's version, so
bandit runs only on the files whose answer is not cached; what it says about its configuration (it only warns) is
cached under the configuration alone. Many uncached files are split across bandit processes, one per two jobs.

A hard-coded secret bandit found never reaches the report nor the cache: its message is redacted, its fingerprint is
computed from the flagged line with string literals blanked, and the Finding is `sensitive` (no renderer prints its
line); the cache holds Findings, never bandit's source excerpt.
"""

from __future__ import annotations

import json
import os
import re
import subprocess  # nosec B404
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from p21_lint import dedup
from p21_lint.config import Config
from p21_lint.engine.cache import Cache
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
# Below this much code per process (~1.5 s of bandit's work), another bandit process costs more (~0.4 s to start)
# than it saves.
SPLIT_BYTES = 400_000

# hardcoded_password_string / _funcarg / _default: their message quotes the secret
SECRET_TESTS = frozenset({"B105", "B106", "B107"})
_SECRET_WORDS = re.compile(r"pas+wo?r?d|passphrase|\bpwd\b|secret|token|\bkeys?\b|credential", re.IGNORECASE)
_QUOTED_TAIL = re.compile(r"""(:\s*)(['"]).*\2\s*$""", re.DOTALL)  # "Possible hardcoded password: 'hunter2'"
_STRING = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")
_LEVELS = ("high", "medium", "low")
_UNKNOWN_TEST = re.compile(r"Unknown test found in profile: (\S+)")
_BAD_INI = "Unable to parse config file"  # bandit's warning, after which it runs without the file's settings


@dataclass(frozen=True)
class BanditFile:
    """What bandit said about one file: enough to rebuild the gate as if it ran again, and never a secret."""

    scanned: bool  # False: the bandit configuration's `exclude_dirs` left the file out
    findings: tuple[Finding, ...] = ()  # every result, before thresholds and ignores; secrets already redacted
    errors: tuple[str, ...] = ()  # bandit's reasons it could not check the file
    nosec: int = 0
    skipped_tests: int = 0


@dataclass(frozen=True)
class BanditVerdict:
    """What bandit said about its configuration: it only warns (on stderr) where we refuse."""

    unknown_tests: tuple[str, ...] = ()  # test ids in `skips` / `tests` that bandit does not have
    unreadable_ini: bool = False  # the `.bandit` file: bandit then runs without any of its settings


@dataclass
class _Chunk:
    """One bandit process over one batch of files."""

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
    cache: Cache | None = None
    known: dict[str, BanditFile] = field(default_factory=dict)  # repo-relative path -> the cached answer
    keys: dict[str, str] = field(default_factory=dict)  # repo-relative path -> cache key, for files bandit checks now
    verdict: BanditVerdict | None = None  # the cached verdict on the configuration
    scratch: tempfile.TemporaryDirectory | None = None  # copies of lone-CR files that bandit can read


def start(files: list[SourceFile], config: Config, *, module: str = BANDIT_MODULE, argv_budget: int = ARGV_BUDGET) -> BanditRun:
    """Launch bandit (in the background) on those of `files` whose answer is not cached; `finish` collects it."""
    # a file over our size limit is already a read error; bandit has no limit and would spend minutes on it
    run = BanditRun([f for f in files if not _too_large(f)], module)
    if not run.files:
        return run
    settings = bandit_config_args(config)
    run.config_files = [relpath(Path(a), config.root) for a in settings[1::2]]
    run.by_path = {os.path.normpath(_target(f)): f.rel for f in run.files}
    run.cache = _open_cache(config, module, settings) if config.cache else None
    todo: list[tuple[SourceFile, bytes]] = []
    for f in run.files:
        source = _read(f.path)
        key = run.cache.key(_target(f), source) if run.cache is not None and source is not None else None
        known = run.cache.get(key, BanditFile) if run.cache is not None and key else None
        if known is not None:
            run.known[f.rel] = known
            continue
        todo.append((f, source or b""))
        if key:
            run.keys[f.rel] = key
    if run.cache is not None:
        run.verdict = run.cache.get(_verdict_key(run.cache), BanditVerdict)
        if run.verdict is None and not todo:  # only a bandit run tells what bandit thinks of its configuration
            first = run.files[0]
            source = _read(first.path) or b""
            del run.known[first.rel]
            todo.append((first, source))
            run.keys[first.rel] = run.cache.key(_target(first), source)
    base = [sys.executable, "-I", "-m", module, "-f", "json", "-q", *settings]
    _launch_all(run, todo, base, config, argv_budget)
    return run


def _target(f: SourceFile) -> str:
    return f"./{f.rel}"  # "./" also keeps a file named "-x.py" from reading as an option


def _verdict_key(cache: Cache) -> str:
    return cache.key("", b"")  # no file has an empty path: the key of the configuration alone


def _too_large(f: SourceFile) -> bool:
    try:
        return f.path.stat().st_size > MAX_BYTES
    except OSError:
        return False  # bandit says why it cannot read it, as we do


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None  # not cached: bandit says why it cannot read it


def _open_cache(config: Config, module: str, settings: list[str]) -> Cache:
    """The cache of bandit's answers for this bandit configuration (its content), bandit and Python."""
    table = _bandit_table(config.source) if "-c" in settings and config.source is not None else None
    ini = _read(config.root / ".bandit") if "--ini" in settings else None
    python = (sys.implementation.name, *sys.version_info[:2])  # bandit parses with this Python's `ast`
    return Cache.open(config.root / config.cache_dir, "bandit", module, bandit_version(module), _plugins(), python,
                      settings[0::2], repr(table), ini, suffix=".bandit")


def _plugins() -> tuple[tuple[str, str, str], ...]:
    """bandit's tests as installed: another package can add some, and then bandit reports more."""
    from importlib import metadata

    groups = ("bandit.plugins", "bandit.blacklists")
    return tuple(sorted((ep.group, ep.name, ep.value) for group in groups for ep in metadata.entry_points(group=group)))


def bandit_config_args(config: Config) -> list[str]:
    """The project's own bandit configuration, passed explicitly."""
    args: list[str] = []
    if config.source is not None and config.source.suffix == ".toml" and _bandit_table(config.source) is not None:
        args += ["-c", str(config.source)]
    ini = config.root / ".bandit"
    if ini.is_file():
        args += ["--ini", str(ini)]
    return args


def _bandit_table(pyproject: Path) -> dict[str, Any] | None:
    try:
        with pyproject.open("rb") as fh:
            return tomllib.load(fh).get("tool", {}).get("bandit")
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # the config loader has already reported a file it cannot read


def _argv_cost(args: list[str]) -> int:
    return sum(len(a) + 9 for a in args)  # the string, its NUL and its pointer


def _launch_all(run: BanditRun, todo: list[tuple[SourceFile, bytes]], base: list[str], config: Config, argv_budget: int) -> None:
    """Start bandit on `todo`: in parts of about equal size, one per job, each in as few command lines as fit."""
    if not todo:
        return
    room = argv_budget - _argv_cost([*base, "-o", os.path.join(tempfile.gettempdir(), "p21-bandit-xxxxxxxx.json")])
    # bandit reads lone-CR line endings (old Mac) wrongly: its `# nosec` scan sees one long line, or a syntax error
    # where they mix with others. It gets a copy with the newlines Python itself reads there, at the same path.
    lone_cr = [(f, source) for f, source in todo if _has_lone_cr(source) and not f.rel.startswith("../")]
    copied = {f.rel for f, _ in lone_cr}
    plain = [(f, source) for f, source in todo if f.rel not in copied]
    # the libcst pool runs at the same time on every core, with about bandit's amount of work: half the cores each
    # (on 2 cores a second bandit process only adds its start-up: measured, lnbits, 17 s of CPU against 19 s)
    workers = max(1, (config.jobs or os.cpu_count() or 1) // 2)
    for part in _split([(_target(f), len(source)) for f, source in plain], workers):
        for batch in _batches(part, room):
            run.chunks.append(_launch(base, batch, config.root))
    if lone_cr:
        run.scratch = tempfile.TemporaryDirectory(prefix="p21-bandit-")
        folder = Path(run.scratch.name)
        for f, source in lone_cr:
            copy = folder / f.rel
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(source.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        for batch in _batches([_target(f) for f, _ in lone_cr], room):
            run.chunks.append(_launch(base, batch, folder))


def _has_lone_cr(source: bytes) -> bool:
    return source.count(b"\r") != source.count(b"\r\n")


def _split(targets: list[tuple[str, int]], workers: int) -> list[list[str]]:
    """The targets in up to `workers` parts of about equal size (each file onto the lightest part, largest first),
    fewer where there is too little code to pay for another process."""
    count = max(1, min(workers, sum(size for _, size in targets) // SPLIT_BYTES))
    parts: list[list[str]] = [[] for _ in range(count)]
    loads = [0] * count
    for target, size in sorted(targets, key=lambda t: (-t[1], t[0])):
        lightest = loads.index(min(loads))
        parts[lightest].append(target)
        loads[lightest] += size
    return [sorted(part) for part in parts if part]


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
    """Wait for bandit and turn its JSON (and the cached answers) into the security gate's result and tool errors.
    A bandit finding that a p21 finding in `p21` already reports (B105 beside SEC002 on the same line) is dropped:
    one problem, one line."""
    reports, failures, stderr = [], [], []
    try:
        for chunk in run.chunks:
            data, failure, chunk_stderr = _collect(chunk, run.module)
            if failure:
                failures.append(failure)
            else:
                reports.append(data)
            stderr.append(chunk_stderr)
    finally:
        _cleanup(run)
    if failures:
        errors = [ToolError("bandit", "", message) for message in dict.fromkeys(failures)]
        return GateResult("security", Status.ERROR, note="bandit could not run"), errors
    answers = {**run.known, **_answers(reports, run)}
    verdict = run.verdict or BanditVerdict()
    if run.chunks:
        verdict = _verdict("\n".join(stderr))
    if run.cache is not None:
        for rel, key in run.keys.items():
            if rel in answers:
                run.cache.put(key, answers[rel])
        if run.chunks:
            run.cache.put(_verdict_key(run.cache), verdict)
    return _gate(answers, run, config, _config_errors(verdict, run), p21)


def cancel(run: BanditRun) -> None:
    """Stop bandit and remove its files: the check failed before the gate could be read."""
    for chunk in run.chunks:
        if chunk.process is not None and chunk.process.poll() is None:
            chunk.process.kill()
            chunk.process.wait()
        if chunk.stderr is not None:
            chunk.stderr.close()
        Path(chunk.output).unlink(missing_ok=True)
    _cleanup(run)


def _cleanup(run: BanditRun) -> None:
    if run.scratch is not None:
        run.scratch.cleanup()
        run.scratch = None


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


def _answers(reports: list[dict[str, Any]], run: BanditRun) -> dict[str, BanditFile]:
    """bandit's reports split by file: each file bandit was given this run gets its answer."""
    def rel(name: Any) -> str:
        normal = os.path.normpath(str(name))
        return run.by_path.get(normal, Path(normal).as_posix())

    results: dict[str, list[dict[str, Any]]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    metrics: dict[str, dict[str, Any]] = {}
    for data in reports:
        for result in data.get("results", []):
            results[rel(result.get("filename", ""))].append(result)
        for error in data.get("errors", []):
            errors[rel(error.get("filename", ""))].append(str(error.get("reason", "unknown error")))
        for name, counts in data.get("metrics", {}).items():
            if name != "_totals" and isinstance(counts, dict):
                metrics[rel(name)] = counts
    given = [f.rel for f in run.files if f.rel not in run.known]
    answers = {}
    for path in {*given, *results, *errors, *metrics}:
        ordered = sorted(results[path], key=lambda r: (r.get("line_number", 0), r.get("col_offset", 0), r.get("test_id", "")))
        occurrences: Counter = Counter()
        counts = metrics.get(path)
        answers[path] = BanditFile(
            scanned=counts is not None,
            findings=tuple(to_finding(result, path, occurrences) for result in ordered),
            errors=tuple(errors[path]),
            nosec=_count(counts, "nosec"),
            skipped_tests=_count(counts, "skipped_tests"),
        )
    return answers


def _count(counts: dict[str, Any] | None, name: str) -> int:
    value = (counts or {}).get(name, 0)
    return value if isinstance(value, int) else 0


def _verdict(stderr: str) -> BanditVerdict:
    return BanditVerdict(tuple(sorted(set(_UNKNOWN_TEST.findall(stderr)))), _BAD_INI in stderr)


def _config_errors(verdict: BanditVerdict, run: BanditRun) -> list[ToolError]:
    """bandit only warns about these (and then skips nothing, or ignores every setting): we refuse them."""
    where = run.config_files[0] if run.config_files else ""
    errors = [
        ToolError("bandit", where, f"the bandit configuration names `{test}`, which is not a bandit test id (e.g. B101): fix or remove it")
        for test in verdict.unknown_tests
    ]
    if verdict.unreadable_ini:
        ini = next((c for c in run.config_files if c.endswith(".bandit")), ".bandit")
        errors.append(ToolError("bandit", ini, "bandit cannot read this file (an ini file with a `[bandit]` section, e.g. "
                                               "`[bandit]` then `skips = B101,B601`), so it would run without any of "
                                               "its settings: fix it or remove it"))
    return errors


def _gate(
    answers: dict[str, BanditFile], run: BanditRun, config: Config, config_errors: list[ToolError], p21: Sequence[Finding] = ()
) -> tuple[GateResult, list[ToolError]]:
    paths = sorted(answers)
    errors = config_errors + [ToolError("bandit", path, _bandit_error(reason)) for path in paths for reason in answers[path].errors]
    severity_min, confidence_min = Level.parse(config.bandit_severity), Level.parse(config.bandit_confidence)
    findings, below, test_asserts = [], 0, 0
    tests = {f.rel for f in run.files if f.is_test}
    for finding in (finding for path in paths for finding in answers[path].findings):
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
    scanned = sum(answer.scanned for answer in answers.values())
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
        "nosec": sum(answer.nosec for answer in answers.values()),
        "skipped_tests": sum(answer.skipped_tests for answer in answers.values()),
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
