"""Run the per-file pass over many files: cache first, then inline for a few files or a process pool for many.

Each file is read once. A job checks it with the libcst rules (unless their answer is cached) and with bandit's
checks (unless not wanted or cached: gates/security.py decides), in one worker, so the two share every core.
"""

from __future__ import annotations

import gc
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Iterable

from p21_lint.engine.cache import Cache
from p21_lint.engine.runner import FileSettings, check_source, contain_crashes, python_refuses
from p21_lint.files import SourceFile, module_name, read_source
from p21_lint.gates.bandit_scan import BanditFile, BanditSettings, scan_file
from p21_lint.model import Facts, FileResult, ToolError

if TYPE_CHECKING:
    from p21_lint.gates.security import BanditRun

INLINE_BELOW = 24  # starting workers costs more than checking a handful of files

Job = tuple[str, str, bool, bytes, bool, bool]  # rel, module, is_test, source, lint (with the rules), scan (with bandit)
Answer = tuple[FileResult | None, BanditFile | None]
Settings = tuple[FileSettings, BanditSettings | None]


def _run(job: Job, settings: Settings) -> Answer:
    rel, module, is_test, source, lint, scan = job
    rules, bandit = settings
    answer = scan_file(bandit, rel, source) if scan and bandit is not None else None
    return (check_source(rel, module, is_test, source, rules) if lint else None), answer


def _run_chunk(args: tuple[list[Job], Settings]) -> list[Answer]:
    jobs, settings = args
    return [_run(job, settings) for job in jobs]


def check_files(files: list[SourceFile], settings: FileSettings, jobs: int, cache: Cache | None = None,
                bandit: BanditRun | None = None) -> list[FileResult]:
    """Every file's FileResult, in order; with `bandit`, its answers are recorded there too."""
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
        results[i] = hit
        scan = bandit is not None and bandit.wants(f, source)
        if hit is None or scan:
            todo.append((i, (f.rel, module, f.is_test, source, hit is None, scan), key))

    bandit_settings = bandit.ready(any(job[5] for _, job, _ in todo)) if bandit is not None and files else None
    computed = _compute([job for _, job, _ in todo], (settings, bandit_settings), jobs)
    for (i, job, key), (result, answer) in zip(todo, computed):
        if result is not None:
            results[i] = result
            if cache and key:
                cache.put(key, result)
        if answer is not None and bandit is not None:
            bandit.record(job[0], answer)
    return [r for r in results if r is not None]


def _compute(jobs_list: list[Job], settings: Settings, jobs: int) -> list[Answer]:
    workers = jobs or os.cpu_count() or 1
    if workers == 1 or len(jobs_list) < INLINE_BELOW:
        return [_run(job, settings) for job in jobs_list]
    import libcst  # noqa: F401 - loaded here once (p21_lint/cst.py), and every forked worker inherits it

    return _pooled(jobs_list, settings, workers)


def _pooled(jobs_list: list[Job], settings: Settings, workers: int) -> list[Answer]:
    """The results in order. libcst is native code: an input that crashes it (a segfault, an abort) kills a worker
    and breaks the pool, so the files left unanswered run again in a new pool, halved until the culprit is alone."""
    answers = _pool_round(jobs_list, settings, workers)
    lost = [job for job, answer in zip(jobs_list, answers) if answer is None]
    if not lost:
        return answers  # type: ignore[return-value]
    if len(lost) == 1 and len(jobs_list) == 1:
        redo = [_crashed(lost[0], settings)]
    elif len(lost) == len(jobs_list):  # the crash came before any answer
        half = len(lost) // 2
        redo = _pooled(lost[:half], settings, workers) + _pooled(lost[half:], settings, workers)
    else:
        redo = _pooled(lost, settings, workers)
    again = iter(redo)
    return [answer if answer is not None else next(again) for answer in answers]


def _pool_round(jobs_list: list[Job], settings: Settings, workers: int) -> list[Answer | None]:
    answers: list[Answer | None] = [None] * len(jobs_list)
    chunks = _chunks(jobs_list, workers)
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker) as pool:
        futures = []
        for chunk in chunks:
            try:
                futures.append(pool.submit(_run_chunk, ([jobs_list[i] for i in chunk], settings)))
            except BrokenProcessPool:  # a worker died while the rest was still being handed out
                futures.append(None)
        for chunk, future in zip(chunks, futures):
            try:
                for i, answer in zip(chunk, future.result() if future else ()):
                    answers[i] = answer
            except BrokenProcessPool:
                pass  # unanswered: run again
    return answers


def _chunks(jobs_list: list[Job], workers: int) -> list[list[int]]:
    """The jobs' indices in chunks, largest files first and by size: chunks keep pickling overhead low, and a
    tail of small ones keeps every worker busy to the end (one large file left last would run alone)."""
    budget = sum(len(job[3]) for job in jobs_list) / (workers * 8)
    chunks: list[list[int]] = []
    size = budget
    for i in sorted(range(len(jobs_list)), key=lambda i: -len(jobs_list[i][3])):
        if size >= budget or len(chunks[-1]) >= 16:
            chunks.append([])
            size = 0
        chunks[-1].append(i)
        size += len(jobs_list[i][3])
    return chunks


def _start_worker() -> None:
    contain_crashes()
    # what the worker inherited (modules, rule tables) lives as long as it does: the collector need not rescan it
    # for every tree a parse builds (a tenth of the per-file pass went to collections over it)
    gc.freeze()


def _crashed(job: Job, settings: Settings) -> Answer:
    """The answer for a file that killed a worker: bandit's checks, on CPython's own parser, are safe here."""
    rel, module, is_test, source, lint, scan = job
    answer = _run((rel, module, is_test, source, False, scan), settings)[1]
    if not lint:
        return None, answer
    refusal = python_refuses(source)  # nesting past libcst's limits: Python's parser says so without crashing
    if refusal:
        return FileResult(rel, facts=Facts(rel, module, is_test), errors=(ToolError("parse", rel, refusal),)), answer
    error = ToolError("crash", rel, "checking this file killed p21-lint's worker process (libcst's native parser "
                      "crashed or ran out of memory on it); the other files were checked. Please report this file.")
    return FileResult(rel, facts=Facts(rel, module, is_test), errors=(error,)), answer


def flatten(results: Iterable[FileResult]) -> tuple[list, list, dict]:
    findings, errors, suppressions = [], [], {}
    for r in results:
        findings.extend(r.findings)
        errors.extend(r.errors)
        if r.suppressions:
            suppressions[r.path] = r.suppressions
    return findings, errors, suppressions
