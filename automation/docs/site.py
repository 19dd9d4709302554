"""The documentation site's Sphinx extension: generates the pages written from code (reference, model
card), renders the diagrams, and refuses pages the site's Content-Security-Policy would break.

Used by ``docs/conf.py``; ``make site`` builds the site into ``frontend/static/docs``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

from digits_training import drawn_eval, drawn_sets, map_digits, pen_digits
from docs import model_card, reference_pages

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")
INLINE_STYLE = re.compile(r"<[^>]*\sstyle=")
"""What ``script-src 'self'; style-src 'self'`` blocks: a page with either would render differently
behind nginx than in a file browser."""


MISSING_GRAPHVIZ = "Graphviz's dot draws the site's diagrams and is not installed: make system-deps installs it"


def render_diagrams(source: Path) -> None:
    """``diagrams/<name>.dot`` → ``_diagrams/<name>.svg`` with Graphviz, so pages show pictures that need
    no script and no network to draw."""
    if shutil.which("dot") is None:
        raise ExtensionError(MISSING_GRAPHVIZ)
    out = source / "_diagrams"
    out.mkdir(exist_ok=True)
    for dot in sorted((source / "diagrams").glob("*.dot")):
        svg = out / f"{dot.stem}.svg"
        if svg.exists() and svg.stat().st_mtime >= dot.stat().st_mtime:
            continue
        subprocess.run(["dot", "-Tsvg", "-o", str(svg), str(dot)], check=True, timeout=60)


def _model_card_is_current(source: Path) -> bool:
    card = source / "model-card.md"
    measured_with = (drawn_eval, drawn_sets, pen_digits, map_digits, model_card)
    inputs = (model_card.BAKED_IN / "manifest.json", *(Path(module.__file__ or "") for module in measured_with))
    return card.exists() and all(card.stat().st_mtime >= path.stat().st_mtime for path in inputs)


def generate(app: Sphinx) -> None:
    source = Path(app.srcdir)
    render_diagrams(source)
    reference_pages.write(source / "reference")
    if not _model_card_is_current(source):  # measuring the drawn set takes a while: only when it changed
        model_card.write(source)


def check_policy(app: Sphinx, error: Exception | None) -> None:
    if error is not None or app.builder.format != "html":
        return
    offending = []
    for page in sorted(Path(app.outdir).rglob("*.html")):
        text = page.read_text()
        for pattern, what in ((INLINE_SCRIPT, "an inline script"), (INLINE_STYLE, "an inline style")):
            if found := pattern.search(text):
                offending.append(f"{page.relative_to(app.outdir)}: {what}: {found.group(0)[:80]}")
    if offending:
        raise ExtensionError("pages the site's Content-Security-Policy would break:\n" + "\n".join(offending))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    app.connect("build-finished", check_policy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
