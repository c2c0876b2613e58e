"""The documentation's guide pages take their sections from README.md
(docs/hooks.py): every section they name exists, and the cut is right."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hooks)

TEXT = """# title

intro line

## First

one
```bash
# a comment, not a heading
```
### Inner

two

## Second

three
"""


def test_the_intro_is_the_text_before_the_first_section():
    assert hooks.section(TEXT, None) == "intro line"


def test_a_section_runs_to_the_next_heading_of_its_level_and_ignores_code():
    first = "## First\n\none\n```bash\n# a comment, not a heading\n```\n### Inner\n\ntwo"
    assert hooks.section(TEXT, "First") == first
    assert hooks.section(TEXT, "Inner") == "### Inner\n\ntwo"


def test_as_a_title_the_headings_rise_and_code_stays():
    text = hooks.section(TEXT, "First", as_title=True)
    assert text.startswith("# First\n")
    assert "\n## Inner\n" in text
    assert "# a comment, not a heading" in text


def test_a_missing_heading_fails():
    with pytest.raises(KeyError, match="Nowhere"):
        hooks.section(TEXT, "Nowhere")


def test_every_section_the_pages_name_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = sorted((ROOT / "docs").rglob("*.md"))
    named = [m for page in pages for m in hooks.DIRECTIVE.finditer(page.read_text(encoding="utf-8"))]
    assert named
    for match in named:
        assert hooks.section(readme, match["heading"])


def test_pages_see_the_figures_relative_to_the_docs_folder():
    page = hooks.on_page_markdown("<!-- README title: Data -->")
    links = re.findall(r"\]\(([^)]+\.png)\)", page)
    assert links
    assert all((ROOT / "docs" / link).is_file() for link in links)
