"""Where the app's files are: templates, static files and what npm installed."""

from __future__ import annotations

from pathlib import Path


def project_root() -> Path:
    """The checkout: beside the package (an editable install), else the working directory
    (a platform slug that installed the package into site-packages and runs from the checkout)."""
    for candidate in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (candidate / "templates").is_dir() and (candidate / "static").is_dir():
            return candidate
    raise RuntimeError("cannot find templates/ and static/: run chatroom from its checkout")


ROOT = project_root()
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
HTMX_PACKAGE = ROOT / "node_modules" / "htmx.org"
