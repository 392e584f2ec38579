"""bandit's checks on one file, in this process: the work a `bandit` command does per file, without the command.

The per-file pass runs this beside the libcst rules, in the same worker and on the same bytes (engine/pool.py), so
bandit costs neither a process start nor a second read, and its work is shared out over every core with ours.

`load` sets bandit up as its command line would when run in the project root as `bandit -c pyproject.toml --ini
.bandit ./file.py ...`: the `[tool.bandit]` table (or the `.bandit` file's `configfile`), the `.bandit` file's
`tests`, `skips`, `profile`, `exclude` and `ignore-nosec`, and bandit's default excludes. `.bandit` options that
would change what the gate reports by bandit's own means (`baseline`, `level`, `confidence`) are refused, since
p21-lint has its own. tests/test_bandit_scan.py holds this to the real `bandit` command on the same projects.

`scan` is bandit's own per-file step (bandit.core.manager `_parse_file`) with one saving: its `# nosec` comments are
found by tokenizing the file, which costs a fifth of bandit's time, and only files that say `nosec` can have one.

A hard-coded secret bandit found never leaves this module: its message is redacted, its fingerprint is computed from
the flagged line with string literals blanked, and the Finding is `sensitive` (no renderer prints its line).
"""

from __future__ import annotations

import configparser
import hashlib
import importlib
import io
import logging
import os
import re
import sys
import tokenize
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p21_lint.engine.fingerprint import fingerprint
from p21_lint.model import Finding, Level, Location

BANDIT_MODULE = "bandit"
# .bandit options that filter bandit's report by bandit's means: p21-lint has its own, so they are refused
UNSUPPORTED_INI = {"baseline": "--baseline", "level": "bandit-severity", "confidence": "bandit-confidence"}

# hardcoded_password_string / _funcarg / _default: their message quotes the secret
SECRET_TESTS = frozenset({"B105", "B106", "B107"})
_SECRET_WORDS = re.compile(r"pas+wo?r?d|passphrase|\bpwd\b|secret|token|\bkeys?\b|credential", re.IGNORECASE)
_QUOTED_TAIL = re.compile(r"""(:\s*)(['"]).*\2\s*$""", re.DOTALL)  # "Possible hardcoded password: 'hunter2'"
_STRING = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")


@dataclass(frozen=True)
class BanditFile:
    """What bandit said about one file: enough to rebuild the gate as if it ran again, and never a secret."""

    scanned: bool  # False: the bandit configuration's `exclude_dirs` (or `.bandit`'s `exclude`) left the file out
    findings: tuple[Finding, ...] = ()  # every result, before thresholds and ignores; secrets already redacted
    errors: tuple[str, ...] = ()  # bandit's reasons it could not check the file
    nosec: int = 0
    skipped_tests: int = 0


@dataclass(frozen=True)
class BanditVerdict:
    """What we make of the bandit configuration: bandit only warns about these where we refuse them."""

    unknown_tests: tuple[str, ...] = ()  # test ids in `skips` / `tests` that bandit does not have
    unreadable_ini: bool = False  # the `.bandit` file: bandit then runs without any of its settings
    unsupported_ini: tuple[str, ...] = ()  # `.bandit` options p21-lint refuses (UNSUPPORTED_INI)


@dataclass(frozen=True)
class BanditSettings:
    """Where the project's bandit configuration is: all a worker needs to `load` bandit as the project set it."""

    root: str
    config_file: str | None  # the pyproject.toml with a [tool.bandit] table
    ini: str | None  # the `.bandit` file at the root
    module: str = BANDIT_MODULE
    contents: str = ""  # a digest of the configuration bandit reads (settings_for): its cache key, and reloads here


class BanditUnavailable(Exception):
    """bandit cannot run at all (not installed, or its configuration is unusable): the message says why."""


@dataclass
class Bandit:
    """bandit set up for one project: its configuration, the tests it runs and the files it leaves out."""

    settings: BanditSettings
    verdict: BanditVerdict
    tests: Any  # bandit.core.test_set.BanditTestSet
    excluded: tuple[str, ...]  # path globs and substrings, as bandit's `discover_files` matches them
    ignore_nosec: bool
    test_ids: dict[str, str]  # plugin name -> test id, to name a test that crashed
    api: Any  # the bandit modules `scan` uses


_LOADED: dict[BanditSettings, Bandit] = {}  # per process; a forked pool worker inherits its parent's


class _Crashes(logging.Handler):
    """bandit's tests that raised on the file being scanned: bandit logs them (`Bandit internal error running: ...`)
    and goes on, so the file was not fully checked."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "bandit.core.tester":
            self.messages.append(record.getMessage().split("Traceback", 1)[0].strip())


_CRASH = re.compile(r"running: (?P<test>\S+) on file .* at line (?P<line>\d+): (?P<error>.*)", re.DOTALL)


def _crash_reason(message: str, test_ids: dict[str, str]) -> str:
    """bandit's log line about a test that raised, as a reason fit for the user."""
    match = _CRASH.search(message)
    if not match:
        return f"one of its tests crashed, so the file is not fully checked ({message})"
    test = match["test"]
    skip = f" (`skips = [\"{test_ids[test]}\"]` in [tool.bandit] stops running it)" if test in test_ids else ""
    return (f"its test {test} crashed at line {match['line']} ({match['error'].strip()}), a bug in bandit, so that test "
            f"did not check this file; its other tests did{skip}")


_CRASHES = _Crashes()


def load(settings: BanditSettings) -> Bandit:
    """bandit, set up for `settings` once per process. Raises BanditUnavailable."""
    if settings not in _LOADED:
        _LOADED[settings] = _load(settings)
    return _LOADED[settings]


def _load(settings: BanditSettings) -> Bandit:
    try:
        # On import bandit loads its plugins, and stevedore logs an error for each that cannot load (the SARIF
        # formatter without its extra), its tester replaces warnings' formatter for the whole process, and its
        # plugin loader warns about its own arguments: none of it is for our users.
        quiet = logging.root.manager.disable
        logging.disable(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            formatwarning = warnings.formatwarning
            importlib.import_module(settings.module)
            from bandit.cli import main as cli
            from bandit.core import (
                config, constants, docs_utils, extension_loader, manager, meta_ast, metrics, node_visitor, test_set, utils,
            )
            warnings.formatwarning = formatwarning
    except ImportError as exc:
        raise BanditUnavailable(f"bandit is not installed in this environment ({sys.executable}): pip install bandit") from exc
    finally:
        logging.disable(quiet)
    # bandit logs for a terminal: here its warnings (a `# nosec` naming no test, say) would reach the user's stderr,
    # or pytest's log capture, from the middle of a report. Its errors are kept: a test of its that crashed.
    logger = logging.getLogger("bandit")
    logger.propagate = False
    if _CRASHES not in logger.handlers:
        logger.addHandler(_CRASHES)

    ini: dict[str, str] | None = {}
    if settings.ini:
        ini = utils.parse_ini_file(settings.ini)  # None: unreadable, and bandit then ignores the file
    options = ini or {}
    # the command line wins over .bandit, and we pass `-c` only where [tool.bandit] exists
    config_file = settings.config_file or options.get("configfile")
    if config_file and not os.path.isabs(config_file):
        config_file = os.path.join(settings.root, config_file)
    try:
        bandit_config = config.BanditConfig(config_file=config_file)
        profile = cli._get_profile(bandit_config, options.get("profile"), config_file)
    except (utils.ConfigError, utils.ProfileNotFound) as exc:
        raise BanditUnavailable(f"bandit cannot use its configuration: {exc}") from exc
    profile["include"].update(options["tests"].split(",") if options.get("tests") else [])
    profile["exclude"].update(options["skips"].split(",") if options.get("skips") else [])
    both = profile["include"] & profile["exclude"]
    if both:
        raise BanditUnavailable(f"the bandit configuration both selects and skips {', '.join(sorted(both))}: keep one")
    known = extension_loader.MANAGER.check_id
    verdict = BanditVerdict(
        unknown_tests=tuple(sorted(t for t in profile["include"] | profile["exclude"] if not known(t))),
        unreadable_ini=ini is None,
        unsupported_ini=tuple(sorted(k for k in UNSUPPORTED_INI if options.get(k))),
    )
    tests = test_set.BanditTestSet(bandit_config, profile)
    if not tests.tests:
        unknown = "".join(f"; `{t}` is not a bandit test id" for t in verdict.unknown_tests)
        raise BanditUnavailable(f"the bandit configuration (its `tests`, `skips` or profile) selects no test that bandit "
                                f"has, so bandit would check nothing{unknown}: fix it")
    excluded = list(bandit_config.get_option("exclude_dirs") or [])
    for path in (options.get("exclude") or ",".join(constants.EXCLUDE)).split(","):
        excluded.append(os.path.join(path, "*") if os.path.isdir(os.path.join(settings.root, path)) else path)
    api = _Api(manager, meta_ast, metrics, node_visitor, docs_utils)
    test_ids = {name: getattr(p.plugin, "_test_id", "") for name, p in extension_loader.MANAGER.plugins_by_name.items()}
    return Bandit(settings, verdict, tests, tuple(excluded), bool(options.get("ignore-nosec")), test_ids, api)


@dataclass(frozen=True)
class _Api:
    manager: Any
    meta_ast: Any
    metrics: Any
    node_visitor: Any
    docs_utils: Any


def scan_file(settings: BanditSettings, rel: str, source: bytes) -> BanditFile:
    """`scan` in a pool worker: bandit is loaded already where the worker was forked from the process that planned
    the run (gates/security.py `ready`), and loaded here once otherwise."""
    try:
        return scan(load(settings), rel, source)
    except BanditUnavailable as exc:
        return BanditFile(scanned=True, errors=(str(exc),))


def scan(bandit: Bandit, rel: str, source: bytes) -> BanditFile:
    """bandit's answer for one file of the project, `source` being its bytes."""
    api = bandit.api
    if not api.manager._is_file_included(f"./{rel}", [], list(bandit.excluded), enforce_glob=False):
        return BanditFile(scanned=False)
    if source.count(b"\r") != source.count(b"\r\n"):
        # bandit misreads lone-CR line endings (old Mac): its `# nosec` scan sees one long line, or a syntax error
        # where they mix with others. It gets the newlines Python itself reads there.
        source = source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    name = os.path.join(bandit.settings.root, rel)
    counts = api.metrics.Metrics()
    counts.begin(name)
    data = io.BytesIO(source)
    _CRASHES.messages.clear()
    try:
        nosec = {} if bandit.ignore_nosec else _nosec_lines(source, api.manager._parse_nosec_comment)
        visitor = api.node_visitor.BanditNodeVisitor(name, data, api.meta_ast.BanditMetaAst(), bandit.tests, False, nosec, counts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings (invalid escapes) are not ours to print
            visitor.process(source)
    except SyntaxError:
        return BanditFile(scanned=True, errors=("syntax error while parsing AST from file",))
    except Exception as exc:  # bandit's own words, and what went wrong, which it logs only in debug mode
        return BanditFile(scanned=True, errors=(f"exception while scanning file ({type(exc).__name__}: {exc})",))
    issues = sorted(({**issue.as_dict(with_code=False), "more_info": api.docs_utils.get_url(issue.test_id)}
                     for issue in visitor.tester.results), key=lambda r: (r["line_number"], r["col_offset"], r["test_id"]))
    lines = _lines(source) if issues else []
    occurrences: Counter = Counter()
    return BanditFile(
        scanned=True,
        findings=tuple(to_finding(issue, rel, lines, occurrences) for issue in issues),
        errors=tuple(_crash_reason(message, bandit.test_ids) for message in _CRASHES.messages),
        nosec=counts.current["nosec"],
        skipped_tests=counts.current["skipped_tests"],
    )


def _nosec_lines(source: bytes, parse_comment: Any) -> dict[int, Any]:
    """bandit's `# nosec` comments by line. A comment without `nosec` maps to None, which bandit reads as no
    comment at all: a file that never says `nosec` need not be tokenized."""
    if b"nosec" not in source:
        return {}
    found = {}
    try:
        for token in tokenize.tokenize(io.BytesIO(source).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = parse_comment(token.string)
    except tokenize.TokenError:
        pass  # as bandit: the comments before the error count
    return found


def _lines(source: bytes) -> list[str]:
    """The file's lines as bandit quotes them (Python's decoding, universal newlines)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return []
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def to_finding(result: dict[str, Any], path: str, lines: list[str], occurrences: Counter) -> Finding:
    """One bandit result as a Finding; a secret it names stays out of the message and the fingerprint."""
    code = str(result.get("test_id", "B000"))
    text = str(result.get("issue_text", ""))
    line = int(result.get("line_number", 1) or 1)
    line_range = result.get("line_range") or [line]
    flagged = {n: _text(lines, n) for n in line_range}
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


def _text(lines: list[str], number: int) -> str:
    """Line `number`, up to any other character Python's str.splitlines breaks at (\\f, \\x1c...), as the
    excerpt of bandit's report read line by line had it: fingerprints made from bandit's JSON still match."""
    if not 0 < number <= len(lines):
        return ""
    parts = lines[number - 1].splitlines()
    return parts[0] if parts else ""


def redact(text: str, flagged: dict[int, str]) -> str:
    """bandit's message without the secret it quotes: "Possible hardcoded password: '***'"."""
    redacted, count = _QUOTED_TAIL.subn(r"\1\2***\2", text)
    if count:
        return redacted
    for literal in _STRING.findall("\n".join(flagged.values())):  # an unfamiliar message: blank every literal
        if literal[1:-1]:
            text = text.replace(literal[1:-1], "***")
    return text


def _level(text: Any) -> Level:
    return Level.__members__.get(str(text).upper(), Level.LOW)  # bandit's UNDEFINED ranks lowest


def plugins() -> tuple[tuple[str, str, str], ...]:
    """bandit's tests as installed: another package can add some, and then bandit reports more."""
    from importlib import metadata

    groups = ("bandit.plugins", "bandit.blacklists")
    return tuple(sorted((ep.group, ep.name, ep.value) for group in groups for ep in metadata.entry_points(group=group)))


def settings_for(root: Path, config_file: Path | None, table: dict[str, Any] | None,
                 module: str = BANDIT_MODULE) -> BanditSettings:
    """`config_file`: the pyproject.toml whose [tool.bandit] is `table`. `contents` covers all that bandit reads of its
    configuration: that table, the `.bandit` file and the config file that `.bandit` may name (`configfile`)."""
    ini = root / ".bandit"
    digest = hashlib.sha256(repr(table).encode() + b"\0")
    if ini.is_file():
        digest.update(_bytes(ini) + b"\0")
        named = _ini_configfile(ini) if config_file is None else None  # the command line's -c wins
        if named:
            digest.update(_bytes(root / named))
    return BanditSettings(str(root), str(config_file) if config_file else None, str(ini) if ini.is_file() else None,
                          module, digest.hexdigest())


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""  # bandit says so when it loads


def _ini_configfile(ini: Path) -> str | None:
    parser = configparser.ConfigParser()
    try:
        parser.read(ini)
        return parser.get("bandit", "configfile", fallback=None)
    except (configparser.Error, UnicodeDecodeError):
        return None  # bandit cannot read it either: the verdict says so
