"""ERR001 beyond its page: the long tail of handler shapes."""

from p21_lint.testing import expected_markers, found_markers, lint

CASES = '''
import contextlib
from contextlib import suppress as quietly
import builtins


def one_line():
    try:
        work()
    except Exception: pass  # error: ERR001


def star():
    try:
        work()
    except* Exception:  # error: ERR001
        ...


def return_none():
    try:
        return work()
    except builtins.BaseException:  # error: ERR001
        return None


def aliased_suppress():
    with quietly(Exception):  # error: ERR001
        work()


def specific_is_fine():
    try:
        work()
    except (KeyError, ValueError):
        pass


def logged_is_fine():
    try:
        work()
    except Exception:
        logger.exception("work failed")


def reraised_is_fine():
    try:
        work()
    except Exception:
        cleanup()
        raise


def default_value_is_handling():
    try:
        return int(text)
    except Exception:
        return 0


def shadowed_exception_name(Exception):
    try:
        work()
    except Exception:
        pass
'''


def test_err001_long_tail():
    report = lint(CASES)
    assert not report.errors
    assert found_markers(report) == expected_markers({"app.py": CASES})
