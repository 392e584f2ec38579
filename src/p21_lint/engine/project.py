"""The project pass: rules that need the whole project read every file's Facts."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterable

from p21_lint.config import Config
from p21_lint.engine.fingerprint import fingerprint
from p21_lint.engine.rule import ProjectRule
from p21_lint.engine.runner import crash_error
from p21_lint.model import Facts, Finding, Level, Location, ToolError


@dataclass
class Project:
    facts: dict[str, Facts]  # by path
    config: Config | None = None  # project-wide settings a project rule may need (`api-error`)

    @classmethod
    def from_facts(cls, facts: Iterable[Facts], config: Config | None = None) -> "Project":
        return cls({f.path: f for f in facts}, config)

    def modules(self) -> dict[str, Facts]:
        return {f.module: f for f in self.facts.values()}

    @functools.cached_property
    def _imports(self) -> dict[str, dict[str, str]]:
        return {f.module: dict(f.imports) for f in self.facts.values()}

    def resolve(self, name: str) -> str:
        """Follow re-exports through the project's modules: `app.AppError` is `app.errors.AppError` when
        app/__init__.py does `from app.errors import AppError`."""
        imports = self._imports
        for _ in range(8):  # a chain of re-exports; the bound stops an import cycle
            parts = name.split(".")
            for i in range(len(parts) - 1, 0, -1):  # the longest module prefix that is a project module
                bound = imports.get(".".join(parts[:i]))
                if bound is not None:
                    target = bound.get(parts[i])
                    break
            else:
                return name
            if not target or target == name:
                return name
            name = ".".join([target, *parts[i + 1 :]])
        return name

    def subclasses_of(self, roots: set[str]) -> set[str]:
        """Qualified names of every project class that derives, directly or not, from one of `roots`
        (bases imported through a re-export count)."""
        roots = {self.resolve(r) for r in roots}
        bases = {f"{f.module}.{name}": {self.resolve(q) for q in b} for f in self.facts.values() for name, b in f.classes}
        found: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, parents in bases.items():
                if name not in found and parents & (roots | found):
                    found.add(name)
                    changed = True
        return found


@dataclass
class ProjectReport:
    """Where a project rule reports: locations are explicit, since there is no single file being visited."""

    rule: ProjectRule
    findings: list[Finding] = field(default_factory=list)
    _seen: dict[tuple[str, str], int] = field(default_factory=dict)

    def report(self, location: Location, message: str, anchor: str, severity: Level | None = None) -> None:
        """`anchor` names what is flagged independently of its line (e.g. `GET /users/{id}`): the fingerprint."""
        rule = self.rule
        key = (location.path, anchor)
        occurrence = self._seen.get(key, 0)
        self._seen[key] = occurrence + 1
        self.findings.append(
            Finding(
                code=rule.code,
                message=message,
                location=location,
                severity=severity or rule.severity,
                confidence=rule.confidence,
                rule_name=rule.name,
                cwe=rule.cwe,
                help_url=rule.help_url(),
                fingerprint=fingerprint(rule.code, location.path, anchor, "", occurrence),
            )
        )


def run_project_rules(project: Project, rules: list[ProjectRule]) -> tuple[list[Finding], list[ToolError]]:
    findings: list[Finding] = []
    errors: list[ToolError] = []
    for rule in rules:
        out = ProjectReport(rule)
        try:
            rule.check(project, out)
        except Exception as exc:  # one crashing project rule never takes the report down
            errors.append(crash_error(rule.code, "", exc))
            continue
        findings.extend(out.findings)
    return findings, errors
