"""AUTH rules: over the route table (analysis/routes), never over one file alone."""

from __future__ import annotations

from p21_lint.analysis.routes.rows import RouteRow
from p21_lint.analysis.routes.table import route_table
from p21_lint.engine.project import Project, ProjectReport
from p21_lint.engine.rule import ProjectRule
from p21_lint.model import Level, Location


class UnauthenticatedRoute(ProjectRule):
    """A route with no evidence of authentication that is not declared public."""

    code = "AUTH001"
    name = "unauthenticated-route"
    standard = "Authentication must be implemented on all protected endpoints"
    severity = Level.HIGH
    cwe = 306  # Missing Authentication for Critical Function

    def check(self, project: Project, out: ProjectReport) -> None:
        groups: dict[tuple[str, int, str], list[RouteRow]] = {}
        for row in route_table(project).rows:
            if not row.authenticated and not row.public:
                groups.setdefault((row.file, row.decl_line or row.line, row.handler), []).append(row)
        for (file, line, _), rows in groups.items():
            labels = list(dict.fromkeys(r.label for r in rows))
            shown = ", ".join(f"`{label}`" for label in labels)
            first = rows[0]
            where = "route" if first.framework != "django" else "view"
            message = (
                f"{shown} {'has' if len(labels) == 1 else 'have'} no authentication: {first.suggestion}; "
                f"if it is public on purpose, say so with `# p21: public` on the {where} or "
                f"`public = [\"{first.label}\"]` in [tool.p21-lint]"
            )
            notes = [n for r in rows for n in r.notes]
            if notes:
                message += f" (note: {notes[0]})"
            out.report(Location(file, line, 1, first.line, 1), message, anchor=" ".join(labels))
