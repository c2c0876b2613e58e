"""mkdocs hook: the guide pages take their text from README.md, its one home.

A page line ``<!-- README intro -->`` stands for the README's text between its
title and its first ``##`` heading; ``<!-- README: Heading -->`` for the
section under that heading (down to the next heading of the same or a higher
level); ``<!-- README title: Heading -->`` for the same section with its
heading made the page title and every heading in it raised to match. Links
into ``docs/`` are rewritten relative to the docs folder. A heading the README
lacks fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"
DIRECTIVE = re.compile(r"^<!-- README(?: intro|(?P<title> title)?: (?P<heading>.+?)) -->$", re.MULTILINE)
HEADING = re.compile(r"^(#+) (.+)$")


def headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, text) of every Markdown heading outside code fences."""
    found = []
    fenced = False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            found.append((i, len(match[1]), match[2].strip()))
    return found


def section(text: str, heading: str | None, *, as_title: bool = False) -> str:
    """The introduction of `text` (heading None) or the section under `heading`."""
    lines = text.splitlines()
    found = headings(lines)
    if heading is None:
        end = next((i for i, level, _ in found if level == 2), len(lines))
        return "\n".join(lines[1:end]).strip()
    starts = [(n, i, level) for n, (i, level, title) in enumerate(found) if title == heading]
    if not starts:
        raise KeyError(f"README.md has no heading {heading!r}")
    n, start, level = starts[0]
    end = next((i for i, other, _ in found[n + 1 :] if other <= level), len(lines))
    part = lines[start:end]
    if as_title:
        for i, depth, title in headings(part):
            part[i] = "#" * (depth - level + 1) + " " + title
    return "\n".join(part).strip()


def on_page_markdown(markdown: str, **_: Any) -> str:
    readme = README.read_text(encoding="utf-8")

    def include(match: re.Match[str]) -> str:
        return section(readme, match["heading"], as_title=match["title"] is not None)

    return DIRECTIVE.sub(include, markdown).replace("](docs/", "](")
