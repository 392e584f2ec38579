"""The security gate: bandit as a subprocess on the same files, JSON output. (Stub: being written.)"""

from __future__ import annotations

from dataclasses import dataclass

from p21_lint.config import Config
from p21_lint.files import SourceFile
from p21_lint.model import GateResult, Status, ToolError


@dataclass
class BanditRun:
    files: list[SourceFile]


def start(files: list[SourceFile], config: Config) -> BanditRun:
    return BanditRun(files)


def finish(run: BanditRun, config: Config) -> tuple[GateResult, list[ToolError]]:
    return GateResult("security", Status.SKIPPED, note="not implemented yet"), []
