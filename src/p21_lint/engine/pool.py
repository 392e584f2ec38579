"""Run the per-file pass over many files: cache first, then inline for a few files or a process pool for many."""

from __future__ import annotations

import gc
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable

from p21_lint.engine.cache import Cache
from p21_lint.engine.runner import FileSettings, check_source, contain_crashes, python_refuses
from p21_lint.files import SourceFile, module_name, read_source
from p21_lint.model import Facts, FileResult, ToolError

INLINE_BELOW = 24  # starting workers costs more than checking a handful of files

Job = tuple[str, str, bool, bytes]  # rel, module, is_test, source


def _run(job: Job, settings: FileSettings) -> FileResult:
    return check_source(*job, settings)


def _run_chunk(args: tuple[list[Job], FileSettings]) -> list[FileResult]:
    jobs, settings = args
    return [_run(job, settings) for job in jobs]


def check_files(files: list[SourceFile], settings: FileSettings, jobs: int, cache: Cache | None = None) -> list[FileResult]:
    results: list[FileResult | None] = [None] * len(files)
    todo: list[tuple[int, Job, str | None]] = []
    for i, f in enumerate(files):
        module = f.module or module_name(f.rel)
        try:
            source = read_source(f.path)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            error = ToolError("read", f.rel, f"cannot be read: {reason}")
            results[i] = FileResult(f.rel, facts=Facts(f.rel, module, f.is_test), errors=(error,))
            continue
        key = cache.key(f.rel, source) if cache else None
        hit = cache.get(key) if cache and key else None
        if hit is not None:
            results[i] = hit
        else:
            todo.append((i, (f.rel, module, f.is_test, source), key))

    computed = _compute([job for _, job, _ in todo], settings, jobs)
    for (i, _, key), result in zip(todo, computed):
        results[i] = result
        if cache and key:
            cache.put(key, result)
    return [r for r in results if r is not None]


def _compute(jobs_list: list[Job], settings: FileSettings, jobs: int) -> list[FileResult]:
    workers = jobs or os.cpu_count() or 1
    if workers == 1 or len(jobs_list) < INLINE_BELOW:
        return [_run(job, settings) for job in jobs_list]
    return _pooled(jobs_list, settings, workers)


def _pooled(jobs_list: list[Job], settings: FileSettings, workers: int) -> list[FileResult]:
    """The results in order. libcst is native code: an input that crashes it (a segfault, an abort) kills a worker
    and breaks the pool, so the files left unanswered run again in a new pool, halved until the culprit is alone."""
    answers = _pool_round(jobs_list, settings, workers)
    lost = [job for job, answer in zip(jobs_list, answers) if answer is None]
    if not lost:
        return answers  # type: ignore[return-value]
    if len(lost) == 1 and len(jobs_list) == 1:
        redo = [_crashed(lost[0])]
    elif len(lost) == len(jobs_list):  # the crash came before any answer
        half = len(lost) // 2
        redo = _pooled(lost[:half], settings, workers) + _pooled(lost[half:], settings, workers)
    else:
        redo = _pooled(lost, settings, workers)
    again = iter(redo)
    return [answer if answer is not None else next(again) for answer in answers]


def _pool_round(jobs_list: list[Job], settings: FileSettings, workers: int) -> list[FileResult | None]:
    # chunks keep pickling overhead low; many small ones keep every worker busy to the end
    size = max(1, min(16, len(jobs_list) // (workers * 8)))
    chunks = [jobs_list[i : i + size] for i in range(0, len(jobs_list), size)]
    answers: list[FileResult | None] = []
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker) as pool:
        futures = []
        for chunk in chunks:
            try:
                futures.append(pool.submit(_run_chunk, (chunk, settings)))
            except BrokenProcessPool:  # a worker died while the rest was still being handed out
                futures.append(None)
        for chunk, future in zip(chunks, futures):
            try:
                answers.extend(future.result() if future else [None] * len(chunk))
            except BrokenProcessPool:
                answers.extend([None] * len(chunk))
    return answers


def _start_worker() -> None:
    contain_crashes()
    # what the worker inherited (modules, rule tables) lives as long as it does: the collector need not rescan it
    # for every tree a parse builds (a tenth of the per-file pass went to collections over it)
    gc.freeze()
    # bandit runs beside the pool in one process per two cores: the workers yield to it, so it is not the last to
    # finish (fair shares made bandit, then alone, the long pole of a cold full gate: lnbits ~11.5 s against ~10)
    if hasattr(os, "nice"):
        os.nice(5)


def _crashed(job: Job) -> FileResult:
    rel, module, is_test, source = job
    refusal = python_refuses(source)  # nesting past libcst's limits: Python's parser says so without crashing
    if refusal:
        return FileResult(rel, facts=Facts(rel, module, is_test), errors=(ToolError("parse", rel, refusal),))
    error = ToolError("crash", rel, "checking this file killed p21-lint's worker process (libcst's native parser "
                      "crashed or ran out of memory on it); the other files were checked. Please report this file.")
    return FileResult(rel, facts=Facts(rel, module, is_test), errors=(error,))


def flatten(results: Iterable[FileResult]) -> tuple[list, list, dict]:
    findings, errors, suppressions = [], [], {}
    for r in results:
        findings.extend(r.findings)
        errors.extend(r.errors)
        if r.suppressions:
            suppressions[r.path] = r.suppressions
    return findings, errors, suppressions
