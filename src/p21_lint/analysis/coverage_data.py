"""coverage.py data, read without running anything: `.coverage` (SQLite), `coverage json`, Cobertura XML.

Paths in the data are matched to the checked files by their longest common path suffix (after the project's
`[paths]` remapping), so data made in another checkout, from another working directory or with `relative_files`
still finds its files. For `.coverage` the statements come from coverage.py's own analysis of our copy of the
source (a static parse); for json and XML the numbers are the report's.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree  # nosec B405 - _load_xml refuses entity declarations before parsing

# coverage.py is imported where data is read, so a check without a coverage threshold never pays for it
if TYPE_CHECKING:
    import coverage

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class CoverageDataError(Exception):
    """The data or the project's coverage.py configuration cannot be used: a tool error, never a pass."""


@dataclass(frozen=True, slots=True)
class Numbers:
    statements: int = 0
    missing: int = 0
    branches: int = 0
    missing_branches: int = 0

    def __add__(self, other: Numbers) -> Numbers:
        return Numbers(
            self.statements + other.statements,
            self.missing + other.missing,
            self.branches + other.branches,
            self.missing_branches + other.missing_branches,
        )

    @property
    def covered(self) -> int:
        return self.statements - self.missing + self.branches - self.missing_branches

    @property
    def coverable(self) -> int:
        return self.statements + self.branches

    @property
    def percent(self) -> float:
        """coverage.py's `pc_covered`: statements and branches together; 100 when nothing is coverable."""
        return 100.0 * self.covered / self.coverable if self.coverable else 100.0


@dataclass(frozen=True, slots=True)
class FileCoverage:
    path: str  # the checked file, repo-relative (or the path as recorded, before matching)
    numbers: Numbers
    statements: tuple[int, ...]  # statement line numbers
    missing: tuple[int, ...]  # statements never run
    partial: tuple[int, ...] = ()  # lines that ran but left a branch untaken
    measured: bool = True  # False: absent from the data, counted as all missed

    @property
    def missing_ranges(self) -> str:
        return line_ranges(self.statements, self.missing)

    @property
    def first_missed_line(self) -> int:
        return min((*self.missing, *self.partial), default=1)


@dataclass(frozen=True, slots=True)
class Entry:
    names: tuple[str, ...]  # the path(s) the data may mean (Cobertura: the filename under each <source>)
    report: FileCoverage | None = None  # json / XML: the report's numbers; .coverage: None (analysed on demand)


@dataclass
class Dataset:
    path: Path
    kind: str  # "coverage.py data", "coverage json", "Cobertura XML"
    branch: bool
    entries: tuple[Entry, ...]
    data: coverage.CoverageData | None = None  # .coverage only


@dataclass
class Settings:
    """The project's coverage.py configuration, as `coverage report` run at the project root reads it."""

    root: Path
    config_file: Path | None
    precision: int
    candidates: tuple[str, ...]  # where the data may be: data_file, json output, XML output (root-relative)
    aliases: tuple[tuple[re.Pattern[str], str], ...]  # [paths]: recorded prefix -> local folder
    coverage: coverage.Coverage  # never started; carries the exclusion settings to coverage's parser


def line_ranges(statements: tuple[int, ...], missing: tuple[int, ...]) -> str:
    """`13, 16-18, 22-25`: runs of missed statements, joined across non-statement lines as `coverage report -m`."""
    missed = set(missing)
    runs: list[tuple[int, int]] = []
    start = end = 0
    for line in sorted(statements):
        if line in missed:
            start, end = start or line, line
        elif start:
            runs.append((start, end))
            start = 0
    if start:
        runs.append((start, end))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


# ---- the project's coverage.py settings --------------------------------------------------------------------


def find_config_file(root: Path) -> Path | None:
    """The file coverage.py would read its settings from when run at `root` (its own search order)."""
    if rcfile := os.environ.get("COVERAGE_RCFILE"):
        return Path(rcfile).resolve()
    for name in (".coveragerc", ".coveragerc.toml"):
        if (root / name).is_file():
            return root / name
    for name in ("setup.cfg", "tox.ini"):
        path = root / name
        if path.is_file() and re.search(r"^\[coverage:", path.read_text(encoding="utf-8", errors="replace"), re.MULTILINE):
            return path
    path = root / "pyproject.toml"
    if path.is_file():
        try:
            if "coverage" in tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}):
                return path
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            pass  # config.py has already reported a broken pyproject.toml
    return None


def project_settings(root: Path) -> Settings:
    import coverage
    from coverage.exceptions import CoverageException

    config_file = find_config_file(root)
    try:
        with warnings.catch_warnings():  # coverage warns about unknown options: not ours to report
            warnings.simplefilter("ignore")
            cov = coverage.Coverage(data_file=None, config_file=str(config_file) if config_file else False)
        get = cov.get_option
        aliases = tuple(
            (_alias_regex(pattern, root), _local(group[0], root))
            for group in (get("paths") or {}).values()  # type: ignore[union-attr]
            for pattern in group[1:]
        )
        candidates = tuple(str(get(key)) for key in ("run:data_file", "json:output", "xml:output"))
        return Settings(root, config_file, int(get("report:precision") or 0), candidates, aliases, cov)  # type: ignore[arg-type]
    except (CoverageException, ValueError, re.error) as exc:
        where = config_file or root
        raise CoverageDataError(f"{where}: coverage.py configuration cannot be used: {exc}") from None


def _local(path: str, root: Path) -> str:
    path = path.replace("\\", "/").rstrip("/")
    return path if _is_absolute(path) else (root / path).as_posix()


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:[/\\]", path))


def _alias_regex(pattern: str, root: Path) -> re.Pattern[str]:
    """A `[paths]` pattern as coverage.py reads it, but anchored at the project root instead of the working dir."""
    pattern = pattern.rstrip("/\\")
    if not pattern.startswith("*") and not _is_absolute(pattern):
        pattern = posixpath.normpath(f"{root.as_posix()}/{pattern}")
    regex = []
    for piece in re.split(r"(\*\*|\*|\?|[/\\])", pattern):
        regex.append({"**": ".*", "*": r"[^/\\]*", "?": r"[^/\\]", "/": r"[/\\]", "\\": r"[/\\]"}.get(piece) or re.escape(piece))
    return re.compile("".join(regex) + r"[/\\]", re.IGNORECASE)


def remap(name: str, settings: Settings) -> str:
    """`name` through the project's `[paths]`: the first rule whose result exists locally wins, as in coverage.py."""
    for regex, result in settings.aliases:
        if m := regex.match(name):
            mapped = f"{result}/{name[m.end():]}".replace("\\", "/")
            if os.path.exists(mapped):
                return mapped
    return name


# ---- finding and reading the data --------------------------------------------------------------------------


def locate(settings: Settings, explicit: Path | None) -> tuple[Path | None, list[Path]]:
    """The data file to read and every place looked at: `explicit`, else data_file, json output, XML output."""
    places = [explicit] if explicit is not None else [settings.root / c for c in dict.fromkeys(settings.candidates)]
    found = next((p for p in places if p.is_file()), None)
    return found, places


def load(path: Path) -> Dataset:
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
        if head.startswith(b"SQLite format 3\0"):
            return _load_sqlite(path)
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CoverageDataError(f"{path}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        text = ""
    first = text.lstrip()[:1]
    if first == "{":
        return _load_json(path, text)
    if first == "<":
        return _load_xml(path, text)
    raise CoverageDataError(f"{path}: not coverage data (expected a .coverage file, `coverage json` or Cobertura XML)")


def _load_sqlite(path: Path) -> Dataset:
    import coverage
    from coverage.exceptions import CoverageException

    data = coverage.CoverageData(basename=str(path))
    try:
        data.read()
        names = sorted(data.measured_files())
        branch = data.has_arcs()
    except (CoverageException, OSError) as exc:
        raise CoverageDataError(f"{path}: cannot be read as coverage.py data: {exc}") from None
    return Dataset(path, "coverage.py data", branch, tuple(Entry((n,)) for n in names), data)


def _load_json(path: Path, text: str) -> Dataset:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise CoverageDataError(f"{path}: not valid JSON: {exc}") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict):
        raise CoverageDataError(f"{path}: JSON, but not a `coverage json` report (it has no `files` table)")
    meta = doc.get("meta")
    branch = bool(meta.get("branch_coverage")) if isinstance(meta, dict) else False
    entries = []
    for name, item in sorted(files.items()):
        try:
            summary = item["summary"]
            missing = _lines(item["missing_lines"])
            statements = tuple(sorted({*_lines(item.get("executed_lines", ())), *missing}))
            partial = tuple(sorted({int(arc[0]) for arc in item.get("missing_branches", ())} - set(missing)))
            numbers = Numbers(
                int(summary["num_statements"]),
                int(summary["missing_lines"]),
                int(summary.get("num_branches", 0)),
                int(summary.get("missing_branches", 0)),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CoverageDataError(f"{path}: `files.{name}` is not in the `coverage json` format ({type(exc).__name__}: {exc})") from None
        entries.append(Entry((name,), FileCoverage(name, numbers, statements, missing, partial)))
    return Dataset(path, "coverage json", branch, tuple(entries))


def _lines(values: Any) -> tuple[int, ...]:
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"expected a list of line numbers, not {type(values).__name__}")
    return tuple(sorted(int(v) for v in values))


_CONDITION = re.compile(r"\((\d+)/(\d+)\)")


def _load_xml(path: Path, text: str) -> Dataset:
    if "<!ENTITY" in text:  # a coverage report never declares entities: refuse to expand any
        raise CoverageDataError(f"{path}: declares XML entities; not a Cobertura report")
    try:
        root = ElementTree.fromstring(text)  # nosec B314 - entity declarations are refused above
    except ElementTree.ParseError as exc:
        raise CoverageDataError(f"{path}: not valid XML: {exc}") from None
    if root.tag != "coverage":
        raise CoverageDataError(f"{path}: XML, but not a Cobertura report (its root is <{root.tag}>, not <coverage>)")
    sources = [s.text.strip().rstrip("/\\") for s in root.iter("source") if s.text and s.text.strip()]
    # filename -> line -> (hits, branches covered, branches); a file may be split over several <class>es
    files: dict[str, dict[int, tuple[float, int, int]]] = {}
    try:
        for cls in root.iter("class"):
            name = cls.get("filename")
            if not name:
                raise ValueError("a <class> without a filename")
            lines = files.setdefault(name, {})
            for line in cls.findall("./lines/line"):
                number, hits = int(line.get("number", "")), float(line.get("hits", "0"))
                covered = total = 0
                if line.get("branch") == "true" and (m := _CONDITION.search(line.get("condition-coverage", ""))):
                    covered, total = int(m[1]), int(m[2])
                seen = lines.get(number, (0.0, 0, 0))
                lines[number] = (max(hits, seen[0]), max(covered, seen[1]), max(total, seen[2]))
    except ValueError as exc:
        raise CoverageDataError(f"{path}: not in the Cobertura format: {exc}") from None

    entries = []
    branch = False
    for name, lines in sorted(files.items()):
        statements = tuple(sorted(lines))
        missing = tuple(n for n in statements if lines[n][0] <= 0)
        partial = tuple(n for n in statements if lines[n][0] > 0 and lines[n][1] < lines[n][2])
        branches = sum(t for _, _, t in lines.values())
        missing_branches = sum(t - c for _, c, t in lines.values())
        branch = branch or branches > 0
        numbers = Numbers(len(statements), len(missing), branches, missing_branches)
        names = (name,) if _is_absolute(name) or not sources else tuple(f"{s}/{name}" for s in sources)
        entries.append(Entry(names, FileCoverage(name, numbers, statements, missing, partial)))
    branch = branch or int(root.get("branches-valid", "0") or 0) > 0
    return Dataset(path, "Cobertura XML", branch, tuple(entries))


# ---- matching recorded paths to the checked files ----------------------------------------------------------


def _parts(path: str) -> tuple[str, ...]:
    normal = posixpath.normpath(path.replace("\\", "/"))
    return tuple(p for p in normal.split("/") if p and p != ".")


def _common_suffix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def match(dataset: Dataset, files: list[str], settings: Settings) -> dict[str, Entry]:
    """Checked file (repo-relative) -> its entry in the data, one to one, longest common path suffix first.

    A match must cover the whole of one of the two paths, or at least a file and its folder: `app/models.py`
    never matches `other/models.py`, and a bare `__init__.py` matches only what nothing closer claims.
    """
    by_name: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    for index, entry in enumerate(dataset.entries):
        for name in entry.names:
            parts = _parts(remap(name, settings))
            if parts:
                by_name.setdefault(parts[-1], []).append((parts, index))
    pairs = []
    for rel in files:
        mine = tuple(rel.split("/"))
        for parts, index in by_name.get(mine[-1], ()):
            n = _common_suffix(parts, mine)
            if n >= 2 or n == len(mine) or n == len(parts):
                pairs.append((-n, rel, index))
    out: dict[str, Entry] = {}
    taken: set[int] = set()
    for _, rel, index in sorted(pairs):
        if rel not in out and index not in taken:
            out[rel] = dataset.entries[index]
            taken.add(index)
    return out


# ---- per-file numbers -------------------------------------------------------------------------------------


def measure(dataset: Dataset, entry: Entry, source: Path, rel: str, settings: Settings) -> FileCoverage:
    """The checked file's coverage: the report's numbers, or coverage.py's analysis of `source` with the data."""
    if entry.report is None and dataset.data is not None:
        return _analyse(dataset.data, entry.names[0], source, rel, settings)
    return replace(entry.report, path=rel)  # type: ignore[type-var]


def unmeasured(source: Path, rel: str, settings: Settings, branch: bool) -> FileCoverage:
    """A file the data never saw: every statement (and branch) missed, counted by coverage.py's parser."""
    import coverage

    empty = coverage.CoverageData(no_disk=True)
    (empty.add_arcs if branch else empty.add_lines)({})  # type: ignore[operator]
    return replace(_analyse(empty, str(source), source, rel, settings), measured=False)


def _analyse(data: coverage.CoverageData, recorded: str, source: Path, rel: str, settings: Settings) -> FileCoverage:
    from coverage.exceptions import CoverageException
    from coverage.python import PythonFileReporter
    from coverage.results import analysis_from_file_reporter

    try:
        reporter = PythonFileReporter(str(source), settings.coverage)
        analysis = analysis_from_file_reporter(data, settings.precision, reporter, recorded)
    except (CoverageException, OSError, SyntaxError, ValueError) as exc:
        raise CoverageDataError(f"coverage.py cannot analyse it: {exc}") from None
    n = analysis.numbers
    missing = tuple(sorted(analysis.missing))
    partial = tuple(sorted(set(analysis.missing_branch_arcs()) - set(missing))) if analysis.has_arcs else ()
    numbers = Numbers(n.n_statements, n.n_missing, n.n_branches, n.n_missing_branches)
    return FileCoverage(rel, numbers, tuple(sorted(analysis.statements)), missing, partial)
