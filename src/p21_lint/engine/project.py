"""The project pass: rules that need the whole project read every file's Facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from p21_lint.engine.fingerprint import fingerprint
from p21_lint.engine.rule import ProjectRule
from p21_lint.model import Facts, Finding, Level, Location, ToolError


@dataclass
class Project:
    facts: dict[str, Facts]  # by path

    @classmethod
    def from_facts(cls, facts: Iterable[Facts]) -> "Project":
        return cls({f.path: f for f in facts})

    def modules(self) -> dict[str, Facts]:
        return {f.module: f for f in self.facts.values()}

    def subclasses_of(self, roots: set[str]) -> set[str]:
        """Qualified names of every project class that derives, directly or not, from one of `roots`."""
        bases = {f"{f.module}.{name}": set(b) for f in self.facts.values() for name, b in f.classes}
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
            errors.append(ToolError(f"rule:{rule.code}", "", f"rule {rule.code} crashed ({type(exc).__name__}: {exc}); please report this"))
            continue
        findings.extend(out.findings)
    return findings, errors
