"""The coverage gate over coverage.py data. (Stub: being written.)"""

from __future__ import annotations

from p21_lint.config import Config
from p21_lint.files import SourceFile
from p21_lint.model import GateResult, Status, ToolError


def coverage_gate(files: list[SourceFile], config: Config) -> tuple[GateResult, list[ToolError]]:
    if config.min_coverage is None:
        return GateResult("coverage", Status.SKIPPED, note="no threshold (--min-coverage)"), []
    return GateResult("coverage", Status.ERROR, note="not implemented yet"), [ToolError("coverage", "", "not implemented")]
