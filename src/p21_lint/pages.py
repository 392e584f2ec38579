"""The rule catalogue: one Markdown page per rule (`rules/CODE.md`), shipped in the wheel as `p21_lint/catalogue`.

A page has TOML front matter between `+++` lines (code, name, severity) and fixed sections; its python code
blocks under *Example* and *Use instead* are run as tests (tests/test_rule_pages.py).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Options", "References")
_FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def catalogue_dir() -> Path:
    packaged = Path(__file__).parent / "catalogue"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"  # a source checkout or editable install


@dataclass(frozen=True)
class CodeBlock:
    section: str
    info: str  # the fence's info string: "python", "python path=tests/test_x.py", "toml"
    code: str
    line: int  # where the code starts in the page (1-based), for error messages

    @property
    def attrs(self) -> dict[str, str]:
        return dict(part.split("=", 1) for part in self.info.split()[1:] if "=" in part)


@dataclass(frozen=True)
class Page:
    path: Path
    meta: dict[str, Any]
    body: str

    @property
    def code(self) -> str:
        return self.meta["code"]

    def sections(self) -> dict[str, str]:
        parts = re.split(r"^## +(.+?)\s*$", self.body, flags=re.MULTILINE)
        return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}

    def blocks(self) -> list[CodeBlock]:
        out = []
        offset = self.text_offset
        for name, text in self.sections().items():
            start = self.body.index(text)
            for m in _FENCE.finditer(text):
                line = offset + self.body[: start + m.start("body")].count("\n") + 1
                out.append(CodeBlock(name, m.group("info").strip(), m.group("body"), line))
        return out

    @property
    def text_offset(self) -> int:
        full = self.path.read_text(encoding="utf-8")
        return full[: full.index(self.body)].count("\n") if self.body in full else 0

    def summary(self) -> str:
        """The first sentence of *What it does*: the rule's short description."""
        text = " ".join(self.sections().get("What it does", "").split())
        return text.split(". ")[0].rstrip(".") + "." if text else self.meta.get("name", "")


def parse_page(path: Path) -> Page:
    text = path.read_text(encoding="utf-8")
    m = re.match(r"^\+\+\+\n(.*?)\n\+\+\+\n", text, re.DOTALL)
    if not m:
        raise ValueError(f"{path}: no +++ front matter")
    return Page(path, tomllib.loads(m.group(1)), text[m.end():])


def all_pages() -> dict[str, Page]:
    return {p.code: p for p in (parse_page(f) for f in sorted(catalogue_dir().glob("*.md")))}


def page_text(code: str) -> str | None:
    path = catalogue_dir() / f"{code.upper()}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None
