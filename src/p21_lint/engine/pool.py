"""Run the per-file pass over many files: inline for a few, a process pool for many."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable

from p21_lint.engine.runner import FileSettings, check_source
from p21_lint.files import SourceFile, module_name, read_source
from p21_lint.model import FileResult, Facts, ToolError

INLINE_BELOW = 24  # starting workers costs more than checking a handful of files


def check_file(file: SourceFile, settings: FileSettings) -> FileResult:
    module = module_name(file.rel)
    try:
        source = read_source(file.path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return FileResult(file.rel, facts=Facts(file.rel, module, file.is_test), errors=(ToolError("read", file.rel, f"cannot be read: {reason}"),))
    return check_source(file.rel, module, file.is_test, source, settings)


def _check_chunk(args: tuple[list[SourceFile], FileSettings]) -> list[FileResult]:
    files, settings = args
    return [check_file(f, settings) for f in files]


def check_files(files: list[SourceFile], settings: FileSettings, jobs: int) -> list[FileResult]:
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(files) < INLINE_BELOW:
        return [check_file(f, settings) for f in files]
    # chunks keep pickling overhead low; many small ones keep both workers busy to the end
    size = max(1, min(16, len(files) // (jobs * 8)))
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return [r for batch in pool.map(_check_chunk, [(c, settings) for c in chunks]) for r in batch]


def flatten(results: Iterable[FileResult]) -> tuple[list, list, dict]:
    findings, errors, suppressions = [], [], {}
    for r in results:
        findings.extend(r.findings)
        errors.extend(r.errors)
        if r.suppressions:
            suppressions[r.path] = r.suppressions
    return findings, errors, suppressions
