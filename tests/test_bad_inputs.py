"""Bad inputs through the real command line: each gives a clear tool error or a finding, the rest of the report
survives, the exit code is 2 where anything was not analysed, and no traceback reaches the user.

One project holds the whole matrix beside a witness file with a finding; it is checked once in-process (CliRunner)
and once as a real process with bandit and the process pool. Cases other tests already hold are not repeated here:
a syntax error (test_cli.py), a crashing rule (test_engine.py), a folder symlink loop (test_files.py), a config typo
or wrong type (test_cli.py), coverage data of the wrong kind through the gate's API (test_coverage_gate.py), bandit
missing or rejecting its config (test_security_gate.py).
"""

from __future__ import annotations

import codecs
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from p21_lint.cli import main

# ERR001 at 4:5; bandit's B110 there is reported once, as ERR001, and its B101 two lines below
SWALLOW = b"def load(path):\n    try:\n        return read(path)\n    except Exception:\n        pass\n    assert path\n"
WITNESS = "app/witness.py"
MIB = 1024 * 1024


def nested(depth: int, opening: str, closing: str) -> bytes:
    return f"x = {opening * depth}1{closing * depth}\n".encode()


def nested_ifs(depth: int) -> bytes:
    return "".join(" " * i + "if x:\n" for i in range(depth)).encode() + b" " * depth + b"pass\n"


def big_docstring(megabytes: float) -> tuple[bytes, int]:
    """A module docstring of `megabytes` MiB, and how many lines it takes."""
    lines = int(megabytes * MIB) // 1000
    return b'DOC = """\n' + (b"x" * 999 + b"\n") * lines + b'"""\n', lines + 2


# Files that cannot be analysed: (content, error source, what the message says).
NOT_ANALYSED = {
    "latin-1 without a coding cookie": (b'# prices\nNAME = "caf\xe9"\n', "parse", "cannot be decoded as utf-8: invalid continuation byte at line 2"),
    "a BOM and another declared encoding": (codecs.BOM_UTF8 + b"# -*- coding: latin-1 -*-\nx = 1\n", "parse", "byte-order mark but declares another encoding"),
    "NUL bytes": (b"x = 1\ny = 2\x00\n", "parse", "contains a NUL byte at line 2"),
    "UTF-16": ("x = 1\n".encode("utf-16"), "parse", "contains a NUL byte at line 1"),
    # past CPython's own limits: never handed to libcst, whose native parser would take the process down
    "5000 nested parentheses": (nested(5000, "(", ")"), "parse", "too deeply nested for Python to parse: too many nested parentheses"),
    "5000 nested brackets": (nested(5000, "[", "]"), "parse", "too deeply nested for Python to parse: too many nested parentheses"),
    "1000 nested ifs": (nested_ifs(1000), "parse", "too many levels of indentation at line 101"),
    # Python parses it; walking its tree passes the recursion limit
    "1500 chained nots": (SWALLOW.replace(b"pass", b"raise") + b"x = " + b"not " * 1500 + b"y\n", "parse", "too deeply nested to analyse"),
    "over the 10 MiB limit": (b"", "read", "file is 10 MiB, larger than the 10 MiB limit"),  # written below
}

CRLF = SWALLOW.replace(b"\n", b"\r\n")
MIXED = b"import os\r\n\ndef load(path):\r    try:\n        return read(path)\r\n    except Exception:\r        pass\r\n    assert path\n"
DOCSTRING_5MB, DOCSTRING_LINES = big_docstring(5)
# Files that are odd but valid: analysed, with their findings' (line, column).
ANALYSED = {
    "a UTF-8 BOM": (codecs.BOM_UTF8 + SWALLOW, [(4, 5)]),
    "a latin-1 coding cookie": (b'# -*- coding: latin-1 -*-\nNAME = "caf\xe9"\n' + SWALLOW, [(6, 5)]),
    "CRLF line endings": (b'"""A\r\ndocstring."""\r\n' + CRLF, [(6, 5)]),
    "mixed line endings": (MIXED, [(6, 5)]),
    "an empty file": (b"", []),
    "a 5 MB file": (DOCSTRING_5MB + SWALLOW, [(DOCSTRING_LINES + 4, 5)]),
}


def file_name(case: str) -> str:
    return "app/" + "_".join(case.replace("-", " ").split()).lower() + ".py"


@dataclass
class Run:
    exit_code: int
    report: dict
    stderr: str

    def errors(self, path: str) -> list[tuple[str, str]]:
        return [(e["source"], e["message"]) for e in self.report["errors"] if e["path"] == path]

    def findings(self, path: str, source: str = "p21") -> list[tuple[int, int]]:
        return [(f["line"], f["column"]) for f in self.report["findings"] if f["path"] == path and f["source"] == source]

    def gate(self, name: str) -> dict:
        return next(g for g in self.report["gates"] if g["name"] == name)


def write_project(root: Path, files: dict[str, bytes], config: str = "security = false\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[tool.p21-lint]\n" + config, encoding="utf-8")
    for rel, content in {WITNESS: SWALLOW, **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def invoke(*args: object) -> Run:
    result = CliRunner().invoke(main, [str(a) for a in args], env={"NO_COLOR": "1"}, catch_exceptions=False)
    assert "Traceback" not in result.output
    return Run(result.exit_code, json.loads(result.stdout) if "--format" in args else {}, result.stderr)


def check_json(project: Path, *args: object) -> Run:
    return invoke(project, "--format", "json", "--no-cache", "--jobs", "1", *args)


SYMLINKS = hasattr(os, "symlink")
ODD_NAME = os.fsdecode(b"app/caf\xe9.py")
# adjacent t-strings: valid Python 3.14, on which libcst 1.9's node checks raise CSTLogicError (its own bug; the
# per-file pass skips those checks, so it is analysed)
LIBCST_BUG = "app/libcst_bug.py"


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> Path:
    files = {file_name(case): content for case, (content, _, _) in NOT_ANALYSED.items()}
    files[file_name("over the 10 MiB limit")] = b"#" * (10 * MIB + 1)
    files.update({file_name(case): content for case, (content, _) in ANALYSED.items()})
    files.update({f"app/pad_{i}.py": SWALLOW for i in range(6)})  # past INLINE_BELOW files: the pool runs
    files[LIBCST_BUG] = b'GREETING = t"Hello " t"{name}"\n' + SWALLOW
    root = write_project(tmp_path_factory.mktemp("matrix"), files)
    if SYMLINKS:
        (root / "app/loop_a.py").symlink_to("loop_b.py")
        (root / "app/loop_b.py").symlink_to("loop_a.py")
        (root / "app/dangling.py").symlink_to("nowhere.py")
    try:
        (root / ODD_NAME).write_bytes(SWALLOW)  # a POSIX file name is any bytes; macOS and Windows refuse these
    except (OSError, UnicodeEncodeError):
        pass
    return root


@pytest.fixture(scope="module")
def checked(matrix) -> Run:
    return check_json(matrix)


@pytest.mark.parametrize("case", NOT_ANALYSED)
def test_a_file_that_cannot_be_analysed_is_one_clear_tool_error(checked, case):
    _, source, says = NOT_ANALYSED[case]
    [(got_source, message)] = checked.errors(file_name(case))
    assert got_source == source and says in message
    assert checked.findings(file_name(case)) == []


@pytest.mark.parametrize("case", ANALYSED)
def test_an_odd_but_valid_file_is_analysed_with_the_right_lines(checked, case):
    _, expected = ANALYSED[case]
    assert checked.errors(file_name(case)) == []
    assert checked.findings(file_name(case)) == expected


@pytest.mark.skipif(not SYMLINKS, reason="no symlinks on this system")
@pytest.mark.parametrize(
    ("rel", "says"),
    [
        ("app/loop_a.py", "cannot be read: Too many levels of symbolic links"),
        ("app/loop_b.py", "cannot be read: Too many levels of symbolic links"),
        ("app/dangling.py", "cannot be read: No such file or directory"),  # named as found, not by its target
    ],
)
def test_a_symlink_loop_or_dangling_link_is_a_read_error_under_its_own_name(checked, rel, says):
    assert checked.errors(rel) == [("read", says)]


def test_a_file_libcst_fails_on_is_a_parse_error_that_says_so(checked):
    # a later libcst may parse it: then it is checked like any file
    errors = checked.errors(LIBCST_BUG)
    if errors:
        [(source, message)] = errors
        assert source == "parse" and "libcst, the parser p21-lint uses, fails on it (CSTLogicError" in message
    else:
        assert checked.findings(LIBCST_BUG) == [(5, 5)]


def test_a_file_name_that_is_not_utf8_is_a_tool_error_not_a_crash(matrix, checked):
    if not (matrix / ODD_NAME).exists():
        pytest.skip("this file system refuses file names that are not UTF-8")
    # a printable name: every report format, fingerprint and bandit's JSON can carry it
    assert checked.errors("app/caf\\xe9.py") == [("read", "not checked: the file name is not valid UTF-8; rename it")]


def test_the_rest_of_the_report_survives_and_the_run_exits_2(matrix, checked):
    assert checked.exit_code == 2 and checked.report["verdict"] == "error"
    assert checked.stderr == ""
    assert checked.findings(WITNESS) == [(4, 5)]
    assert checked.gate("rules")["status"] == "error"
    on_disk = {p.relative_to(matrix).as_posix() for p in (matrix / "app").iterdir()} - {ODD_NAME}
    reported = {e["path"] for e in checked.report["errors"]} | {f["path"] for f in checked.report["findings"]}
    assert on_disk - reported == {file_name("an empty file")}, "every other file has an error or a finding"


def test_a_real_run_with_bandit_and_the_pool_prints_no_traceback_and_agrees(matrix, checked, tmp_path):
    # the text report on stdout, the JSON one to a file; > 24 files: the process pool runs; bandit runs beside it
    proc = subprocess.run(
        [sys.executable, "-m", "p21_lint", str(matrix), "--no-cache", "--jobs", "2", "--security",
         "--output", f"json:{tmp_path / 'report.json'}"],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 2
    assert proc.stderr == ""
    assert "Verdict: ERROR (exit 2)" in proc.stdout
    assert all(e["path"] in proc.stdout for e in checked.report["errors"])
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [e for e in report["errors"] if e["source"] != "bandit"] == checked.report["errors"]
    assert [f for f in report["findings"] if f["source"] == "p21"] == checked.report["findings"]
    # bandit cannot check the same files, and says so beside us; lone CRs, which it misreads, it gets as Python reads them
    bandit_says = {e["path"] for e in report["errors"] if e["source"] == "bandit"}
    assert {file_name(c) for c in ("NUL bytes", "5000 nested parentheses", "1000 nested ifs")} <= bandit_says
    assert file_name("mixed line endings") not in bandit_says
    # and where it can, it counts lines as we do, whatever the line endings, BOM or coding cookie
    not_ours = {e["path"] for e in report["errors"] if e["source"] != "bandit"}
    expected = {(f["path"], f["line"] + 2) for f in report["findings"] if f["code"] == "ERR001" and f["path"] not in bandit_says}
    bandit_lines = {(f["path"], f["line"]) for f in report["findings"] if f["code"] == "B101" and f["path"] not in not_ours}
    assert bandit_lines == expected and (file_name("mixed line endings"), 8) in bandit_lines
    assert file_name("over the 10 MiB limit") not in bandit_says  # never given to bandit: minutes for nothing


def test_a_file_that_crashes_the_parser_in_a_worker_is_that_files_error(tmp_path):
    # Syntax newer than Python 3.11 sends the file to libcst, whose native parser overflows its stack on 50,000
    # chained operators: a segfault kills the worker, and the files are re-run until the culprit is alone. On a
    # Python that knows the syntax, Python's own parser refuses the nesting first. Either way: that file's error.
    files = {f"app/m{i:02}.py": SWALLOW for i in range(30)}
    files["app/m13.py"] = b"type Pair = tuple[int, int]\nx = " + b"-" * 50_000 + b"1\n"
    project = write_project(tmp_path, files)
    proc = subprocess.run(
        [sys.executable, "-m", "p21_lint", str(project), "--format", "json", "--no-cache", "--jobs", "2"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 2 and proc.stderr == ""
    report = json.loads(proc.stdout)
    [error] = report["errors"]
    assert error["path"] == "app/m13.py" and error["source"] in ("crash", "parse")
    assert sorted(f["path"] for f in report["findings"]) == sorted({*files, WITNESS} - {"app/m13.py"})


def test_an_unreadable_file_is_a_read_error(tmp_path):
    project = write_project(tmp_path, {"app/secret.py": SWALLOW})
    secret = project / "app/secret.py"
    secret.chmod(0)
    try:
        try:
            secret.read_bytes()
        except PermissionError:
            pass
        else:
            pytest.skip("chmod 000 does not stop this user from reading (root)")
        run = check_json(project)
        assert run.exit_code == 2
        assert run.errors("app/secret.py") == [("read", "cannot be read: Permission denied")]
        assert run.findings(WITNESS) == [(4, 5)]
    finally:
        secret.chmod(0o644)


# -- a bad config: nothing is checked, exit 2, the file and the problem named ----------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'[tool.p21-lint]\nselect = ["ERR"\n', "not valid TOML: Unclosed array"),
        (b'[tool.p21-lint]\n# caf\xe9\nselect = ["ERR"]\n', "not valid TOML: not UTF-8 (invalid continuation byte at line 2)"),
    ],
    ids=["TOML syntax error", "not UTF-8"],
)
def test_a_broken_pyproject_exits_2_naming_the_file(tmp_path, content, says):
    project = write_project(tmp_path, {})
    (project / "pyproject.toml").write_bytes(content)
    run = invoke(project, "--no-cache")
    assert run.exit_code == 2
    assert run.stderr.startswith(f"p21-lint: error: {project / 'pyproject.toml'}: ") and says in run.stderr
    assert "Traceback" not in run.stderr


def test_a_config_option_naming_a_folder_exits_2(tmp_path):
    project = write_project(tmp_path, {})
    run = invoke(project, "--config", project / "app")
    assert run.exit_code == 2 and run.stderr == f"p21-lint: error: {project / 'app'}: no such config file\n"


# -- coverage data that is corrupt or not coverage data, through the CLI: the other gates still report ---------------


def sqlite_without_coverage(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("create table orders (id integer)")
    db.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.write_bytes(bytes(range(256)) * 16), "not coverage data"),
        (lambda p: p.write_bytes(b""), "not coverage data"),
        (sqlite_without_coverage, "holds no measured files; was it made for this project?"),
    ],
    ids=["random bytes", "empty file", "a SQLite database of something else"],
)
def test_bad_coverage_data_is_a_coverage_error_and_the_rules_still_report(tmp_path, make, says):
    project = write_project(tmp_path, {})
    make(project / "data.cov")
    run = check_json(project, "--min-coverage", "80", "--coverage-data", project / "data.cov")
    assert run.exit_code == 2 and run.stderr == ""
    [error] = run.report["errors"]
    assert error["source"] == "coverage" and says in error["message"]
    assert run.gate("coverage")["status"] == "error"
    assert run.gate("rules")["status"] == "fail" and run.findings(WITNESS) == [(4, 5)]


def test_deep_unary_chains_are_parsed_or_refused_clearly_by_each_python(tmp_path):
    """`x = ------...1` (5000 signs): Python 3.11 refuses it (recursion during ast construction), 3.10 and 3.13
    parse it. Either way one file's answer: a clear parse error, or a normal check, never a crash."""
    root = write_project(tmp_path, {"app/unary.py": b"x = " + b"-" * 5000 + b"1\n", "app/other.py": SWALLOW})
    run = check_json(root)
    errors = run.errors("app/unary.py")
    assert errors in ([], [("parse", errors[0][1] if errors else "")])
    if errors:
        assert "too deeply nested" in errors[0][1]
    assert [f["code"] for f in run.report["findings"] if f["path"] == "app/other.py"] == ["ERR001"]


def test_python_dash_m_in_the_project_root_never_imports_the_project_s_modules(tmp_path):
    """A project whose root holds modules named like p21-lint's or bandit's dependencies (yaml, click, libcst)."""
    marker = tmp_path / "imported"
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\n")
    for name in ("yaml", "click", "libcst", "stevedore"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write('{name} ')\n")
    for i in range(30):  # past INLINE_BELOW: the pool's workers too
        (tmp_path / f"mod_{i}.py").write_text("import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n")

    proc = subprocess.run([sys.executable, "-m", "p21_lint", "check", ".", "--no-cache", "--format", "json"],
                          cwd=tmp_path, capture_output=True, timeout=300, check=False)

    assert not marker.exists(), marker.read_text()
    assert proc.returncode == 1, proc.stderr.decode(errors="replace")
    assert '"code": "B602"' in proc.stdout.decode()
