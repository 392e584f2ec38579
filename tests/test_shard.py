"""`--shard I/N` and `p21-lint merge`: a CI job matrix splits the files, and the merge gives the verdict that one
unsharded check of the same tree gives.

The sample backend (sample/: routes, auth, tests, and real coverage data from running its own tests) is checked
whole and as N = 1, 2 and 3 shards; the merged JSON report must equal the whole one. For N = 2 and 3 an endpoint is
declared in one shard and called only by tests in another (`/health` in app/main.py, called from tests/test_api.py):
the test asserts that from the route table rather than assuming it. Every run is the real command line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from p21_lint.cli import main
from p21_lint.config import load_config
from p21_lint.engine.pool import check_files
from p21_lint.engine.runner import FileSettings
from p21_lint.files import discover
from p21_lint.model import Facts, FileResult, from_plain, to_plain
from p21_lint.shard import Shard, bucket, digest, settings, to_config

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample"
COVERAGE = ("--min-coverage", "80")
FORMATS = ("sarif", "junit", "github", "text")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], env={"NO_COLOR": "1", "FORCE_COLOR": None}, catch_exceptions=False)


def run_shards(root: Path, count: int, out: Path, *flags: object) -> list[Path]:
    """Every shard of `count`, each as its own CI job would run it: its text report on stdout, its JSON to a file."""
    out.mkdir(parents=True, exist_ok=True)
    reports = []
    for index in range(1, count + 1):
        path = out / f"shard-{index}.json"
        result = invoke("check", root, *flags, "--shard", f"{index}/{count}", "--output", f"json:{path}")
        assert result.exit_code in (0, 1), result.output  # the shard's own part of the verdict
        assert f"shard {index}/{count}: the project rules (AUTH001, " in result.output
        assert "wait for `p21-lint merge`" in result.output
        reports.append(path)
    return reports


def outcome(report: dict) -> dict:
    """What a merged report must share with the unsharded one: findings, errors, verdict, exit code, and every gate's
    status, metrics and finding count (a joined gate's note says it came from shards), and the run's metrics."""
    return {
        "findings": report["findings"],
        "errors": report["errors"],
        "verdict": report["verdict"],
        "exit_code": report["exit_code"],
        "gates": [(g["name"], g["status"], g["metrics"], g["findings"]) for g in report["gates"]],
        "metrics": {k: v for k, v in report["metrics"].items() if k != "shards"},
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("shard") / "sample"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns(".coverage*", "__pycache__", ".*_cache", "*.db"))
    tests = subprocess.run([sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=copy, capture_output=True, text=True, timeout=300, check=False)
    assert tests.returncode == 0, f"the sample's own tests fail:\n{tests.stdout}\n{tests.stderr}"
    return copy


@pytest.fixture(scope="module")
def whole(sample, tmp_path_factory) -> tuple[dict, Path]:
    """The unsharded check: its JSON report, and the folder with its report in every other format."""
    out = tmp_path_factory.mktemp("whole")
    result = invoke("check", sample, *COVERAGE, "--format", "json", *(f"--output={kind}:{out / kind}" for kind in FORMATS))
    assert result.exit_code == 1
    return json.loads(result.output), out


# -- merged == unsharded ---------------------------------------------------------------------------------------------

def test_an_endpoint_is_declared_in_one_shard_and_tested_only_from_another(sample):
    result = invoke("routes", sample, "--format", "json")
    rows = json.loads(result.output)
    for count in (2, 3):
        crossing = [
            r["path"] for r in rows
            if r["tests"] and all(bucket(t.rsplit(":", 1)[0], count) != bucket(r["file"], count) for t in r["tests"])
        ]
        assert "/health" in crossing, f"N={count}: no route is tested only from another shard"
    assert any(not r["tests"] for r in rows), "the sample keeps an untested endpoint (TEST001)"


@pytest.mark.parametrize("count", [1, 2, 3])
def test_merged_shards_equal_one_unsharded_check(sample, whole, count, tmp_path):
    full, _ = whole
    reports = run_shards(sample, count, tmp_path, *COVERAGE)
    result = invoke("merge", *reports, "--format", "json")
    merged = json.loads(result.output)
    assert result.exit_code == 1
    assert outcome(merged) == outcome(full)
    assert merged["metrics"]["shards"] == count
    assert "shard" not in merged  # a merged report is no shard of anything
    # it is the whole verdict: project rules, endpoint tests and coverage, over files of every shard
    codes = {f["code"] for f in merged["findings"]}
    assert {"AUTH001", "TEST001", "SQL001", "ERR001", "SEC004", "COV001", "COV002", "B602", "F401"} <= codes
    assert [g["status"] for g in merged["gates"]] == ["fail"] * 5


def test_every_report_format_of_the_merge_matches_the_unsharded_one(sample, whole, tmp_path):
    _, expected = whole
    reports = run_shards(sample, 2, tmp_path / "shards", *COVERAGE)
    result = invoke("merge", *reports, *(f"--output={kind}:{tmp_path / kind}" for kind in FORMATS))
    assert result.exit_code == 1
    assert result.output.endswith("Verdict: FAIL (exit 1)\n")

    def sarif_results(path: Path) -> list:
        return [run["results"] for run in json.loads(path.read_text())["runs"]]

    def annotations(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if line.startswith(("::error", "::warning", "::notice"))]

    assert sarif_results(tmp_path / "sarif") == sarif_results(expected / "sarif")
    assert annotations(tmp_path / "github") == annotations(expected / "github")
    junit, whole_junit = (tmp_path / "junit").read_text(), (expected / "junit").read_text()
    assert (junit.count("<testcase"), junit.count("<failure")) == (whole_junit.count("<testcase"), whole_junit.count("<failure"))
    text, whole_text = (tmp_path / "text").read_text(), (expected / "text").read_text()
    assert text.split("\nGates\n")[0] == whole_text.split("\nGates\n")[0]  # the findings; joined gates' notes differ
    assert text.endswith("Verdict: FAIL (exit 1)\n") and whole_text.endswith("Verdict: FAIL (exit 1)\n")


def test_merge_with_a_baseline_and_diff_base_equals_the_unsharded_check(sample, tmp_path):
    """The baseline is used up across all shards' findings (its stale count too), and --diff-base, the changed-line
    coverage (COV003) and the suppressions are applied once, over the whole."""
    root = tmp_path / "repo"
    shutil.copytree(sample, root, ignore=shutil.ignore_patterns(".p21_cache"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)
    written = invoke("baseline", "write", tmp_path / "baseline.json", root)
    assert written.exit_code == 0, written.output
    baseline = json.loads((tmp_path / "baseline.json").read_text())
    dropped = next(e for e in baseline["findings"] if e["code"] == "SQL001")
    baseline["findings"].remove(dropped)  # a finding the baseline does not accept, and one entry nothing matches
    baseline["findings"].append({**dropped, "path": "app/gone.py", "fingerprint": "0" * 20})
    (root / "baseline.json").write_text(json.dumps(baseline))
    with (root / "app/services/users.py").open("a", encoding="utf-8") as fh:  # new code, never run by a test
        fh.write("\n\ndef forget(repo):\n    try:\n        repo.clear()\n    except Exception:\n        pass\n")

    flags = (*COVERAGE, "--baseline", "baseline.json", "--diff-base", "HEAD")
    result = invoke("check", root, *flags, "--format", "json")
    full = json.loads(result.output)
    merged_result = invoke("merge", *run_shards(root, 2, tmp_path / "shards", *flags), "--format", "json")
    merged = json.loads(merged_result.output)
    assert merged_result.exit_code == result.exit_code == 1
    assert outcome(merged) == outcome(full)
    assert merged["metrics"]["baseline_stale"] == 1 and merged["metrics"]["changed_files"] >= 1
    failing = {(f["path"], f["code"]) for f in merged["findings"] if not f["suppressed"] and not f["outside_diff"]}
    assert failing == {("app/services/users.py", "ERR001"), ("app/services/users.py", "COV003")}


def test_a_partial_run_in_shards_still_sees_the_rest_of_the_project(sample, tmp_path):
    """`check app/` reads tests/ for Facts only (who calls which route); sharded, each shard reads its share of it."""
    flags = ("--no-security", "--no-style")
    full = json.loads(invoke("check", sample / "app", *flags, "--format", "json").output)
    reports = run_shards(sample / "app", 3, tmp_path, *flags)
    contexts = [{f["path"] for f in json.loads(p.read_text())["shard"]["context"]} for p in reports]
    assert sum(map(len, contexts)) == 3 and sum(1 for c in contexts if c) >= 2  # split, not repeated
    assert set().union(*contexts) == {"tests/conftest.py", "tests/test_api.py", "tests/test_services.py"}
    merged = json.loads(invoke("merge", *reports, "--format", "json").output)
    assert outcome(merged) == outcome(full)
    assert "TEST001" in {f["code"] for f in merged["findings"]}
    assert all(f["path"].startswith("app/") for f in merged["findings"])


# -- what a shard reports and hands on -----------------------------------------------------------------------------

def test_a_shard_report_keeps_schema_1_and_carries_its_part(sample, tmp_path):
    reports = run_shards(sample, 3, tmp_path, "--no-security", "--no-style")
    data = [json.loads(p.read_text()) for p in reports]
    discovered = {f.rel for f in discover(load_config((sample,)))}
    parts = []
    for index, report in enumerate(data, start=1):
        assert {"schema_version", "verdict", "exit_code", "gates", "findings", "errors", "metrics"} <= set(report)
        assert report["schema_version"] == 1 and report["metrics"]["shard"] == {"index": index, "count": 3}
        gates = {g["name"]: g for g in report["gates"]}
        assert gates["endpoints"]["status"] == gates["coverage"]["status"] == "skipped"
        assert "`p21-lint merge`" in gates["endpoints"]["note"]
        shard = report["shard"]
        assert (shard["index"], shard["count"], shard["files_total"]) == (index, 3, len(discovered))
        files = {f["path"] for f in shard["files"]}
        assert all(bucket(path, 3) == index for path in files)
        parts.append(files)
        # its own findings: per-file only, in its own files; project rules are merge's
        assert {f["path"] for f in report["findings"]} <= files
        assert not {"AUTH001", "TEST001", "ERR002", "ERR003", "ERR004"} & {f["code"] for f in report["findings"]}
    assert set().union(*parts) == discovered and sum(map(len, parts)) == len(discovered)
    assert len({r["shard"]["config_digest"] for r in data}) == 1


def test_facts_round_trip_through_json_on_real_fixtures():
    """Facts of the fixtures, every field of them in use somewhere, come back equal from JSON (with findings and
    suppression comments in the per-file results)."""
    projects = [SAMPLE, *(ROOT / "tests/fixtures/routes").iterdir(), *(p for p in (ROOT / "tests/fixtures/errors").iterdir() if p.is_dir())]
    used: set[str] = set()
    settings_ = FileSettings(rules=(("ERR001", ()), ("SQL001", ()), ("SEC004", ())))
    count = 0
    for project in projects:
        for result in check_files(discover(load_config((project,))), settings_, 1):
            text = json.dumps(to_plain(result.facts))
            assert from_plain(Facts, json.loads(text)) == result.facts, result.path
            assert from_plain(FileResult, json.loads(json.dumps(to_plain(result)))) == result
            used |= {f.name for f in dataclasses.fields(Facts) if getattr(result.facts, f.name) != f.default}
            count += 1
    assert count > 50
    assert used >= {
        "path", "module", "is_test", "imports", "classes", "error_classes", "exception_handlers", "raise_sites",
        "route_objects", "route_decls", "route_mounts", "route_hooks", "route_helper_calls", "web_functions",
        "web_classes", "type_aliases", "constants", "url_entries", "router_registrations", "client_calls",
    }
    with pytest.raises(ValueError, match="no field"):
        from_plain(Facts, {"path": "a.py", "module": "a", "routes_v2": []})  # never silently dropped


def test_settings_round_trip_and_the_digest_follows_what_decides_findings(sample, tmp_path):
    config = load_config((sample / "app",), None, {"min-coverage": 80.0, "fail-on": "medium", "public": ["/ping"], "jobs": 1})
    data = json.loads(json.dumps(settings(config)))
    assert data["paths"] == ["app"] and data["source"] == "pyproject.toml"
    assert to_config(data, config.root) == config
    assert to_config(data, config.root).where("min-coverage") == "command line"
    other_machine = to_config(data, tmp_path)  # the same settings elsewhere: the same digest
    assert digest(other_machine) == digest(config)
    assert digest(dataclasses.replace(config, jobs=4, cache=False)) == digest(config)
    assert digest(dataclasses.replace(config, fail_on="high")) != digest(config)
    assert digest(dataclasses.replace(config, per_file_ignores=(("app/**", ("ERR",)),))) != digest(config)


# -- the file split ------------------------------------------------------------------------------------------------

def test_the_split_is_the_paths_sha256_the_same_everywhere():
    expected = {"app/main.py": [1, 2, 1, 2], "tests/test_api.py": [1, 1, 2, 4], "src/pkg/über.py": [1, 2, 2, 4], "a.py": [1, 2, 2, 6]}
    for path, buckets in expected.items():
        assert [bucket(path, n) for n in (1, 2, 3, 7)] == buckets
        assert buckets[2] == int(hashlib.sha256(path.encode()).hexdigest()[:16], 16) % 3 + 1
    # in another interpreter with another hash seed: the same
    code = "from p21_lint.shard import bucket; print([bucket(p, 7) for p in ('app/main.py', 'a.py')])"
    other = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "12345"}, capture_output=True, text=True, check=True)
    assert other.stdout.strip() == "[2, 6]"


def test_the_split_is_even_and_a_file_stays_in_its_shard():
    paths = [f"pkg{i % 37}/module_{i}.py" for i in range(3000)]
    for count in (2, 3, 4):
        sizes = [sum(bucket(p, count) == i for p in paths) for i in range(1, count + 1)]
        assert max(abs(s / (len(paths) / count) - 1) for s in sizes) < 0.05, sizes
    before = {p: bucket(p, 3) for p in paths[:100]}
    assert {p: bucket(p, 3) for p in paths[:100] + ["new/file.py"] if p in before} == before


@pytest.mark.parametrize("value", ["0/3", "4/3", "x/y", "1/0", "3", "-1/3", "1/3/2", ""])
def test_a_bad_shard_value_is_a_usage_error(value, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\n")
    result = invoke("check", tmp_path, "--shard", value)
    assert result.exit_code == 2
    assert "Invalid value for '--shard'" in result.output
    assert "is not I/N" in result.output or "I must be 1 to N" in result.output
    with pytest.raises(ValueError):
        Shard.parse(value)


# -- merge refuses what is not one complete, consistent set ----------------------------------------------------------

@pytest.fixture
def small(tmp_path) -> Path:
    root = tmp_path / "small"
    files = {
        "app/__init__.py": "",
        # AUTH001 (a project rule) suppressed inline: only merge can tell that the suppression is used
        "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/items')  # p21: ignore[AUTH001]\ndef items():\n    return []\n",
        "app/jobs.py": "def run(job):\n    try:\n        job()\n    except Exception:\n        pass\n",
        "tests/test_main.py": "def test_items(client):\n    assert client.get('/items').json() == []\n",
    }
    (root / "app").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\n")
    for rel, text in files.items():
        (root / rel).write_text(textwrap.dedent(text))
    return root


def refused(*reports: Path, extra: tuple = ()) -> str:
    result = invoke("merge", *reports, *extra)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("p21-lint: error: ")
    return result.output


def test_merge_refuses_an_incomplete_or_inconsistent_set(small, tmp_path):
    one, two = run_shards(small, 2, tmp_path / "a")
    merged = invoke("merge", one, two, "--format", "json")
    findings = {(f["code"], f["suppressed_by"]) for f in json.loads(merged.output)["findings"]}
    assert merged.exit_code == 1 and findings == {("AUTH001", "comment"), ("ERR001", "")}
    shard_codes = {f["code"] for p in (one, two) for f in json.loads(p.read_text())["findings"]}
    assert shard_codes == {"ERR001"}  # no shard calls the AUTH001 suppression unused (P21002): AUTH001 is merge's

    assert "shard 2/2 missing" in refused(one)
    assert "shard 1/2 is given twice" in refused(one, one, two)
    [third] = run_shards(small, 3, tmp_path / "b")[:1]
    assert "shards of one check share N" in refused(one, two, third)
    [strict, _] = run_shards(small, 2, tmp_path / "c", "--fail-on", "high")
    assert "made with other settings" in refused(strict, two)

    data = json.loads(two.read_text())
    data["shard"]["p21_lint_version"] = "0.0.1"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    assert "was made by p21-lint 0.1.0 but" in refused(one, old)
    data = json.loads(one.read_text())
    data["shard"]["files_digest"] = "0" * 64
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(data))
    assert "found different files" in refused(moved, two)

    plain = tmp_path / "plain.json"
    plain.write_text(invoke("check", small, "--format", "json").output)
    assert "not a shard's report" in refused(plain, two)
    (tmp_path / "garbage.json").write_text("{not json")
    assert "not a JSON report" in refused(tmp_path / "garbage.json")
    assert "cannot be read" in refused(tmp_path / "absent.json")


def test_merge_finds_the_project_from_where_the_shards_ran_or_from_root(small, tmp_path, monkeypatch):
    reports = run_shards(small, 2, tmp_path / "shards")
    monkeypatch.chdir(tmp_path / "shards")  # elsewhere: the shards' project root, relative to where they ran, is not here
    assert "is not the shards' project" in refused(*reports)
    result = invoke("merge", *reports, "--root", small, "--format", "json")
    assert result.exit_code == 1 and json.loads(result.output)["metrics"]["files"] == 4


def test_the_readme_ci_matrix_runs_real_commands():
    """The README's matrix example is valid YAML whose p21-lint commands parse with today's flags."""
    import shlex

    import yaml

    from p21_lint.cli import check as check_command
    from p21_lint.cli import merge as merge_command

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Sharding: a monorepo across CI jobs", 1)[1].split("\n### ", 1)[0]
    [block] = section.split("```yaml\n")[1:]
    workflow = yaml.safe_load(block.split("```", 1)[0])
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    commands = [shlex.split(r.replace("${{ matrix.shard }}", "2")) for r in runs if r.startswith("p21-lint ")]
    assert [c[1] for c in commands] == ["check", "merge"]
    check_params, merge_params = (
        command.make_context(argv[1], argv[2:]).params  # parses every flag, and --shard's value
        for argv, command in zip(commands, (check_command, merge_command))
    )
    assert check_params["shard"] == Shard(2, 3) and check_params["exit_zero"]
    assert merge_params["reports"] == ("p21-shard-*.json",) and merge_params["fmt"] == "github"
    assert workflow["jobs"]["lint"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
