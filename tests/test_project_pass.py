"""The project pass: Facts of every file reach project rules; class hierarchies are followed across modules;
and the two fixture projects (clean: exit 0, broken: exit 2 with the other files still reported)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from p21_lint.check import run_check
from p21_lint.cli import main
from p21_lint.config import load_config
from p21_lint.engine.project import Project
from p21_lint.engine.registry import registered
from p21_lint.engine.rule import ProjectRule
from p21_lint.model import Facts, Location
from p21_lint.testing import lint_project

FIXTURES = Path(__file__).parent / "fixtures" / "projects"


class ExceptionClasses(ProjectRule):
    """Reports every project class that is an exception, and which files the project pass saw."""

    code = "ZZZ100"
    name = "exception-classes"
    standard = "project pass tests"

    def check(self, project: Project, out) -> None:
        out.report(Location("", 0), "files: " + ",".join(sorted(project.facts)), anchor="files")
        for name in sorted(project.subclasses_of({"builtins.Exception"})):
            module = name.rpartition(".")[0]
            path = project.modules()[module].path
            out.report(Location(path, 1), f"exception class {name}", anchor=name)


class Crashes(ProjectRule):
    code = "ZZZ101"
    name = "crashes"
    standard = "project pass tests"

    def check(self, project: Project, out) -> None:
        out.report(Location("", 0), "reported before crashing", anchor="x")
        raise LookupError("the rule's own bug")


ERRORS_PROJECT = {
    "src/app/__init__.py": "from app.errors import AppError\n",
    "src/app/errors.py": "class AppError(Exception):\n    pass\n\n\nclass Plain:\n    pass\n",
    "src/app/api/__init__.py": "",
    "src/app/api/errors.py": "from ..errors import AppError\n\n\nclass NotFound(AppError):\n    pass\n",
    "src/app/other.py": "from app.api.errors import NotFound as NF\nimport app\n\n\nclass Gone(NF):\n    pass\n\n\nclass Conflict(app.AppError):\n    pass\n\n\nclass Unrelated(Plain):\n    pass\n",
    "src/app/views.py": "def index():\n    return 'no classes, no facts to speak of'\n",
}


def test_facts_from_every_file_reach_a_project_rule_and_hierarchies_cross_modules():
    with registered(ExceptionClasses):
        report = lint_project(ERRORS_PROJECT, "select = ['ZZZ']\n")
    assert not report.errors
    messages = [(f.location.path, f.message) for f in report.findings]
    assert messages == [
        ("", "files: " + ",".join(sorted(ERRORS_PROJECT))),
        ("src/app/api/errors.py", "exception class app.api.errors.NotFound"),  # relative import of the base
        ("src/app/errors.py", "exception class app.errors.AppError"),
        ("src/app/other.py", "exception class app.other.Conflict"),  # a base re-exported by app/__init__.py
        ("src/app/other.py", "exception class app.other.Gone"),  # two modules away, through an alias
    ]
    assert {f.code for f in report.findings} == {"ZZZ100"}
    assert len({f.fingerprint for f in report.findings}) == len(report.findings)


def test_subclasses_of_follows_chains_and_stops_at_cycles():
    project = Project.from_facts([
        Facts("a.py", "a", classes=(("Base", ("builtins.Exception",)), ("Loop1", ("a.Loop2",)), ("Loop2", ("a.Loop1",)))),
        Facts("b.py", "b", imports=(("Base", "a.Base"),), classes=(("Mid", ("a.Base",)),)),
        Facts("c.py", "c", imports=(("Mid", "b.Mid"), ("Again", "c.Again")), classes=(("Leaf", ("b.Mid",)), ("Via", ("b.Base",)))),
    ])
    assert project.subclasses_of({"builtins.Exception"}) == {"a.Base", "b.Mid", "c.Leaf", "c.Via"}
    assert project.subclasses_of({"b.Base"}) == {"b.Mid", "c.Leaf", "c.Via"}  # a root given by its re-export
    assert project.resolve("c.Again") == "c.Again"  # a name bound to itself ends the chain
    assert project.resolve("b.Base.Inner") == "a.Base.Inner"


def test_a_project_rule_that_raises_is_a_tool_error_and_the_rest_survives():
    with registered(Crashes, ExceptionClasses):
        report = lint_project(ERRORS_PROJECT | {"src/app/jobs.py": "try:\n    x()\nexcept Exception:\n    pass\n"},
                             "select = ['ZZZ', 'ERR001']\n")
    assert [(e.source, e.path) for e in report.errors] == [("rule:ZZZ101", "")]
    assert "LookupError: the rule's own bug" in report.errors[0].message
    assert "test_project_pass.py" in report.errors[0].message
    codes = [f.code for f in report.findings]
    assert "ERR001" in codes and codes.count("ZZZ100") == 5
    assert "reported before crashing" not in [f.message for f in report.findings]  # a crashed rule's half-work is dropped
    assert report.exit_code == 2


# -- the fixture projects ------------------------------------------------------------------------------------------------

@pytest.fixture
def copy_of(tmp_path):
    def copy(name: str) -> Path:
        return Path(shutil.copytree(FIXTURES / name, tmp_path / name))

    return copy


def test_the_clean_fixture_project_passes(copy_of):
    root = copy_of("clean")
    report = run_check(load_config((root,), overrides={"security": False}))
    assert (report.verdict, report.exit_code, report.errors, report.findings) == ("pass", 0, (), ())
    assert report.metrics["files"] == 4


def test_the_clean_fixture_project_exits_0_on_the_command_line_with_the_security_gate(copy_of):
    root = copy_of("clean")
    result = CliRunner().invoke(main, [str(root)], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "Verdict: PASS (exit 0)" in result.output
    assert re.search(r"^  security +PASS ", result.output, re.MULTILINE)


def test_the_broken_fixture_project_is_an_error_that_still_reports_the_other_files(copy_of):
    root = copy_of("broken")
    report = run_check(load_config((root,), overrides={"security": False}))
    assert report.exit_code == 2
    assert [(e.source, e.path) for e in report.errors] == [("parse", "app/broken.py")]
    assert "line 1" in report.errors[0].message
    assert [(f.code, f.location.path, f.location.line) for f in report.findings] == [("ERR001", "app/jobs.py", 5)]
    assert report.gates[0].status.value == "error"


def test_a_partial_run_still_reads_the_rest_of_the_project(tmp_path):
    """pre-commit passes only the changed files: the router's auth lives in the unchanged main.py, and AUTH001 must
    neither fire on the changed routes file nor report routes of files that were not asked for."""
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\ncache = false\n", encoding="utf-8")
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "deps.py").write_text(
        "from fastapi import Depends\nfrom fastapi.security import OAuth2PasswordBearer\n\n"
        "scheme = OAuth2PasswordBearer(tokenUrl='token')\n\n\ndef current_user(token: str = Depends(scheme)):\n    return token\n"
    )
    (app / "items.py").write_text(
        "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n@router.get('/items')\ndef items():\n    return []\n"
    )
    (app / "open.py").write_text(
        "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n@router.get('/stats')\ndef stats():\n    return {}\n"
    )
    (app / "main.py").write_text(
        "from fastapi import Depends, FastAPI\n\nfrom app import items, open\nfrom app.deps import current_user\n\n"
        "app = FastAPI()\napp.include_router(items.router, dependencies=[Depends(current_user)])\napp.include_router(open.router)\n"
    )
    partial = CliRunner().invoke(main, ["check", str(app / "items.py"), "--select", "AUTH", "--format", "json"])
    assert [f["path"] for f in json.loads(partial.stdout)["findings"]] == []
    whole = CliRunner().invoke(main, ["check", str(tmp_path), "--select", "AUTH", "--format", "json"])
    assert [(f["path"], f["code"]) for f in json.loads(whole.stdout)["findings"]] == [("app/open.py", "AUTH001")]
