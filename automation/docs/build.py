"""Build the documentation site: ``python -m docs.build [OUT]`` (``make site``; the tests build with it too).

Warnings are errors: a broken cross-reference, a missing page in a toctree or a docstring autodoc cannot
read fails the build, as does a page with an inline script or style (``docs.site``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from sphinx.cmd.build import build_main

from docs.site import MISSING_GRAPHVIZ

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "docs"
OUT = REPO / "frontend" / "static" / "docs"
"""Inside the frontend's static files: nginx serves it at /docs/, and so does `make run`."""


def build(out: Path = OUT, doctrees: Path | None = None) -> int:
    if shutil.which("dot") is None:  # Sphinx would say so in a page-long report
        print(f"error: {MISSING_GRAPHVIZ}", file=sys.stderr)
        return 2
    doctrees = doctrees or out.parent / f".{out.name}-doctrees"
    return build_main(["-W", "--keep-going", "-q", "-b", "html", "-d", str(doctrees), str(SOURCE), str(out)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docs.build")
    parser.add_argument("out", nargs="?", type=Path, default=OUT, help=f"where the site goes (default {OUT})")
    args = parser.parse_args(argv)
    return build(args.out, REPO / "build" / "doctrees" if args.out == OUT else None)


if __name__ == "__main__":
    raise SystemExit(main())
