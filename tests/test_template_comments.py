"""Django's {# … #} comment ends on its own line: one spread over two lines is printed on the page as text.
Jinja2's (templates/jinja2/) may span lines."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_template_comment_spans_lines():
    unclosed = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if not path.is_relative_to(ROOT / "templates" / "jinja2")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.count("{#") > line.count("#}")
    ]
    assert unclosed == []
