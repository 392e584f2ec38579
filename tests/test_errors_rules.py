"""ERR002-ERR005: the project's API error type found (or configured), and the ways errors bypass it or leak.

Every fixture project under tests/fixtures/errors is linted whole by the real pipeline; its `# error: CODE` markers
are exactly what must be reported. The focused tests pin down the seed's own idioms and the API error detection.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from p21_lint.analysis.errors import describe, find_api_error
from p21_lint.cli import main
from p21_lint.engine.project import Project
from p21_lint.engine.runner import FileSettings, check_source
from p21_lint.files import module_name
from p21_lint.testing import expected_markers, found_markers, lint_project

FIXTURES = Path(__file__).parent / "fixtures" / "errors"
ERR = ("ERR002", "ERR003", "ERR004", "ERR005")
CONFIG = {"configured": 'api-error = "app.failures.Failure"\n'}


def load(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.py"))}


def err_markers(markers):
    return [m for m in markers if m[2] in ERR]


def found(report):
    """What the ERR rules reported (the route rules, AUTH001 and TEST001, have their own tests)."""
    return err_markers(found_markers(report))


@pytest.mark.parametrize("project", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_fixture_project_reports_exactly_its_markers(project):
    files = load(FIXTURES / project)
    report = lint_project(files, CONFIG.get(project, ""))
    assert not report.errors
    assert err_markers(found_markers(report)) == err_markers(expected_markers(files))


def facts_of(files: dict[str, str]) -> Project:
    """The project pass's view of `files`: the real per-file pass with no rules (fact collectors only)."""
    facts = []
    for rel, text in files.items():
        source = textwrap.dedent(text).encode()
        facts.append(check_source(rel, module_name(rel), rel.startswith("tests/"), source, FileSettings(rules=())).facts)
    return Project.from_facts(facts)


SEED_ERRORS = """\
from datetime import datetime
from enum import Enum

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


class ErrorCode(Enum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"

class APIError(Exception):
    def __init__(self, code: ErrorCode, message: str, status_code: int = 400):
        self.code = code
        self.message = message
        self.status_code = status_code

@app.exception_handler(APIError)
async def api_error_handler(request: Request, exc: APIError):
    return JSONResponse(
        status_code=exc.status_code,
        content={
            "error": {
                "code": exc.code.value,
                "message": exc.message,
                "timestamp": datetime.utcnow().isoformat()
            }
        }
    )
"""


def test_the_seed_idiom_is_found_and_its_own_code_is_clean():
    project = facts_of({"app/main.py": SEED_ERRORS})
    api = find_api_error(project, None)
    assert api.roots == ("app.main.APIError",)
    assert api.enum == "app.main.ErrorCode"
    assert api.handler_for("app.main.APIError").how == "exception_handler"
    report = lint_project({"app/main.py": SEED_ERRORS})
    assert found(report) == []  # the handler's utcnow() timestamp is no token expiry (SEC005)


def test_the_seed_idiom_raised_right_and_wrong():
    orders = """\
    from app.main import APIError, ErrorCode, app


    @app.get("/orders/{order_id}")
    async def get_order(order_id: int):
        if order_id == 0:
            raise APIError(ErrorCode.RESOURCE_NOT_FOUND, "Order not found", 404)
        raise APIError("not found")
    """
    report = lint_project({"app/main.py": SEED_ERRORS, "app/orders.py": orders})
    assert found(report) == [("app/orders.py", 8, "ERR003")]
    (finding,) = [f for f in report.findings if f.code == "ERR003"]
    assert "ErrorCode.<MEMBER>" in finding.message and "`APIError`" in finding.message


def test_an_api_error_by_registration_alone():
    files = {
        "app/main.py": """\
        from flask import Flask, abort

        app = Flask(__name__)


        class OrderFailure(Exception):
            pass


        @app.errorhandler(OrderFailure)
        def on_failure(error):
            return {"error": str(error)}, 400


        @app.get("/orders")
        def orders():
            abort(500)
        """,
    }
    api = find_api_error(facts_of(files), None)
    assert api.roots == ("app.main.OrderFailure",)
    assert "exception handler is registered" in api.how
    assert found(lint_project(files)) == [("app/main.py", 17, "ERR002")]


def test_no_api_error_type_keeps_err002_to_err004_silent_and_says_why():
    files = {"app/main.py": "from fastapi import FastAPI, HTTPException\n\napp = FastAPI()\n\n\n@app.get('/x')\nasync def x():\n    raise HTTPException(404)\n"}
    api = find_api_error(facts_of(files), None)
    assert api.roots == ()
    assert "api-error" in api.how  # tells the user how to name it
    assert found(lint_project(files)) == []
    assert any("stay silent" in line for line in describe(facts_of(files), None))


def test_a_client_library_with_an_api_error_is_not_a_web_app():
    """An SDK's `APIError` (raised on bad responses) has no handler and needs none: ERR004 needs a web framework."""
    files = {"sdk/client.py": "class APIError(Exception):\n    pass\n\n\ndef get(url):\n    raise APIError(url)\n"}
    assert found(lint_project(files)) == []


def test_debug_config_names_the_api_error_type_its_enum_and_handler(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\n", encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(SEED_ERRORS, encoding="utf-8")
    result = CliRunner().invoke(main, ["debug-config", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0
    assert "api error type: `app.main.APIError` (named like an API error type)" in result.output
    assert "error-code enum: `app.main.ErrorCode`" in result.output
    assert "handler for `app.main.APIError`: exception_handler at app/main.py:21" in result.output


def test_debug_config_says_why_there_is_none(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.p21-lint]\nsecurity = false\n", encoding="utf-8")
    (tmp_path / "app.py").write_text("class Oops(Exception):\n    pass\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["debug-config", str(tmp_path)], catch_exceptions=False)
    assert "api error type: none found" in result.output
    assert "project exception classes: Oops" in result.output


def test_a_configured_api_error_that_does_not_exist_is_said_so():
    project = facts_of({"app/main.py": SEED_ERRORS})
    api = find_api_error(project, "app.errors.Missing")
    assert api.roots == ("app.errors.Missing",)
    assert "no class of that name" in api.how


def test_err005_only_for_revealing_exceptions_and_only_towards_the_client():
    source = """\
    import logging

    from fastapi import FastAPI, HTTPException

    app = FastAPI()
    log = logging.getLogger(__name__)


    @app.get("/a")
    async def a():
        try:
            return compute()
        except KeyError as exc:
            raise HTTPException(status_code=400, detail=f"missing field {exc}")
        except Exception as exc:
            log.error("failed: %s", exc)
            message = str(exc)
            raise RuntimeError(message) from exc


    @app.get("/b")
    async def b():
        try:
            return compute()
        except (ValueError, Exception) as err:
            return {"detail": "failed: {}".format(err)}  # error: ERR005
    """
    report = lint_project({"app.py": source})
    assert found(report) == expected_markers({"app.py": source})


def test_project_findings_can_be_suppressed_inline():
    orders = SEED_ERRORS + '\n\n@app.get("/x")\nasync def x():\n    raise Exception("boom")  # p21: ignore[ERR002]\n'
    report = lint_project({"app/main.py": orders})
    assert found(report) == []
    assert [f.code for f in report.findings if f.suppressed and f.code in ERR] == ["ERR002"]


def test_the_code_enum_is_the_one_the_api_error_itself_takes():
    errors = """\
    from enum import Enum


    class PaymentProcessor(Enum):
        STRIPE = "stripe"


    class ErrorKind(Enum):
        NOT_FOUND = "not_found"


    class AppError(Exception):
        def __init__(self, kind: ErrorKind, message: str, status_code: int = 500):
            self.kind = kind


    class ProcessorError(AppError):
        def __init__(self, processor: PaymentProcessor):
            super().__init__(ErrorKind.NOT_FOUND, f"{processor} failed")
    """
    api = find_api_error(facts_of({"app/errors.py": errors}), None)
    assert api.enum == "app.errors.ErrorKind"
    without = errors.replace("kind: ErrorKind, ", "")
    assert find_api_error(facts_of({"app/errors.py": without}), None).enum is None  # not PaymentProcessor


def test_the_suggested_raise_follows_the_api_errors_own_constructor():
    """The styleguide idiom `ApplicationError(message, extra=None)`: no code, no status to suggest."""
    files = {
        "core/exceptions.py": "class ApplicationError(Exception):\n    def __init__(self, message, extra=None):\n"
                              "        self.message = message\n",
        "core/apis.py": "from rest_framework.views import APIView\n\n\nclass Orders(APIView):\n"
                        "    def get(self, request):\n        raise Exception('boom')\n",
    }
    (finding,) = [f for f in lint_project(files).findings if f.code == "ERR002"]
    assert finding.location.line == 6
    assert finding.message.endswith('write `raise ApplicationError("<message>")` instead')


def test_the_constructor_is_init_not_class_level_attributes():
    """polar's idiom: a ClassVar before `__init__(self, message, status_code=500, headers=None)`."""
    errors = """\
    from typing import ClassVar


    class AppError(Exception):
        _schema: ClassVar[type | None] = None
        retryable: bool = False

        def __init__(self, message: str, status_code: int = 500, headers: dict | None = None):
            self.message = message
    """
    api = find_api_error(facts_of({"app/errors.py": errors}), None)
    assert api.classes["app.errors.AppError"][1].params == (
        ("message", "builtins.str"), ("status_code", "builtins.int"), ("headers", "builtins.dict"))
    assert api.example("app.errors.AppError", "404") == '`raise AppError("<message>", 404)`'
