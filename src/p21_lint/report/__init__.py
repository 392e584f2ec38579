"""Renderers: one Report in, one text out. Chosen by name."""

from __future__ import annotations

from typing import Callable

from p21_lint.report import github, junit, sarif
from p21_lint.report import json as json_report
from p21_lint.report import text as text_report

RENDERERS: dict[str, Callable[..., str]] = {
    "text": text_report.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
}
