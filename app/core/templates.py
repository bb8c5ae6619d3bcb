"""Server-rendered pages: one Jinja2 environment, autoescaped, shared layout.

Each package keeps its templates in its own `templates/` folder; `base.html`,
`error.html` and the stylesheet live in `app/web`. No JavaScript is served: every
page works with plain links and forms, and the Content-Security-Policy forbids scripts outright.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

APP_DIR = Path(__file__).resolve().parents[1]
STATIC_DIR = APP_DIR / "web" / "static"


class _Environment(Environment):
    """Jinja2's, with `a.b` on the pages' dicts looked up as a key at once: the
    default tries the attribute first, and raising and catching AttributeError for
    every field of a page cost the resolver's page 6 % of its CPU. The answer is
    the same: a key that is also a dict method (`items`) still gives the method."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj and not hasattr(dict, attribute):
            return obj[attribute]
        return super().getattr(obj, attribute)


environment = _Environment(
    # Every package's `templates/` folder, each under its own prefix (`lists/…`).
    loader=FileSystemLoader(sorted(APP_DIR.glob("*/templates"))),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    enable_async=False,
    # The templates ship with the code: no stat of the file at every render.
    auto_reload=False,
)

GRADE_ZH = {"AAA": "AAA 级", "AA": "AA 级", "A": "A 级", "B": "B 级", "C": "C 级", "D": "D 级"}
environment.globals["GRADE_ZH"] = GRADE_ZH


def render(
    template: str, *, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """Render a template to an HTML response (security headers come from middleware)."""
    return HTMLResponse(render_text(template, **context), status_code=status_code, headers=headers)


def render_text(template: str, **context: Any) -> str:
    """A template rendered (the page alone, for an answer built elsewhere)."""
    return environment.get_template(template).render(**context)


def error_page(status: int, title: str, message: str) -> HTMLResponse:
    """A page saying what went wrong, in the site's layout."""
    return render("error.html", status_code=status, title=title, message=message)
