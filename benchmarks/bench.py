"""Speed and memory of p21-lint against bandit, ruff and Fixit on real code, side by side in one run.

    python benchmarks/bench.py                 # all corpora, 3 runs each
    python benchmarks/bench.py --corpus lnbits --runs 5

Corpora come from the package index (sources of released packages) and are unpacked outside this repository
(~/.cache/p21-lint-bench, or $P21_BENCH_CORPORA): inside it, git would ignore them and p21-lint with them. Tools
run as subprocesses of this interpreter's environment, except Fixit, which gets a virtualenv of its own under the
corpora folder (it pins click below what p21-lint's tests use, so it must not share our environment). Wall time
is the median of --runs rounds (each command once per round, so ratios compare runs made at the same time); peak memory is the largest resident set of the tool's process tree at any one wait
(wait4's ru_maxrss: the largest single process, so a process pool's workers are not summed). Ratios are against
bandit measured in the same run: they hold across machines where seconds do not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPORA = Path(os.environ.get("P21_BENCH_CORPORA", Path.home() / ".cache" / "p21-lint-bench"))
# name: (requirement, folder inside the unpacked distribution that holds the code)
SOURCES = {
    "lnbits": ("lnbits==1.6.2", "lnbits"),  # a FastAPI backend (Lightning wallet), mid-size
    "django": ("django==5.2.19", "django"),  # the largest Python web codebase on the index
}


def fetch(name: str) -> Path:
    requirement, inner = SOURCES[name]
    target = CORPORA / requirement.replace("==", "-")
    if target.is_dir():
        return target / inner
    CORPORA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp, requirement], check=True)
        (archive,) = Path(tmp).iterdir()
        unpack = Path(tmp) / "unpacked"
        if archive.suffix == ".whl" or archive.suffix == ".zip":
            zipfile.ZipFile(archive).extractall(unpack)
            root = unpack
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(unpack, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(unpack)  # nosec B202
            root = next(unpack.iterdir())
        shutil.move(str(root), target)
    # a pyproject of its own so p21-lint treats the corpus as the project (and keeps its cache there)
    (target / "pyproject.toml").write_text("[tool.p21-lint]\n", encoding="utf-8")
    return target / inner


def count_lines(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*.py")]
    return len(files), sum(p.read_bytes().count(b"\n") for p in files)


def run(cmd: list[str], cwd: Path) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (MiB) and exit code of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # nosec B603
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


FIXIT = CORPORA / "fixit-venv" / ("Scripts" if os.name == "nt" else "bin") / "python"


def ensure_fixit() -> bool:
    if not FIXIT.exists() and subprocess.run([sys.executable, "-m", "venv", str(FIXIT.parent.parent)]).returncode != 0:
        return False
    if subprocess.run([FIXIT, "-m", "fixit", "--version"], capture_output=True).returncode == 0:
        return True
    return subprocess.run([FIXIT, "-m", "pip", "install", "--quiet", "fixit"]).returncode == 0


def commands(code: Path, project: Path) -> dict[str, tuple[list[str], bool]]:
    """name -> (argv, whether the p21 cache must be empty before each run)."""
    py = sys.executable
    rel = str(code.relative_to(project))
    return {
        "p21-lint full gate, cold": ([py, "-m", "p21_lint", rel, "--exit-zero"], True),
        "p21-lint full gate, warm": ([py, "-m", "p21_lint", rel, "--exit-zero"], False),
        "p21-lint rules only, cold": ([py, "-m", "p21_lint", rel, "--no-security", "--exit-zero"], True),
        "bandit alone": ([py, "-m", "bandit", "-q", "-r", rel, "-f", "json", "-o", os.devnull], False),
        "ruff --select S": ([py, "-m", "ruff", "check", "--no-cache", "--select", "S", "--exit-zero", "--quiet", rel], False),
        "fixit (built-in rules)": ([str(FIXIT), "-m", "fixit", "lint", rel], False),
    }


def bench(name: str, runs: int, with_fixit: bool) -> None:
    code = fetch(name)
    project = code.parent
    files, lines = count_lines(code)
    print(f"\n## {SOURCES[name][0]}: {files} files, {lines:,} lines ({os.cpu_count()} CPUs)\n")
    todo = {label: spec for label, spec in commands(code, project).items() if with_fixit or "fixit" not in label}
    for label, (cmd, _) in todo.items():
        if label.startswith("p21-lint"):  # a run that checks nothing would be fast for the wrong reason
            check = subprocess.run([*cmd[:-1], "--format", "json"], cwd=project, capture_output=True, text=True)
            files_checked = json.loads(check.stdout)["metrics"]["files"] if check.stdout else 0
            if files_checked != files:
                raise SystemExit(f"{label}: checked {files_checked} of {files} files: {check.stderr[-500:]}")
        else:
            run(cmd, project)  # untimed: the files in the OS cache for every tool alike
    # Round by round, every command once per round: a shared machine's speed drifts over minutes, and a ratio is
    # only fair between runs made at the same time. The warm run follows the cold full gate of its round.
    times: dict[str, list[float]] = {label: [] for label in todo}
    peaks: dict[str, int] = dict.fromkeys(todo, 0)
    for _ in range(runs):
        for label, (cmd, cold) in todo.items():
            if cold:
                shutil.rmtree(project / ".p21_cache", ignore_errors=True)
            seconds, peak, _code = run(cmd, project)
            times[label].append(seconds)
            peaks[label] = max(peaks[label], peak)
    bandit = times["bandit alone"]
    print(f"| {'command':<28} | {'median s':>8} | {'x bandit':>8} | {'lines/s':>9} | {'peak MiB':>8} |")
    print(f"|{'-' * 30}|{'-' * 10}|{'-' * 10}|{'-' * 11}|{'-' * 10}|")
    for label, seconds in times.items():
        median = statistics.median(seconds)
        ratio = statistics.median(t / b for t, b in zip(seconds, bandit))  # per round, then the median
        print(f"| {label:<28} | {median:>8.2f} | {ratio:>8.2f} | {lines / median:>9,.0f} | {peaks[label]:>8} |")
    cold, warm = times["p21-lint full gate, cold"], times["p21-lint full gate, warm"]
    warm_share = statistics.median(w / c for w, c in zip(warm, cold))
    cold_ratio = statistics.median(c / b for c, b in zip(cold, bandit))
    print(f"\nwarm / cold: {warm_share:.1%}  (target <= 10%);  cold / bandit: {cold_ratio:.2f}  (target <= 1.2)")
    print("(ratios: the median of each round's ratio)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=sorted(SOURCES), action="append")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-fixit", action="store_true", help="skip Fixit (slow: minutes on Django)")
    args = parser.parse_args()
    with_fixit = not args.no_fixit and ensure_fixit()
    for name in args.corpus or sorted(SOURCES, key=lambda n: n != "lnbits"):
        bench(name, args.runs, with_fixit)


if __name__ == "__main__":
    main()
