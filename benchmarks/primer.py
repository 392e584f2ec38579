"""The primer: p21-lint over real packages' sources from the package index; any crash or internal error is a bug.

    python benchmarks/primer.py                          # every package below; writes benchmarks/primer-results.md
    python benchmarks/primer.py --package flask --package httpx --no-write

Each package's sdist (sources with their tests: the oddest code a package holds) is downloaded with
`pip download --no-deps --no-binary :all:` and unpacked under ~/.cache/p21-lint-bench/primer (outside the repository, never
committed). p21-lint runs on it as a subprocess, as a user runs it: once with the rules only (`--no-security`)
and once as the full gate with bandit. A crash is an exit code other than 0, 1 and 2, anything on stderr but our
own one-line messages (a traceback), a report that does not load, an internal error, or a tool error from a rule
(`rule:CODE`) or from a worker that died (`crash`). Tool errors of other kinds are the packages' own files that
cannot be analysed (a test fixture with a deliberate syntax error) and are listed, not counted as crashes.
tests/test_fuzz.py runs `check_package` over an installed package's sources in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# outside the repository: inside it, git ignores the corpora and p21-lint (which honours .gitignore) with them
CORPORA = Path(os.environ.get("P21_BENCH_CORPORA", Path.home() / ".cache" / "p21-lint-bench")) / "primer"
RESULTS = HERE / "primer-results.md"
PACKAGES = {  # name: requirement
    "django": "django>=5.2,<5.3",
    "djangorestframework": "djangorestframework",
    "flask": "flask",
    "fastapi": "fastapi",
    "httpx": "httpx",
    "requests": "requests",
    "sqlalchemy": "sqlalchemy",
}
CONFIG = "p21-primer.toml"  # our own config in the package's root: its pyproject.toml is not ours to read
OWN_MESSAGE = "p21-lint: error: "  # what p21-lint itself may print on stderr


@dataclass
class Run:
    """One p21-lint run over one package."""

    seconds: float
    exit_code: int
    findings: Counter = field(default_factory=Counter)  # code -> count (not suppressed)
    errors: list[dict] = field(default_factory=list)  # the report's tool errors
    crashes: list[str] = field(default_factory=list)
    files: int = 0


@dataclass
class Result:
    name: str
    version: str
    files: int
    lines: int
    rules: Run
    gate: Run | None = None

    @property
    def crashes(self) -> list[str]:
        # a run that checked no file (say, every one git-ignored) proves nothing
        unchecked = [f"checked none of {self.files} files" for r in (self.rules, self.gate) if r and self.files and not r.files]
        return self.rules.crashes + (self.gate.crashes if self.gate else []) + unchecked


def fetch(name: str, requirement: str, corpora: Path = CORPORA) -> tuple[str, Path]:
    """The package's version and its unpacked sdist (downloaded once)."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    corpora.mkdir(parents=True, exist_ok=True)
    wanted = Requirement(requirement).specifier
    done = {Version(p.name[len(name) + 1 :]): p for p in corpora.glob(f"{name}-*") if (p / CONFIG).is_file()}
    if fits := sorted(v for v in done if wanted.contains(v)):
        return str(fits[-1]), done[fits[-1]]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "--dest", tmp, requirement],
            check=True,
        )
        (archive,) = Path(tmp).iterdir()
        unpack = Path(tmp) / "unpacked"
        if archive.suffix == ".zip":
            zipfile.ZipFile(archive).extractall(unpack)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(unpack, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(unpack)  # nosec B202
        (root,) = unpack.iterdir()
        version = root.name.rpartition("-")[2]
        target = corpora / f"{name}-{version}"
        if not target.is_dir():
            shutil.move(str(root), target)
    (target / CONFIG).write_text("[tool.p21-lint]\n", encoding="utf-8")
    return version, target


def count_lines(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*.py") if p.is_file()]
    return len(files), sum(p.read_bytes().count(b"\n") for p in files)


def run_p21(folder: Path, *, security: bool, jobs: int | None = None) -> Run:
    """p21-lint over `folder` as a user runs it, and everything that would make the run a crash."""
    (folder / CONFIG).write_text("[tool.p21-lint]\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "p21_lint", str(folder), "--config", str(folder / CONFIG), "--format", "json", "--no-cache",
           "--security" if security else "--no-security"]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env={**os.environ, "NO_COLOR": "1"}, check=False)  # nosec B603
    run = Run(seconds=time.perf_counter() - start, exit_code=proc.returncode)
    stray = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith(OWN_MESSAGE)]
    if proc.returncode not in (0, 1, 2):
        run.crashes.append(f"exit code {proc.returncode}")
    if stray:
        run.crashes.append("stderr: " + "\n".join(stray[-12:]))
    if "internal error" in proc.stderr:
        run.crashes.append(proc.stderr.strip())
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        run.crashes.append(f"no JSON report on stdout ({proc.stdout[:200]!r})")
        return run
    run.files = report.get("metrics", {}).get("files", 0)
    run.findings = Counter(f["code"] for f in report["findings"] if not f.get("suppressed"))
    run.errors = report["errors"]
    run.crashes += [f"[{e['source']}] {e['path']}: {e['message']}" for e in run.errors
                    if e["source"].startswith("rule:") or e["source"] == "crash"]
    return run


def check_package(name: str, version: str, folder: Path, *, security: bool = True, jobs: int | None = None) -> Result:
    files, lines = count_lines(folder)
    result = Result(name, version, files, lines, run_p21(folder, security=False, jobs=jobs))
    if security:
        result.gate = run_p21(folder, security=True, jobs=jobs)
    return result


def render(results: list[Result]) -> str:
    cores = os.cpu_count()
    out = [
        "# Primer results",
        "",
        ("p21-lint over real packages' sources (sdists from the package index, tests included), by "
         "`python benchmarks/primer.py`. A crash is an exit code other than 0/1/2, a traceback on stderr, a report "
         "that does not load, an internal error, or a tool error from a rule (`rule:CODE`) or a dead worker (`crash`). "
         "Seconds are wall time on the machine below, `--no-cache`, default `--jobs`."),
        "",
        (f"Python {platform.python_version()}, {platform.system()} {platform.machine()}, {cores} CPU cores; "
         f"p21-lint {_p21_version()}; {time.strftime('%Y-%m-%d')}."),
        "",
        "| package | version | files | lines | rules only (s) | full gate (s) | exit | crashes | tool errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        gate = f"{r.gate.seconds:.1f}" if r.gate else "-"
        exits = f"{r.rules.exit_code}" + (f" / {r.gate.exit_code}" if r.gate else "")
        errors = f"{len(r.rules.errors)}" + (f" / {len(r.gate.errors)}" if r.gate else "")
        out.append(f"| {r.name} | {r.version} | {r.files:,} | {r.lines:,} | {r.rules.seconds:.1f} | {gate} | {exits} | "
                   f"{len(r.crashes)} | {errors} |")
    out += ["", "Exit and tool errors: rules only / full gate.", "", "## Findings per code (full gate)", ""]
    codes = sorted({c for r in results for c in (r.gate or r.rules).findings})
    out.append("| code | " + " | ".join(r.name for r in results) + " |")
    out.append("|---|" + "---:|" * len(results))
    for code in codes:
        out.append(f"| {code} | " + " | ".join(str((r.gate or r.rules).findings.get(code, 0)) for r in results) + " |")
    out += ["", "## Tool errors", ""]
    for r in results:
        runs = [("rules only", r.rules)] + ([("full gate", r.gate)] if r.gate else [])
        seen = set()
        lines = []
        for label, run in runs:
            for e in run.errors:
                key = (e["source"], e["path"], e["message"])
                if key not in seen:
                    seen.add(key)
                    lines.append(f"- `{e['source']}` {e['path'] or '(project)'}: {_clip(e['message'])}")
        out.append(f"### {r.name} {r.version}: {len(lines)}")
        out += [""] + (lines or ["none"]) + [""]
    out += ["## Crashes", ""]
    crashes = [(r.name, c) for r in results for c in r.crashes]
    out += [f"- {name}: {_clip(c, 600)}" for name, c in crashes] or ["none"]
    return "\n".join(out) + "\n"


def _clip(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _p21_version() -> str:
    from p21_lint import __version__

    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{__version__} ({commit})" if commit else __version__


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", action="append", choices=sorted(PACKAGES), help="only these (repeatable)")
    parser.add_argument("--no-security", action="store_true", help="rules only: skip the full-gate run")
    parser.add_argument("--jobs", type=int, help="passed to p21-lint")
    parser.add_argument("--no-write", action="store_true", help=f"print the results instead of writing {RESULTS.name}")
    args = parser.parse_args()
    results = []
    for name in args.package or PACKAGES:
        version, folder = fetch(name, PACKAGES[name])
        result = check_package(name, version, folder, security=not args.no_security, jobs=args.jobs)
        print(f"{name} {version}: {result.files} files, {result.lines} lines, rules {result.rules.seconds:.1f} s, "
              f"exit {result.rules.exit_code}, {len(result.rules.errors)} tool errors, {len(result.crashes)} crashes",
              file=sys.stderr)
        results.append(result)
    text = render(results)
    if args.no_write:
        print(text)
    else:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"wrote {RESULTS}", file=sys.stderr)
    return 1 if any(r.crashes for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
