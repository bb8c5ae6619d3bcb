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

environment = Environment(
    # Every package's `templates/` folder, each under its own prefix (`lists/…`).
    loader=FileSystemLoader(sorted(APP_DIR.glob("*/templates"))),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    enable_async=False,
)

GRADE_ZH = {"AAA": "AAA 级", "AA": "AA 级", "A": "A 级", "B": "B 级", "C": "C 级", "D": "D 级"}
environment.globals["GRADE_ZH"] = GRADE_ZH


def render(
    template: str, *, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """Render a template to an HTML response (security headers come from middleware)."""
    html = environment.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def error_page(status: int, title: str, message: str) -> HTMLResponse:
    """A page saying what went wrong, in the site's layout."""
    return render("error.html", status_code=status, title=title, message=message)
