"""`--shard I/N`: one CI job checks a stable 1/N of the files, and its JSON report carries that part to `p21-lint merge`.

A file's shard depends on its repo-relative path alone: the path's SHA-256, as a number, modulo N. So it is the same
on every machine, run and Python version (never Python's salted `hash()`), and a file stays in its shard when others
are added or removed. Shards are as even as a fair die's throws, by file count: on Django 5.2 (2,823 files) every
shard of 2, 3 or 4 is within 3% of an even share, of 8 within 7%; by lines, which a shard's time follows, within
1%, 5%, 13% and 21% (DESIGN.md "Scale").

A shard's own report is its part of the verdict; what it hands on (`ShardData`, the JSON report's `shard` key) is
its files' per-file pass before any suppression (findings, Facts, suppression comments, errors), its share of the
Facts of the rest of the project, its security and style gates before the baseline, and what makes shards
comparable: the settings, their digest and the digest of the discovered file list.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from p21_lint import __version__, installed_version
from p21_lint.config import Config
from p21_lint.files import SourceFile, relpath
from p21_lint.model import (
    Facts,
    FileResult,
    GateResult,
    Report,
    Status,
    ToolError,
    from_plain,
    to_plain,
)

if TYPE_CHECKING:
    from p21_lint.check import Checked

# how a check runs, not what it decides: shards may differ in these
RUN_ONLY = ("jobs", "cache", "cache_dir", "provenance")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`2/3` -> Shard(2, 3); anything else is a ValueError that says what to write."""
        match = re.fullmatch(r"([0-9]+)/([0-9]+)", text.strip())
        if not match:
            raise ValueError(f"`{text}` is not I/N (e.g. 1/3: the first of three shards)")
        shard = cls(int(match.group(1)), int(match.group(2)))
        if shard.count < 1 or not 1 <= shard.index <= shard.count:
            raise ValueError(f"`{text}`: I must be 1 to N (N >= 1), e.g. 1/{max(shard.count, 3)}")
        return shard

    def takes(self, rel: str) -> bool:
        return bucket(rel, self.count) == self.index

    def part(self, files: list[SourceFile]) -> list[SourceFile]:
        return [f for f in files if self.takes(f.rel)]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def bucket(rel: str, count: int) -> int:
    """The shard (1..count) of the file at repo-relative POSIX path `rel`."""
    return int.from_bytes(hashlib.sha256(rel.encode("utf-8", "surrogateescape")).digest()[:8], "big") % count + 1


@dataclass(frozen=True)
class ShardData:
    """What one shard hands to `p21-lint merge` (see the module's docstring)."""

    shard: Shard
    version: str  # p21-lint's
    digest: str  # of the settings, p21-lint's and its rules' versions, and bandit's / ruff's when they run
    settings: dict[str, Any]  # `settings(config)`
    root: str  # the project root, relative to the working directory the shard ran in
    files_total: int  # files discovered, in every shard together
    files_digest: str
    files: tuple[SourceFile, ...]
    results: tuple[FileResult, ...]  # one per file, in the same order
    context: tuple[Facts, ...]  # its share of the Facts of the project's unchecked files (a partial run)
    errors: tuple[ToolError, ...]  # its share of the files that could not even be named
    gates: tuple[tuple[GateResult, tuple[ToolError, ...]], ...]  # security and style, before the baseline

    @classmethod
    def of(cls, config: Config, shard: Shard, discovered: list[str], checked: Checked,
           gates: list[tuple[GateResult, list[ToolError]]]) -> ShardData:
        by_path = {r.path: r for r in checked.results}
        return cls(
            shard, __version__, digest(config), settings(config), relpath(config.root, Path.cwd().resolve()),
            len(discovered), _digest("\n".join(sorted(discovered))), tuple(checked.files),
            tuple(by_path[f.rel] for f in checked.files), tuple(checked.context), tuple(checked.errors),
            tuple((gate, tuple(errors)) for gate, errors in gates),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.shard.index,
            "count": self.shard.count,
            "p21_lint_version": self.version,
            "config_digest": self.digest,
            "settings": self.settings,
            "root": self.root,
            "files_total": self.files_total,
            "files_digest": self.files_digest,
            "files": [{"module": f.module, "is_test": f.is_test, **to_plain(r)} for f, r in zip(self.files, self.results)],
            "context": [to_plain(facts) for facts in self.context],
            "errors": [to_plain(e) for e in self.errors],
            "gates": [{**to_plain(gate), "errors": [to_plain(e) for e in errs]} for gate, errs in self.gates],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShardData:
        """The shard as read from its JSON report; file paths are relative until merge joins them to the root."""
        files, results = [], []
        for item in data["files"]:
            result = from_plain(FileResult, {k: v for k, v in item.items() if k not in ("module", "is_test")})
            files.append(SourceFile(Path(result.path), result.path, bool(item["is_test"]), str(item["module"])))
            results.append(result)
        gates = tuple(
            (from_plain(GateResult, {k: v for k, v in g.items() if k != "errors"}), tuple(from_plain(ToolError, e) for e in g["errors"]))
            for g in data["gates"]
        )
        return cls(
            Shard(int(data["index"]), int(data["count"])), str(data["p21_lint_version"]), str(data["config_digest"]),
            dict(data["settings"]), str(data["root"]), int(data["files_total"]), str(data["files_digest"]),
            tuple(files), tuple(results), tuple(from_plain(Facts, f) for f in data["context"]),
            tuple(from_plain(ToolError, e) for e in data["errors"]), gates,
        )


def waiting_gates(shard: Shard, endpoints_on: bool) -> list[GateResult]:
    """The whole-project gates in a shard's own report: `p21-lint merge` computes them from every shard's part."""
    endpoints_note = f"shard {shard}: `p21-lint merge` matches every shard's routes and tests" if endpoints_on else "TEST001 is not selected"
    return [
        GateResult("coverage", Status.SKIPPED, note=f"shard {shard}: `p21-lint merge` measures the whole project's coverage"),
        GateResult("endpoints", Status.SKIPPED, note=endpoints_note),
    ]


def own_part(report: Report, shard: Shard, waiting: frozenset[str]) -> Report:
    """A shard's report of its own files says what waits for merge; how much of the baseline is stale is merge's."""
    rules, *others = report.gates
    if waiting:
        rules = replace(rules, note=f"{rules.note}; shard {shard}: the project rules ({', '.join(sorted(waiting))}) wait for `p21-lint merge`")
    metrics = {k: v for k, v in report.metrics.items() if k != "baseline_stale"}
    return replace(report, gates=(rules, *others), metrics={**metrics, "shard": {"index": shard.index, "count": shard.count}})


def settings(config: Config) -> dict[str, Any]:
    """The effective configuration as JSON data, its paths relative to the project root: the same on every machine."""
    source = relpath(config.source, config.root) if config.source else None
    local = replace(
        config,
        root=Path("."),
        source=Path(source) if source else None,
        paths=tuple(Path(relpath(p, config.root)) for p in config.paths),
        provenance=tuple((key, source if where == str(config.source) else where) for key, where in config.provenance),
    )
    return to_plain(local)


def to_config(data: dict[str, Any], root: Path) -> Config:
    """`settings` read back, for the project at `root`."""
    local = from_plain(Config, data)
    source = root / local.source if local.source else None
    return replace(
        local,
        root=root,
        source=source,
        paths=tuple((root / p).resolve() for p in local.paths),
        provenance=tuple((key, str(source) if source and where == local.source.as_posix() else where) for key, where in local.provenance),
    )


def digest(config: Config) -> str:
    """What a finding depends on besides the files: shards with another digest cannot be merged."""
    from p21_lint.engine.registry import all_rules

    decided = {key: value for key, value in settings(config).items() if key not in RUN_ONLY}
    tools = {name: installed_version(name) for name, used in (("bandit", config.security), ("ruff", config.style)) if used}
    rules = [[r.code, r.version] for r in all_rules()]
    return _digest(json.dumps({"p21-lint": __version__, "rules": rules, "tools": tools, "settings": decided}, sort_keys=True))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
