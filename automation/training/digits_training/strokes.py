"""Digits as pen strokes: polylines of (x, y) points, y downwards as on a canvas.

``trace_strokes`` walks an image's skeleton into the strokes a pen would have drawn; ``place`` fits
strokes into a box on the drawing pad.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from skimage.morphology import skeletonize

Point = tuple[float, float]
Stroke = list[Point]
Strokes = list[Stroke]

_Pixel = tuple[int, int]
_OFFSETS = [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)]


def trace_strokes(image: np.ndarray, threshold: int = 80) -> Strokes:
    """Polylines of (x, y) in the image's pixel coordinates that retrace the digit's skeleton."""
    skeleton = skeletonize(image > threshold)  # type: ignore[no-untyped-call]
    pixels: set[_Pixel] = {(int(y), int(x)) for y, x in zip(*np.nonzero(skeleton), strict=True)}

    def neighbours(p: _Pixel) -> list[_Pixel]:
        return [(p[0] + dy, p[1] + dx) for dy, dx in _OFFSETS if (p[0] + dy, p[1] + dx) in pixels]

    unused = {frozenset((p, q)) for p in pixels for q in neighbours(p)}

    def open_edges(p: _Pixel) -> list[_Pixel]:
        return [q for q in neighbours(p) if frozenset((p, q)) in unused]

    strokes: list[list[_Pixel]] = []
    while unused:
        # Start at a stroke end when there is one, as a pen would.
        candidates = sorted({p for edge in unused for p in edge})
        start = next((p for p in candidates if len(open_edges(p)) % 2 == 1), candidates[0])
        path, current = [start], start
        while options := open_edges(current):
            step = options[0]
            if len(path) > 1:  # keep going the same way where the skeleton branches
                dy, dx = current[0] - path[-2][0], current[1] - path[-2][1]
                step = min(options, key=lambda q: abs(q[0] - current[0] - dy) + abs(q[1] - current[1] - dx))
            unused.discard(frozenset((current, step)))
            path.append(step)
            current = step
        strokes.append(path)
    drawn = {p for stroke in strokes for p in stroke}
    strokes.extend([p] for p in sorted(pixels - drawn))
    return [[(x + 0.5, y + 0.5) for y, x in stroke] for stroke in strokes if len(stroke) > 1 or len(strokes) == 1]


def place(strokes: Sequence[Sequence[Point]], size: float, left: float, top: float) -> Strokes:
    """Scale the strokes so their longer side is ``size`` and put their box's corner at (left, top)."""
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    scale = size / span
    return [[(left + (x - min(xs)) * scale, top + (y - min(ys)) * scale) for x, y in stroke] for stroke in strokes]
