"""Determinism: the JSON and SARIF reports are byte-identical across `--jobs 1` / `--jobs 2`, a cold and a warm
cache, and interpreters started with different PYTHONHASHSEEDs.

The project is generated: 40 files (past the pool's inline limit) with findings of several rules and of bandit,
suppressions used and unused, a file that does not parse, routes and a test calling some of them.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import p21_lint
from p21_lint.cli import main
from p21_lint.engine.pool import INLINE_BELOW

TEMPLATES = [
    # ERR001 (bandit's B110 on the same line is reported once, as ERR001)
    """\
    def sync_{i}(items):
        for item in items:
            try:
                item.sync()
            except Exception:
                pass
    """,
    # SQL001 (bandit's B608 on the same line is reported once, as SQL001)
    """\
    def find_{i}(cursor, name):
        cursor.execute(f"SELECT * FROM users_{i} WHERE name = '{{name}}'")
        return cursor.fetchall()
    """,
    # SEC001
    """\
    import jwt


    def peek_{i}(token):
        return jwt.decode(token, options={{'verify_signature': False}})
    """,
    # SEC002 (and bandit's B105, reported once)
    """\
    SECRET_KEY = 'django-insecure-{i}x!b#q2'
    DATABASE_PASSWORD = 'hunter{i}'
    """,
    # SEC003
    """\
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    app_{i} = FastAPI()
    app_{i}.add_middleware(CORSMiddleware, allow_origins=['*'], allow_credentials=True)
    """,
    # SEC005
    """\
    from datetime import datetime, timedelta

    from jose import jwt


    def token_{i}(data, key):
        expire = datetime.utcnow() + timedelta(minutes={i})
        return jwt.encode({{**data, 'exp': expire}}, key)
    """,
    # routes without authentication (AUTH001), some untested (TEST001)
    """\
    from fastapi import APIRouter

    router = APIRouter(prefix='/r{i}')


    @router.get('/items/{{item_id}}')
    def read_{i}(item_id: int):
        return {{'id': item_id}}


    @router.delete('/items/{{item_id}}')
    def delete_{i}(item_id: int):
        return None
    """,
    # bandit alone: B602, B301
    """\
    import pickle
    import subprocess


    def run_{i}(cmd, blob):
        subprocess.call(cmd, shell=True)
        return pickle.loads(blob)
    """,
    # a used and an unused suppression (P21002)
    """\
    def quiet_{i}(job):
        try:
            job()
        except Exception:  # p21: ignore[ERR001]
            pass
    x_{i} = 1  # p21: ignore[SQL001]
    """,
]
FILES = 40


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("determinism")
    (root / "pyproject.toml").write_text("[tool.p21-lint]\n", encoding="utf-8")
    # written in an order unlike the sorted one, in folders that sort differently from their files
    for i in reversed(range(FILES)):
        path = root / "app" / f"pkg{i % 3}" / f"mod_{(i * 7) % FILES:02}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(TEMPLATES[i % len(TEMPLATES)]).format(i=i), encoding="utf-8")
    (root / "app" / "broken.py").write_text("def handler(request:\n    return request\n", encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "test_api.py").write_text(
        "def test_items(client):\n" + "".join(f"    client.get('/r{i}/items/1')\n" for i in range(6, FILES, 16)),
        encoding="utf-8",
    )
    return root


def in_process(project: Path, out: Path, *args: str) -> tuple[bytes, bytes]:
    result = CliRunner().invoke(main, [str(project), "--format", "json", "--output", f"sarif:{out}", *args],
                                env={"NO_COLOR": "1"}, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    return result.stdout_bytes, out.read_bytes()


def in_subprocess(project: Path, out: Path, seed: str, *args: str) -> tuple[bytes, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "p21_lint", str(project), "--format", "json", "--output", f"sarif:{out}", *args],
                          capture_output=True, env=env, timeout=300, check=False)
    assert proc.returncode == 2 and proc.stderr == b"", proc.stderr.decode(errors="replace")
    return proc.stdout, out.read_bytes()


def cache_entries(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*.pickle")}


def test_reports_are_byte_identical_across_jobs_caches_and_hash_seeds(project, tmp_path):
    assert FILES > INLINE_BELOW, "enough files for --jobs 2 to use the pool"
    cache = tmp_path / "cache"
    runs = {
        "jobs 1, no cache": in_process(project, tmp_path / "1.sarif", "--jobs", "1", "--no-cache"),
        "jobs 2, cold cache": in_process(project, tmp_path / "2.sarif", "--jobs", "2", "--cache-dir", str(cache)),
    }
    cold = cache_entries(cache)
    assert len(cold) == FILES + 2  # every file computed once and stored
    runs["jobs 2, warm cache, PYTHONHASHSEED=1"] = in_subprocess(project, tmp_path / "3.sarif", "1", "--jobs", "2", "--cache-dir", str(cache))
    assert cache_entries(cache) == cold, "a warm run from another interpreter must hit the cache for every file"
    runs["jobs 2, cold cache, PYTHONHASHSEED=2"] = in_subprocess(
        project, tmp_path / "4.sarif", "2", "--jobs", "2", "--cache-dir", str(tmp_path / "other-cache"))

    (first_json, first_sarif), *_ = runs.values()
    for name, (json_bytes, sarif_bytes) in runs.items():
        assert json_bytes == first_json, f"JSON differs: {name}"
        assert sarif_bytes == first_sarif, f"SARIF differs: {name}"

    # and the reports hold what makes the comparison mean something
    text = first_json.decode()
    for code in ("ERR001", "SQL001", "SEC001", "SEC002", "SEC003", "SEC005", "AUTH001", "TEST001", "P21002", "B602", "B301"):
        assert f'"code": "{code}"' in text, code
    assert '"path": "app/broken.py"' in text


def test_a_fresh_install_of_the_same_code_reuses_the_cache_and_an_edited_one_does_not(project, tmp_path):
    """A CI job restores the cache folder into a fresh checkout and install: new files, new mtimes, the same code."""
    cache = tmp_path / "cache"
    installed = tmp_path / "site" / "p21_lint"
    shutil.copytree(Path(p21_lint.__file__).parent, installed, copy_function=shutil.copy,  # copies get new mtimes
                    ignore=shutil.ignore_patterns("__pycache__"))

    def run_from(site: Path) -> bytes:
        env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1"}
        proc = subprocess.run([sys.executable, "-m", "p21_lint", str(project), "--format", "json", "--no-security",
                               "--cache-dir", str(cache)], capture_output=True, env=env, timeout=300, check=False)
        assert proc.returncode == 2 and proc.stderr == b"", proc.stderr.decode(errors="replace")
        return proc.stdout

    first = in_process(project, tmp_path / "1.sarif", "--no-security", "--cache-dir", str(cache))[0]
    stored = cache_entries(cache)
    assert run_from(installed.parent) == first
    assert cache_entries(cache) == stored  # nothing computed again

    (installed / "engine" / "walk.py").write_text((installed / "engine" / "walk.py").read_text() + "\n# edited\n")
    assert run_from(installed.parent) == first
    assert len(set(cache_entries(cache)) - set(stored)) == len(stored)  # every file computed again, under new keys


def test_a_warm_run_never_loads_libcst(project, tmp_path):
    """Importing libcst is a third of a re-run whose every answer is cached (p21_lint/cst.py): such a run skips it."""
    cache = tmp_path / "cache"
    args = [str(project), "--format", "json", "--cache-dir", str(cache)]
    cold = in_process(project, tmp_path / "1.sarif", "--cache-dir", str(cache))[0]
    script = ("import sys\nfrom p21_lint.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "print('libcst loaded' if 'libcst' in sys.modules else 'libcst not loaded', file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", script, *args, "--output", f"sarif:{tmp_path / '2.sarif'}"],
                          capture_output=True, timeout=300, check=False)
    assert proc.stdout == cold
    assert proc.stderr.decode().strip() == "libcst not loaded"


def test_workers_started_by_spawn_report_what_forked_ones_do(project, tmp_path):
    """macOS and Windows start pool workers with `spawn` (Linux from 3.14, `forkserver`): nothing a forked worker
    inherits (bandit set up, libcst loaded, rule tables) may be needed for the same report."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("this platform has no fork to compare with")
    code = ("import multiprocessing, sys\nmultiprocessing.set_start_method(sys.argv[1])\nfrom p21_lint.cli import main\n"
            "main(sys.argv[2:])\n")
    outputs = {}
    for method in ("fork", "spawn"):
        proc = subprocess.run([sys.executable, "-c", code, method, "check", str(project), "--format", "json", "--no-cache",
                               "--jobs", "2"], capture_output=True, timeout=300, check=False)
        assert proc.returncode == 2 and proc.stderr == b"", proc.stderr.decode(errors="replace")
        outputs[method] = proc.stdout
    assert outputs["spawn"] == outputs["fork"]
    assert b'"code": "B602"' in outputs["spawn"] and b'"code": "SQL001"' in outputs["spawn"]
