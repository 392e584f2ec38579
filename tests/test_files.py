"""File discovery: default excludes, `exclude` globs, .gitignore, explicit files, test folders, module names."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from p21_lint.config import load_config
from p21_lint.files import discover, glob_regex, module_name

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def make(root: Path, *rels: str, config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f"[tool.p21-lint]\n{config}", encoding="utf-8")
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n", encoding="utf-8")
    return root


def found(root: Path, *paths: Path, **overrides) -> list[str]:
    config = load_config(paths or (root,), overrides=overrides or None)
    return [f.rel for f in discover(config)]


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)


def test_default_excludes_skip_virtualenvs_build_output_and_caches(tmp_path):
    make(
        tmp_path,
        "app/main.py",
        ".venv/lib/site.py",
        "venv/lib/site.py",
        "build/lib/app/main.py",
        "dist/x.py",
        "node_modules/pkg/gen.py",
        "app/__pycache__/main.py",
        "app.egg-info/x.py",
        ".tox/py311/x.py",
        "app/sub/.mypy_cache/x.py",
    )
    assert found(tmp_path) == ["app/main.py"]


def test_only_python_files_are_found(tmp_path):
    make(tmp_path, "app/main.py", "app/readme.md", "app/data.json", "app/stub.pyi")
    assert found(tmp_path) == ["app/main.py"]


@pytest.mark.parametrize(
    ("pattern", "left"),
    [
        ("migrations", ["app/api.py", "scripts/run.py"]),  # no slash: a folder of that name anywhere
        ("app/migrations", ["app/api.py", "migrations/0001.py", "scripts/run.py"]),  # a slash: anchored at the root
        ("**/migrations", ["app/api.py", "scripts/run.py"]),
        ("app/**/0001.py", ["app/api.py", "migrations/0001.py", "scripts/run.py"]),
        ("*.py", []),
        ("scripts/", ["app/api.py", "app/migrations/0001.py", "migrations/0001.py"]),
        ("./scripts", ["app/api.py", "app/migrations/0001.py", "migrations/0001.py"]),
        ("app/api.py", ["app/migrations/0001.py", "migrations/0001.py", "scripts/run.py"]),
        ("ap?/*.py", ["app/migrations/0001.py", "migrations/0001.py", "scripts/run.py"]),
    ],
)
def test_exclude_globs(tmp_path, pattern, left):
    make(tmp_path, "app/api.py", "app/migrations/0001.py", "migrations/0001.py", "scripts/run.py",
         config=f"exclude = [{pattern!r}]\n")
    assert found(tmp_path) == left


def test_glob_star_stays_within_one_folder():
    assert glob_regex("app/*.py").match("app/main.py")
    assert not glob_regex("app/*.py").match("app/api/main.py")
    assert glob_regex("app/**/*.py").match("app/main.py")
    assert glob_regex("app/**/*.py").match("app/api/v1/main.py")
    assert not glob_regex("app").match("application/main.py")


@needs_git
def test_gitignore_is_honoured_in_a_git_repository(tmp_path):
    git_init(tmp_path)
    make(tmp_path, "app/main.py", "app/generated/models.py", "app/user_pb2.py", "notes/draft.py")
    (tmp_path / ".gitignore").write_text("generated/\n*_pb2.py\n/notes\n", encoding="utf-8")
    assert found(tmp_path) == ["app/main.py"]
    assert found(tmp_path, **{"respect-gitignore": False}) == [
        "app/generated/models.py", "app/main.py", "app/user_pb2.py", "notes/draft.py",
    ]


@needs_git
def test_gitignore_applies_when_the_project_is_a_subfolder_of_the_repository(tmp_path):
    git_init(tmp_path)
    (tmp_path / ".gitignore").write_text("*_pb2.py\n", encoding="utf-8")
    project = make(tmp_path / "backend", "app/main.py", "app/user_pb2.py")
    assert found(project) == ["app/main.py"]


@needs_git
def test_gitignore_still_applies_when_a_checked_path_lies_outside_the_repository(tmp_path):
    # one path outside the git work tree must not switch .gitignore off for all the others
    project = make(tmp_path / "repo", "app/main.py", "app/user_pb2.py")
    git_init(project)
    (project / ".gitignore").write_text("*_pb2.py\n", encoding="utf-8")
    outside = make(tmp_path / "elsewhere", "run.py")
    config = load_config((project, outside / "run.py"), project / "pyproject.toml")
    assert [f.rel for f in discover(config)] == ["../elsewhere/run.py", "app/main.py"]


def test_gitignore_outside_a_git_repository_is_silently_not_used(tmp_path):
    make(tmp_path, "app/main.py", "app/user_pb2.py")
    (tmp_path / ".gitignore").write_text("*_pb2.py\n", encoding="utf-8")
    assert found(tmp_path) == ["app/main.py", "app/user_pb2.py"]


def test_explicit_file_arguments(tmp_path):
    make(tmp_path, "app/main.py", "app/other.py", "tools/script.py")
    assert found(tmp_path, tmp_path / "app/other.py") == ["app/other.py"]
    assert found(tmp_path, tmp_path / "tools/script.py", tmp_path / "app") == [
        "app/main.py", "app/other.py", "tools/script.py",
    ]
    # a file named twice (and through its folder) is checked once
    assert found(tmp_path, tmp_path / "app/main.py", tmp_path / "app") == ["app/main.py", "app/other.py"]


def test_an_excluded_file_stays_excluded_when_named_explicitly(tmp_path):
    # pre-commit and `git diff --name-only | xargs p21-lint` name files one by one; `exclude` must still hold
    make(tmp_path, "app/main.py", "app/migrations/0001.py", config='exclude = ["migrations"]\n')
    assert found(tmp_path, tmp_path / "app/migrations/0001.py") == []


def test_tests_folders_are_known(tmp_path):
    make(tmp_path, "app/main.py", "app/test_helpers.py", "tests/conftest.py", "tests/api/users.py",
         "src/app/tests/factories.py", "qa/checks.py")
    config = load_config((tmp_path,))
    assert {f.rel: f.is_test for f in discover(config)} == {
        "app/main.py": False,
        "app/test_helpers.py": True,  # by name, wherever it is
        "qa/checks.py": False,
        "src/app/tests/factories.py": True,  # `tests` without a slash: a folder of that name anywhere
        "tests/api/users.py": True,
        "tests/conftest.py": True,
    }
    config = load_config((tmp_path,), overrides={"tests": ["qa"]})
    assert {f.rel for f in discover(config) if f.is_test} == {"app/test_helpers.py", "qa/checks.py", "tests/conftest.py"}


@pytest.mark.parametrize(
    ("rel", "module"),
    [
        ("src/app/api/main.py", "app.api.main"),
        ("src/app/__init__.py", "app"),
        ("app/api/__init__.py", "app.api"),
        ("app/main.py", "app.main"),
        ("main.py", "main"),
        ("src/main.py", "main"),
    ],
)
def test_module_name(rel, module):
    assert module_name(rel) == module


@pytest.mark.parametrize(
    ("rel", "module"),
    [
        ("backend/app/api/main.py", "app.api.main"),  # backend/ is no package: imports say `app.api.main`
        ("backend/app/__init__.py", "app"),
        ("backend/app/api/__init__.py", "app.api"),
        ("backend/tests/test_api.py", "backend.tests.test_api"),  # no package: named by its path
        ("src/app/api/main.py", "app.api.main"),
        # a namespace folder (no __init__.py) inside a package keeps its place in the name
        ("src/dispatch/data/source/views.py", "dispatch.data.source.views"),
    ],
)
def test_module_name_follows_the_chain_of_packages(rel, module):
    packages = frozenset({"backend/app", "backend/app/api", "src/app", "src/app/api", "src/dispatch", "src/dispatch/data"})
    assert module_name(rel, packages) == module


def test_discovery_names_modules_from_their_packages(tmp_path):
    make(tmp_path, "backend/app/__init__.py", "backend/app/api/__init__.py", "backend/app/api/main.py")
    config = load_config((tmp_path,))
    assert {f.rel: f.module for f in discover(config)}["backend/app/api/main.py"] == "app.api.main"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_loops_do_not_hang_and_links_do_not_duplicate_files(tmp_path):
    make(tmp_path, "app/main.py")
    (tmp_path / "app/loop").symlink_to(tmp_path / "app", target_is_directory=True)
    (tmp_path / "app/again.py").symlink_to(tmp_path / "app/main.py")
    assert found(tmp_path) == ["app/main.py"]


def test_reported_paths_are_relative_posix(tmp_path):
    make(tmp_path, "src/app/api/v1/users.py")
    files = discover(load_config((tmp_path / "src",)))
    assert [f.rel for f in files] == ["src/app/api/v1/users.py"]
    assert files[0].path.is_absolute()
