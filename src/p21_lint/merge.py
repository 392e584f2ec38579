"""`p21-lint merge`: the JSON reports of a `--shard I/N` check joined into the report one unsharded check gives.

The shards must be one complete, consistent set: every index 1..N once, one N, one p21-lint version (this one's), one
config digest, one discovered file list; anything else is refused (exit 2), never half-merged. Then the stages a
check runs after its per-file pass (`check.conclude`) run over every shard's part: the project pass (AUTH001, the
project ERR rules, TEST001) over the Facts of every file, inline suppressions, per-file-ignores, the baseline,
`--diff-base`, and the gates. The rules and endpoints gates are computed here; the security and style gates are the
union of the shards' (their tools look at one file at a time), counts summed. The coverage gate is computed here,
from the coverage data in the project root: its thresholds are over totals of the whole project (and the business
logic as one group), which no shard has, and the data is one file that only the merge job needs.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from p21_lint import __version__
from p21_lint.check import Checked, GateRun, conclude
from p21_lint.engine.registry import select
from p21_lint.model import GateResult, Report, Status, ToolError
from p21_lint.shard import ShardData, to_config


class MergeError(Exception):
    """The shards cannot be merged: exit 2."""


def merge(reports: list[Path], root: Path | None = None) -> tuple[Report, Path]:
    """The merged report of the shard reports at `reports`, and the project root it is for: `root`, by default the
    shards' project root as they saw it from the working directory."""
    shards = sorted((_load(path) for path in reports), key=lambda s: s[1].shard.index)
    _check_set(shards)
    first = shards[0][1]
    config = to_config(first.settings, (root or Path(first.root)).resolve())
    if not config.root.is_dir() or (config.source is not None and not config.source.is_file()):
        where = f"no {first.settings['source']} there" if config.source is not None else "no such folder"
        raise MergeError(f"{config.root} is not the shards' project ({where}): run merge in the folder the shards ran "
                         "in, or pass --root with the project checkout")
    enabled = [s for s in select(config) if s.enabled]
    parts = [data for _, data in shards]
    files = sorted((replace(f, path=config.root / f.rel) for s in parts for f in s.files), key=lambda f: f.rel)
    checked = Checked(
        files=files,
        results=sorted((r for s in parts for r in s.results), key=lambda r: r.path),
        context=sorted((facts for s in parts for facts in s.context), key=lambda f: f.path),
        errors=[e for s in parts for e in s.errors],
    )
    security, style = (_join([s.gates[i] for s in parts]) for i in range(2))
    report = conclude(config, enabled, checked, lambda _: security, lambda: style)
    return replace(report, metrics={**report.metrics, "shards": first.shard.count}), config.root


def _load(path: Path) -> tuple[Path, ShardData]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MergeError(f"{path}: cannot be read: {exc.strerror}") from None
    except ValueError as exc:
        raise MergeError(f"{path}: not a JSON report ({exc})") from None
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise MergeError(f"{path}: not a p21-lint JSON report (schema_version 1)")
    if not isinstance(data.get("shard"), dict):
        raise MergeError(f"{path}: not a shard's report: make each with `p21-lint check --shard I/N --output json:PATH`")
    try:
        shard = ShardData.from_dict(data["shard"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MergeError(f"{path}: not a valid shard report ({type(exc).__name__}: {exc})") from None
    if [gate.name for gate, _ in shard.gates] != ["security", "style"]:
        raise MergeError(f"{path}: not a valid shard report (its gates are not security and style)")
    return path, shard


def _check_set(shards: list[tuple[Path, ShardData]]) -> None:
    """One complete, consistent set of shards, or a MergeError that says what is wrong with it."""
    first_path, first = shards[0]
    for path, s in shards:
        if s.version != first.version:
            raise MergeError(f"{first_path} was made by p21-lint {first.version} but {path} by {s.version}: run every shard with one version")
    if first.version != __version__:
        raise MergeError(f"the shards were made by p21-lint {first.version}, this is {__version__}: merge with the version that made them")
    for path, s in shards:
        if s.shard.count != first.shard.count:
            raise MergeError(f"{first_path} is shard {first.shard} but {path} is shard {s.shard}: shards of one check share N")
        if s.digest != first.digest:
            raise MergeError(f"{path} was made with other settings than {first_path} (config digest {s.digest[:12]} vs "
                             f"{first.digest[:12]}): run every shard with the same configuration, flags and bandit/ruff versions")
        if s.files_digest != first.files_digest:
            raise MergeError(f"{path} and {first_path} found different files ({s.files_total} vs {first.files_total}): "
                             "run every shard on the same commit")
    seen: dict[int, Path] = {}
    for path, s in shards:
        if s.shard.index in seen:
            raise MergeError(f"shard {s.shard} is given twice: {seen[s.shard.index]} and {path}")
        seen[s.shard.index] = path
    count = first.shard.count
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    if missing:
        raise MergeError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing: merge needs every shard's report")
    if sum(len(s.files) for _, s in shards) != first.files_total:
        raise MergeError(f"the shards hold {sum(len(s.files) for _, s in shards)} files, not the {first.files_total} they found")


def _join(parts: list[tuple[GateResult, tuple[ToolError, ...]]]) -> GateRun:
    """One gate from the shards' parts of it: their findings (each file's in one shard, in its order), counts summed."""
    gates = [gate for gate, _ in parts]
    statuses = {g.status for g in gates}
    status = next(s for s in (Status.ERROR, Status.FAIL, Status.PASS, Status.SKIPPED) if s in statuses)
    findings = sorted((f for g in gates for f in g.findings), key=lambda f: f.location.path)
    metrics: dict[str, Any] = {}
    for g in gates:
        metrics = _add(metrics, g.metrics)
    if status in (Status.PASS, Status.FAIL):
        note = _summary(gates[0].name, metrics, len(gates))
    else:  # skipped or failed to run: what the shards said
        note = "; ".join(dict.fromkeys(g.note for g in gates if g.status is status))
    return GateResult(gates[0].name, status, tuple(findings), metrics, note), [e for _, errors in parts for e in errors]


def _add(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Metrics of two shards together: numbers summed (within objects too), lists joined, anything else as the first."""
    out = dict(a)
    for key, value in b.items():
        old = out.get(key)
        if key not in out:
            out[key] = value
        elif isinstance(old, dict) and isinstance(value, dict):
            out[key] = _add(old, value)
        elif (_number(old) and _number(value)) or (isinstance(old, list) and isinstance(value, list)):
            out[key] = old + value
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _summary(name: str, metrics: dict[str, Any], shards: int) -> str:
    tool = {"security": "bandit", "style": "ruff"}.get(name, name)
    count = metrics.get("findings", 0)
    text = f"{count} finding{'s' if count != 1 else ''}"
    spread = metrics.get("by_severity") or metrics.get("by_code") or {}
    if any(spread.values()):
        text += " (" + ", ".join(f"{n} {k}" if name == "security" else f"{k} {n}" for k, n in spread.items() if n) + ")"
    if "files" in metrics:
        text += f" in {metrics['files']} file{'s' if metrics['files'] != 1 else ''}"
    version = metrics.get(f"{tool}_version")
    return f"{f'{tool} {version}' if version else tool}: {text} (from {shards} shards)"
