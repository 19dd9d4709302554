"""Pad-style renderings: digits redrawn as the drawing page would receive them.

A digit's strokes (an MNIST digit's skeleton, see ``strokes.trace_strokes``, or a font's glyph) are bent
by a small smooth (elastic) displacement, sheared, turned and stretched, wobbled along their length,
placed at a random size and position on a canvas the size of the page's, drawn with a round brush of a
random width, and passed through the page's own preprocessing (``page_preprocessing.preprocess``) to the
28x28 uint8 image the page would send. Every image has its own random generator, spawned from one seed:
the same seed gives the same images, however they are batched.

The brush (``draw_strokes``) paints as the page's canvas does while the pointer moves: a round dot where
a stroke starts, then each segment as a round-capped stroke of its own over what is there, antialiased as
Chromium does (four sub-scanlines per pixel row, exact coverage along each). Strokes traced through the
real page in Chromium give the same 28x28 images within a few grey levels
(tests/frontend/test_drawn_digits_in_browser.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from digits_training.page_preprocessing import SIZE, preprocess
from digits_training.strokes import Point, trace_strokes

PAD = 280
"""The page's canvas side, canvas pixels (frontend/static/index.html ``#pad``)."""
PAGE_BRUSH = 18.0
"""The page's brush width, canvas pixels (``BRUSH`` in frontend/static/assets/app.js)."""
SUBSCANLINES = 4
"""Sub-scanlines per pixel row over which Chromium's canvas antialiases a stroke's edge, exact along each
(measured on the page: a horizontal edge's pixel comes out in quarters of full ink)."""

Polylines = list[np.ndarray]
"""Strokes as arrays of shape (n, 2): x, y."""


@dataclass(frozen=True)
class PadStyle:
    """How varied the renderings are. Lengths in the digit's own units are fractions of its longer side."""

    min_size: float = PAD / 3
    """Smallest longer side of a drawing's stroke centre lines, canvas pixels (a third of the pad)."""
    max_size: float = PAD
    """Largest longer side, canvas pixels; each drawing's is also at most the pad less its brush and 2 px,
    so that all its ink is on the canvas."""
    min_brush: float = 12.0
    """Narrowest brush, canvas pixels (the page's is 18)."""
    max_brush: float = 26.0
    """Widest brush, canvas pixels."""
    max_aspect: float = 1.3
    """Widest stretch of width against height, a factor: each drawing gets exp(uniform(±log max_aspect))."""
    max_rotation_deg: float = 12.0
    """Largest rotation, degrees either way."""
    max_shear: float = 0.25
    """Largest horizontal shear, x shift per unit of y (slanted handwriting)."""
    elastic: float = 0.035
    """Amplitude of the smooth displacement field, fraction of the digit's longer side."""
    elastic_wavelength: float = 0.7
    """Typical wavelength of that field, fraction of the longer side (large: bends, not wiggles)."""
    jitter: float = 0.012
    """Standard deviation of the wobble along each stroke, fraction of the longer side."""

    def __post_init__(self) -> None:
        if not 0 < self.min_size <= self.max_size <= PAD:
            raise ValueError(
                f"sizes must satisfy 0 < min_size <= max_size <= {PAD}, got {self.min_size}, {self.max_size}"
            )
        if not 0 < self.min_brush <= self.max_brush or self.min_size + self.max_brush + 2 > PAD:
            raise ValueError(
                "brushes must be positive, min_brush <= max_brush, and min_size + max_brush + 2 <= the pad"
            )
        if self.max_aspect < 1:
            raise ValueError(f"max_aspect must be at least 1, got {self.max_aspect}")


def as_polylines(strokes: Sequence[Sequence[Point] | np.ndarray]) -> Polylines:
    return [np.asarray(stroke, dtype=np.float64).reshape(-1, 2) for stroke in strokes if len(stroke)]


def draw_strokes(
    strokes: Sequence[Sequence[Point] | np.ndarray], brush: float = PAGE_BRUSH, size: int = PAD
) -> np.ndarray:
    """Ink (0..255, uint8) of a ``size`` x ``size`` canvas with ``strokes`` drawn by a round brush.

    Drawn as the page draws while the pointer moves: a dot where each stroke starts, then every segment as
    a stroke of its own, each painted over what is there (so edges darken where segments overlap). Each
    segment's coverage is computed in a window around it, all windows at once (one size per drawing).
    """
    lines = [np.vstack([line[:1], line]) for line in as_polylines(strokes)]  # the first point's dot
    if not lines:
        return np.zeros((size, size), dtype=np.uint8)
    starts = np.vstack([line[:-1] for line in lines])
    ends = np.vstack([line[1:] for line in lines])
    radius = brush / 2
    reach = radius + 1.0
    corners = np.floor(np.minimum(starts, ends) - reach).astype(np.int64)  # (s, 2): x, y of each window
    side = int(np.ceil(np.abs(ends - starts).max() + 2 * reach)) + 2
    offsets = (np.arange(side) + 0.5).astype(np.float32)
    # Pixel centres relative to each segment's start, (s, side) along x and along y.
    px = (corners[:, :1] - starts[:, :1]).astype(np.float32) + offsets[None, :]
    py = (corners[:, 1:] - starts[:, 1:]).astype(np.float32) + offsets[None, :]
    direction = (ends - starts).astype(np.float32)
    length2 = np.maximum((direction**2).sum(axis=1), 1e-12)
    dx, dy = direction[:, 0, None, None], direction[:, 1, None, None]
    px3, py3 = px[:, None, :], py[:, :, None]  # windows are [segment, y, x]
    t = np.clip((px3 * dx + py3 * dy) / length2[:, None, None], 0.0, 1.0)
    ex, ey = px3 - t * dx, py3 - t * dy
    distance = np.sqrt(ex * ex + ey * ey)  # np.hypot is several times slower
    windows = (distance <= radius - 1).astype(np.float32)
    # Within a pixel of the edge: the share of each sub-scanline inside the brush, averaged.
    segment, row, column = np.nonzero(np.abs(distance - radius) < 1)
    sx, sy0 = px[segment, column], py[segment, row]
    sdx, sdy, slength2 = direction[segment, 0], direction[segment, 1], length2[segment]
    share = np.zeros(len(segment), dtype=np.float32)
    for k in range(SUBSCANLINES):
        sy = sy0 + ((k + 0.5) / SUBSCANLINES - 0.5)
        st = np.clip((sx * sdx + sy * sdy) / slength2, 0.0, 1.0)
        sex, sey = sx - st * sdx, sy - st * sdy
        sdistance = np.sqrt(sex * sex + sey * sey)
        # Along the sub-scanline the edge lies (radius - distance) / |cos| of its normal's angle from x away.
        across = np.maximum(np.abs(sex) / np.maximum(sdistance, 1e-6), 1e-3)
        share += np.clip((radius - sdistance) / across + 0.5, 0.0, 1.0)
    windows[segment, row, column] = share / SUBSCANLINES
    # A margin of one window on every side: no window needs clipping at the canvas' edges.
    clear = np.ones((size + 2 * side, size + 2 * side), dtype=np.float32)  # the share of white left: 1 - coverage
    for (x0, y0), window in zip(corners + side, windows, strict=True):
        if -side < x0 - side < size and -side < y0 - side < size:
            target = clear[y0 : y0 + side, x0 : x0 + side]
            target *= 1 - window
    ink: np.ndarray = np.floor((1 - clear[side : side + size, side : side + size]) * 255 + 0.5).astype(np.uint8)
    return ink


def _smooth(line: np.ndarray, passes: int = 1) -> np.ndarray:
    """A [1, 2, 1]/4 moving average along the stroke, ends kept: the skeleton's pixel steps rounded off."""
    for _ in range(passes):
        if len(line) < 3:
            return line
        inner = (line[:-2] + 2 * line[1:-1] + line[2:]) / 4
        line = np.vstack([line[:1], inner, line[-1:]])
    return line


def distort(strokes: Polylines, style: PadStyle, rng: np.random.Generator) -> Polylines:
    """Strokes bent, stretched, turned, sheared and wobbled; in units of their own longer side, origin at centre."""
    points = np.vstack(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    span = max(float((high - low).max()), 1e-6)
    centre = (low + high) / 2
    lines = [(line - centre) / span for line in strokes]

    # Elastic: a few random plane waves of displacement, smooth over the digit.
    waves = 3
    directions = rng.normal(size=(waves, 2))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    frequencies = 2 * np.pi / (style.elastic_wavelength * rng.uniform(0.7, 1.4, size=waves))
    phases = rng.uniform(0, 2 * np.pi, size=waves)
    amplitudes = rng.normal(scale=style.elastic / math.sqrt(waves), size=(waves, 2))

    angle = math.radians(rng.uniform(-style.max_rotation_deg, style.max_rotation_deg))
    shear = rng.uniform(-style.max_shear, style.max_shear)
    aspect = math.exp(rng.uniform(-math.log(style.max_aspect), math.log(style.max_aspect)))
    cos, sin = math.cos(angle), math.sin(angle)
    # Applied to row vectors: stretch (x by sqrt(aspect), y by 1/sqrt(aspect)), shear x by y, then rotate.
    stretch = np.diag([math.sqrt(aspect), 1 / math.sqrt(aspect)])
    shearing = np.array([[1.0, 0.0], [shear, 1.0]])
    rotation = np.array([[cos, sin], [-sin, cos]])
    linear = stretch @ shearing @ rotation

    out = []
    for line in lines:
        bent = line + np.sin(line @ directions.T * frequencies + phases) @ amplitudes
        wobble = _smooth(rng.normal(scale=style.jitter, size=line.shape), passes=2)
        out.append(_smooth(bent + wobble) @ linear)
    return out


def place_on_pad(strokes: Polylines, size: float, brush: float, rng: np.random.Generator) -> Polylines:
    """Strokes scaled so their longer side is ``size`` canvas pixels, at a random place with all ink on the pad."""
    points = np.vstack(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = size / max(float((high - low).max()), 1e-6)
    extent = (high - low) * scale
    margin = brush / 2 + 1
    corner = np.array([rng.uniform(margin, max(margin, PAD - margin - e)) for e in extent])
    return [(line - low) * scale + corner for line in strokes]


def render_strokes(
    strokes: Polylines, style: PadStyle, rng: np.random.Generator
) -> tuple[np.ndarray, Polylines, float]:
    """One drawing: (28x28 uint8 image, its strokes on the pad, its brush width)."""
    brush = float(rng.uniform(style.min_brush, style.max_brush))
    size = float(rng.uniform(style.min_size, min(style.max_size, PAD - brush - 2)))
    on_pad = place_on_pad(distort(strokes, style, rng), size, brush, rng)
    image = preprocess(draw_strokes(on_pad, brush))
    return (np.zeros((SIZE, SIZE), np.uint8) if image is None else image), on_pad, brush


def image_rngs(seed: int, count: int, start: int = 0) -> list[np.random.Generator]:
    """The generators of images ``start`` .. ``start + count`` of a set made with ``seed``: each image's is the
    same however the set is split into batches."""
    children = np.random.SeedSequence(seed).spawn(start + count)[start:]
    return [np.random.default_rng(child) for child in children]


def render_digits(images: np.ndarray, seed: int, style: PadStyle = PadStyle(), start: int = 0) -> np.ndarray:
    """Pad-style renderings (n, 28, 28) uint8 of digit images (n, 28, 28), white on black, one each.

    ``start``: the position of ``images[0]`` in the whole set, so that a set rendered in pieces comes out
    as if rendered at once."""
    out = np.zeros((len(images), SIZE, SIZE), dtype=np.uint8)
    for index, (image, rng) in enumerate(zip(images, image_rngs(seed, len(images), start), strict=True)):
        strokes = as_polylines(trace_strokes(image))
        if strokes:
            out[index] = render_strokes(strokes, style, rng)[0]
    return out
