"""The command line. The only module that prints or exits.

Exit codes, as ruff: 0 pass, 1 a gate failed, 2 usage, configuration or tool error. `--exit-zero` turns 1 into 0,
never 2 into 0. The report is always written before exiting.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from p21_lint import __version__
from p21_lint.config import ConfigError, describe, load_config
from p21_lint.model import Level

EXIT_USAGE = 2


class DefaultGroup(click.Group):
    """`p21-lint src/ --min-coverage 80` means `p21-lint check src/ --min-coverage 80`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)


def _fail(message: str) -> None:
    click.echo(f"p21-lint: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _codes(values: tuple[str, ...]) -> list[str] | None:
    """`--select SQL,ERR --select AUTH001` -> ["SQL", "ERR", "AUTH001"]; None when not given."""
    if not values:
        return None
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def _load(paths: tuple[str, ...], config_file: str | None, overrides: dict[str, Any]):
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        _fail(f"no such file or folder: {missing[0]}")
    try:
        return load_config(tuple(Path(p) for p in paths), Path(config_file) if config_file else None, overrides)
    except ConfigError as exc:
        _fail(str(exc))


def _use_color(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="p21-lint")
def main() -> None:
    """p21-lint: a linter and CI gate for Python web backends.

    Run `p21-lint PATHS` (the same as `p21-lint check PATHS`) for the full gate report.
    """


LEVEL = click.Choice(["low", "medium", "high"], case_sensitive=False)


def _shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """`--shard 2/3` as a Shard; a bad value is a usage error (exit 2) that says what to write."""
    from p21_lint.shard import Shard

    try:
        return Shard.parse(value) if value is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path(), help="A pyproject.toml to read instead of the nearest one.")
@click.option("--select", multiple=True, help="Rule codes or prefixes to run (comma-separated, repeatable).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes not to run (comma-separated, repeatable).")
@click.option("--exclude", multiple=True, help="Glob of paths to skip, added to the config's (repeatable).")
@click.option("--min-coverage", type=click.FloatRange(0, 100), help="Total coverage (%) the checked files must reach.")
@click.option("--min-diff-coverage", type=click.FloatRange(0, 100), help="Coverage (%) of the lines changed since --diff-base (default: --min-coverage).")
@click.option("--min-endpoint-coverage", type=click.FloatRange(0, 100), help="Endpoints (%) integration tests must call. Default: 100.")
@click.option("--coverage-data", type=click.Path(), help="Coverage data: .coverage, coverage json or Cobertura XML.")
@click.option("--security/--no-security", default=None, help="Run the security gate (bandit). Default: on.")
@click.option("--style/--no-style", default=None, help="Run the style gate (ruff, with the project's ruff settings). Default: the `style` key, off.")
@click.option("--bandit-severity", type=LEVEL, help="Lowest bandit severity that fails the security gate.")
@click.option("--bandit-confidence", type=LEVEL, help="Lowest bandit confidence that fails the security gate.")
@click.option("--fail-on", type=LEVEL, help="Lowest p21 rule severity that fails the rules gate.")
@click.option("--jobs", "-j", type=click.IntRange(0), help="Worker processes (0: one per CPU).")
@click.option("--baseline", type=click.Path(), help="Accept the findings recorded in this baseline file; only new ones fail.")
@click.option("--diff-base", metavar="REF", help="Only findings on lines changed since the merge-base with REF fail.")
@click.option("--cache/--no-cache", default=None, help="Reuse results of unchanged files. Default: on.")
@click.option("--cache-dir", type=click.Path(), help="Cache folder (default: .p21_cache under the project root).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "junit", "github"]), default="text", show_default=True,
              help="Report format on standard output. `github`: annotations, and the job summary to $GITHUB_STEP_SUMMARY.")
@click.option("--output", "-o", "outputs", multiple=True, metavar="[FORMAT:]PATH", help="Also write the report to PATH, as FORMAT (default: --format). Repeatable.")
@click.option("--show-suppressed", is_flag=True, help="List suppressed findings too.")
@click.option("--fix", is_flag=True, help="Rewrite SQL001's plain case (an inline f-string/%/format query to a known driver) into placeholders plus parameters, then check.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the diff --fix would make and exit (1 if it would change anything).")
@click.option("--no-coverage", is_flag=True, help="Skip the coverage gate whatever thresholds the config sets (per-commit hooks).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 when a gate fails (a tool error still exits 2).")
@click.option("--shard", callback=_shard, metavar="I/N",
              help="Check a stable 1/N of the files (I in 1..N), for a CI job matrix; `p21-lint merge` joins the shards' JSON reports.")
def check(paths: tuple[str, ...], config_file: str | None, select: tuple[str, ...], ignore: tuple[str, ...],
          exclude: tuple[str, ...], min_coverage: float | None, min_diff_coverage: float | None, min_endpoint_coverage: float | None,
          coverage_data: str | None, security: bool | None,
          style: bool | None, bandit_severity: str | None, bandit_confidence: str | None, fail_on: str | None, jobs: int | None,
          baseline: str | None, diff_base: str | None, cache: bool | None, cache_dir: str | None, fmt: str, outputs: tuple[str, ...], show_suppressed: bool, fix: bool, show_diff: bool, no_coverage: bool, exit_zero: bool,
          shard: Any) -> None:
    """Check PATHS (default: the project root) and print one pass/fail report."""
    from p21_lint.check import run_check

    targets = _targets(outputs, fmt)

    overrides: dict[str, Any] = {
        "select": _codes(select), "ignore": _codes(ignore), "min-coverage": min_coverage,
        "min-diff-coverage": min_diff_coverage, "min-endpoint-coverage": min_endpoint_coverage,
        "coverage-data": coverage_data, "security": security, "bandit-severity": bandit_severity,
        "bandit-confidence": bandit_confidence, "fail-on": fail_on, "jobs": jobs,
        "cache": cache, "cache-dir": cache_dir, "baseline": baseline, "diff-base": diff_base, "style": style,
    }
    config = _load(paths, config_file, overrides)
    from dataclasses import replace

    if exclude:
        config = replace(config, exclude=(*config.exclude, *exclude))
    if no_coverage:  # no thresholds: the gate reports itself skipped
        config = replace(config, min_coverage=None, min_diff_coverage=None, coverage=replace(config.coverage, business_logic=()))
    if fix or show_diff:
        _apply_fixes(config, write=not show_diff, shard=shard)
    try:
        report = run_check(config, shard)
    except ConfigError as exc:
        _fail(str(exc))
    except Exception as exc:  # an internal error: a short message, never a bare traceback
        _internal_error(exc)
    _emit(report, config.root, fmt, targets, show_suppressed, exit_zero)


def _targets(outputs: tuple[str, ...], fmt: str) -> list[tuple[str, Path]]:
    """`--output [FORMAT:]PATH` values as (format, path)."""
    from p21_lint.report import RENDERERS

    targets = []
    for spec in outputs:
        kind, _, path = spec.partition(":") if ":" in spec and spec.split(":", 1)[0] in RENDERERS else ("", "", spec)
        targets.append((kind or fmt, Path(path)))
    return targets


def _internal_error(exc: Exception) -> None:
    if os.environ.get("P21_DEBUG"):
        traceback.print_exc()
    _fail(f"internal error: {type(exc).__name__}: {exc} (set P21_DEBUG=1 for the traceback; please report it)")


def _emit(report: Any, root: Path, fmt: str, targets: list[tuple[str, Path]], show_suppressed: bool, exit_zero: bool) -> None:
    """Print the report, write the --output ones and the GitHub job summary, and exit with the verdict's code."""
    from p21_lint.report import RENDERERS

    out = sys.stdout
    color = _use_color(out) and fmt == "text"
    # color=color: click.echo would otherwise strip the escapes FORCE_COLOR asked for on a pipe (CI logs)
    click.echo(RENDERERS[fmt](report, root=root, color=color, show_suppressed=show_suppressed), nl=False, color=color)
    for kind, path in targets:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(RENDERERS[kind](report, root=root, color=False), encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {path}: {exc.strerror}")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary and "github" in (fmt, *(kind for kind, _ in targets)):
        from p21_lint.report import github

        try:  # appended: other steps' tools may have written to this step's summary too
            with open(step_summary, "a", encoding="utf-8") as fh:
                fh.write(github.summary(report, root=root, link=github.blob_url(os.environ)))
        except OSError as exc:
            _fail(f"cannot write the job summary {step_summary}: {exc.strerror}")
    code = report.exit_code
    sys.exit(0 if code == 1 and exit_zero else code)


def _apply_fixes(config: Any, write: bool, shard: Any = None) -> None:
    """--diff: print what --fix would change and exit (1 if anything); --fix: write it, then the check runs. With
    --shard, only the shard's files: the other jobs of the matrix fix theirs."""
    import difflib

    from p21_lint.files import discover
    from p21_lint.fix import fix_files

    files = discover(config)
    changed = fix_files(shard.part(files) if shard else files, write)
    count = sum(n for *_, n in changed)
    files = f"{len(changed)} file{'s' if len(changed) != 1 else ''}"
    if write:
        if changed:
            click.echo(f"fixed {count} quer{'ies' if count != 1 else 'y'} in {files}", err=True)
        return
    for rel, old, new, _ in changed:
        click.echo("".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{rel}", f"b/{rel}")), nl=False)
    click.echo(f"{count} fix{'es' if count != 1 else ''} available in {files}", err=True)
    sys.exit(1 if changed else 0)


@main.command()
@click.argument("reports", nargs=-1, required=True, type=click.Path())
@click.option("--root", type=click.Path(file_okay=False), help="The project checkout (default: the shards' project root, from the working directory).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "junit", "github"]), default="text", show_default=True,
              help="Report format on standard output, as for check.")
@click.option("--output", "-o", "outputs", multiple=True, metavar="[FORMAT:]PATH", help="Also write the report to PATH, as FORMAT (default: --format). Repeatable.")
@click.option("--show-suppressed", is_flag=True, help="List suppressed findings too.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 when a gate fails (a tool error still exits 2).")
def merge(reports: tuple[str, ...], root: str | None, fmt: str, outputs: tuple[str, ...], show_suppressed: bool, exit_zero: bool) -> None:
    """Join the JSON REPORTS of every `check --shard I/N` into one verdict: the project rules, endpoint tests and
    coverage over the whole project, with the shards' settings. Run it in the project checkout."""
    from p21_lint.merge import MergeError
    from p21_lint.merge import merge as merge_shards

    try:
        report, project_root = merge_shards([Path(r) for r in reports], Path(root) if root else None)
    except (MergeError, ConfigError) as exc:
        _fail(str(exc))
    except Exception as exc:  # an internal error: a short message, never a bare traceback
        _internal_error(exc)
    _emit(report, project_root, fmt, _targets(outputs, fmt), show_suppressed, exit_zero)


@main.group()
def baseline() -> None:
    """Record today's findings so that only new ones fail (adopting p21-lint on existing code)."""


@baseline.command("write")
@click.argument("file", type=click.Path())
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path())
@click.option("--security/--no-security", default=None, help="Include bandit's findings. Default: on.")
def baseline_write(file: str, paths: tuple[str, ...], config_file: str | None, security: bool | None) -> None:
    """Check PATHS and write every finding to FILE (sorted, stable JSON)."""
    from dataclasses import replace

    from p21_lint import baseline as baseline_file
    from p21_lint.check import run_check

    config = _load(paths, config_file, {"security": security})
    config = replace(config, baseline=None, diff_base=None, min_coverage=None, min_diff_coverage=None)
    try:
        report = run_check(config)
    except ConfigError as exc:
        _fail(str(exc))
    if report.errors:
        for e in report.errors:
            click.echo(f"p21-lint: error: [{e.source}] {e.path}: {e.message}", err=True)
        _fail("not every file could be checked, so the baseline would be incomplete; fix the errors above first")
    text = baseline_file.render(report.findings)
    Path(file).write_text(text, encoding="utf-8")
    count = sum(1 for f in report.findings if not f.suppressed and f.source in baseline_file.BASELINE_SOURCES)
    click.echo(f"wrote {count} finding{'s' if count != 1 else ''} to {file}")


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_cmd(fmt: str) -> None:
    """List every rule: code, name, severity, the standard it enforces."""
    from p21_lint.engine.registry import all_rules

    rows = [
        {"code": r.code, "name": r.name, "severity": str(r.severity), "standard": r.standard, "help_url": r.help_url()}
        for r in all_rules()
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['code']:<8} {row['name']:<32} {row['severity']:<7} {row['standard']}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation page of rule CODE."""
    from p21_lint.pages import page_text

    text = page_text(code)
    if text is None:
        _fail(f"no rule {code.upper()} (see `p21-lint rules`)")
    click.echo(text, nl=False)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path(), help="A pyproject.toml to read instead of the nearest one.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def routes(paths: tuple[str, ...], config_file: str | None, fmt: str) -> None:
    """Print the route table of PATHS: every endpoint with its handler, auth evidence and the tests that call it."""
    from p21_lint.analysis.routes import show
    from p21_lint.analysis.routes.table import build, settings_of
    from p21_lint.engine.pool import check_files
    from p21_lint.engine.runner import FileSettings
    from p21_lint.files import discover

    config = _load(paths, config_file, {})
    results = check_files(discover(config), FileSettings(rules=()), config.jobs)
    table = build([r.facts for r in results if r.facts is not None], settings_of(config))
    click.echo(json.dumps(table.to_json(), indent=2) if fmt == "json" else show.text(table), nl=fmt == "json")
    errors = [e for r in results for e in r.errors]
    for e in errors:
        click.echo(f"p21-lint: error: {e.path}: {e.message}", err=True)
    sys.exit(EXIT_USAGE if errors else 0)


@main.command("debug-config")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path())
@click.option("--select", multiple=True)
@click.option("--ignore", multiple=True)
def debug_config(paths: tuple[str, ...], config_file: str | None, select: tuple[str, ...], ignore: tuple[str, ...]) -> None:
    """Print the resolved configuration and every rule, enabled or not and why."""
    from p21_lint.engine.registry import select as select_rules
    from p21_lint.files import discover

    config = _load(paths, config_file, {"select": _codes(select), "ignore": _codes(ignore)})
    click.echo(f"config file: {config.source or '(none: defaults)'}")
    click.echo(f"project root: {config.root}")
    for key, value, where in describe(config):
        click.echo(f"  {key} = {_show(value)}  ({where})")
    try:
        selections = select_rules(config)
    except ConfigError as exc:
        _fail(str(exc))
    click.echo("rules:")
    for s in selections:
        state = "enabled " if s.enabled else "disabled"
        opts = f"  options: {_show(s.options)}" if s.options else ""
        click.echo(f"  {s.rule.code:<8} {state} {s.reason}{opts}")
    files = discover(config)
    tests = sum(f.is_test for f in files)
    click.echo(f"files: {len(files)} python files ({tests} test files)")
    for line in _api_error_lines(config, files):
        click.echo(line)


def _api_error_lines(config: Any, files: list) -> list[str]:
    """Which API error type the ERR rules use, or why there is none: it needs every file's Facts (no rules run)."""
    from p21_lint.analysis.errors import describe as describe_api_error
    from p21_lint.engine.pool import check_files
    from p21_lint.engine.project import Project
    from p21_lint.engine.runner import FileSettings

    results = check_files(files, FileSettings(rules=()), config.jobs)
    return describe_api_error(Project.from_facts(r.facts for r in results if r.facts is not None), config.api_error)


def _show(value: Any) -> str:
    if isinstance(value, Level):
        return str(value)
    if isinstance(value, tuple):
        return json.dumps([list(v) if isinstance(v, tuple) else v for v in value])
    return json.dumps(value, default=str)


if __name__ == "__main__":  # pragma: no cover
    main()
