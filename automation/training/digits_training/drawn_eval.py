"""A drawn-digit evaluation set that is not MNIST: font digits redrawn as the page would receive them.

Sources (installed from PyPI, nothing downloaded at run time):

- the Hershey vector fonts (package ``Hershey-Fonts``): their digits are strokes already. Of its 32 fonts,
  six have digit designs of their own (the others repeat one of these, or are blackletter, symbols or
  Japanese): simplex sans, duplex, complex roman, complex italic (= script), triplex, triplex italic.
- "Shadows Into Light", a handwriting font (OFL) shipped by the package ``handwriting-generator``: its
  digits are outlines, rendered and traced into strokes along their skeleton (``strokes.trace_strokes``).

Each drawing is one font's digit, turned, sheared, stretched and wobbled (no elastic bending: that is
the training renderings' own distortion), placed at a random size from a third of the pad to the whole
of it and at a random position, drawn with the page's 18 px round brush and passed through the page's
preprocessing. Digits and fonts take turns, so each label has the same number of drawings from each font.
MNIST is no part of it, nor are scikit-learn's 8x8 digits (kept for an independent check).

The set's file (``save``/``load``, one author): an .npz with ``images`` (n, 28, 28) uint8, ``labels`` (n,)
int64, ``fonts`` (n,) index into ``font_names``, ``font_names``, ``seed``, ``count`` and ``format``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from digits_training.drawn_sets import STYLE, DrawnEvalSet
from digits_training.pad_renderings import PAD, PAGE_BRUSH, Polylines, image_rngs, render_strokes
from digits_training.page_preprocessing import SIZE
from digits_training.strokes import trace_strokes

FORMAT = "drawn-digits/1"
DIGITS = "0123456789"
HERSHEY_FONTS = ("futural", "futuram", "timesr", "scripts", "timesrb", "timesib")
"""Hershey fonts whose digits differ from each other's (``scripts`` = ``scriptc`` = ``timesi`` there)."""
HANDWRITING_FONT = "shadows-into-light"
FONT_NAMES = (*(f"hershey-{name}" for name in HERSHEY_FONTS), HANDWRITING_FONT)

_GLYPH_PX = 160
"""Size the handwriting font is rendered at before tracing, pixels (its digits come out about 90 px high)."""
_TRACED_POINT_STRIDE = 3
"""Keep every third point of a traced skeleton: 1 px steps would make hundreds of tiny segments."""


@dataclass(frozen=True)
class DrawnDigit:
    """One drawing: its label, the font it came from, its strokes on the pad (canvas pixels) and brush."""

    label: int
    font: str
    strokes: Polylines
    brush: float
    image: np.ndarray
    """The 28x28 uint8 image the page sends for it."""


def _hershey_glyphs(name: str) -> list[Polylines]:
    from HersheyFonts import HersheyFonts

    font = HersheyFonts()
    font.load_default_font(name)
    return [
        [np.asarray(stroke, dtype=np.float64) for stroke in font.strokes_for_text(digit) if len(stroke)]
        for digit in DIGITS
    ]


def _handwriting_glyphs() -> list[Polylines]:
    from PIL import Image, ImageDraw, ImageFont

    path = files("handwriting_generator") / "fonts" / "ShadowsIntoLight.ttf"
    font = ImageFont.truetype(str(path), _GLYPH_PX)
    glyphs = []
    for digit in DIGITS:
        canvas = Image.new("L", (_GLYPH_PX * 2, _GLYPH_PX * 2), 0)
        ImageDraw.Draw(canvas).text((_GLYPH_PX // 2, 0), digit, fill=255, font=font)
        traced = trace_strokes(np.asarray(canvas), threshold=127)
        glyphs.append([np.asarray(stroke[::_TRACED_POINT_STRIDE] + stroke[-1:], dtype=np.float64) for stroke in traced])
    return glyphs


@cache
def font_glyphs() -> dict[str, list[Polylines]]:
    """Strokes of the digits 0..9 of each font, in the font's own units (y downwards)."""
    glyphs = {f"hershey-{name}": _hershey_glyphs(name) for name in HERSHEY_FONTS}
    glyphs[HANDWRITING_FONT] = _handwriting_glyphs()
    return glyphs


def drawn_digits(indices: Sequence[int], seed: int) -> list[DrawnDigit]:
    """The drawings at ``indices`` of the set made with ``seed`` (each drawing has its own generator)."""
    glyphs = font_glyphs()
    rngs = image_rngs(seed, max(indices, default=-1) + 1)
    out = []
    for index in indices:
        label = index % len(DIGITS)
        font = FONT_NAMES[(index // len(DIGITS)) % len(FONT_NAMES)]
        image, strokes, brush = render_strokes(glyphs[font][label], STYLE, rngs[index])
        out.append(DrawnDigit(label=label, font=font, strokes=strokes, brush=brush, image=image))
    return out


def make_drawn_eval_set(count: int = 1000, seed: int = 20261130) -> DrawnEvalSet:
    drawings = drawn_digits(range(count), seed)
    return DrawnEvalSet(
        images=np.stack([d.image for d in drawings]) if drawings else np.zeros((0, SIZE, SIZE), np.uint8),
        labels=np.array([d.label for d in drawings], dtype=np.int64),
        fonts=np.array([FONT_NAMES.index(d.font) for d in drawings], dtype=np.int64),
        font_names=FONT_NAMES,
        seed=seed,
    )


def save(data: DrawnEvalSet, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        np.savez_compressed(
            out,
            format=np.array(FORMAT),
            images=data.images,
            labels=data.labels,
            fonts=data.fonts,
            font_names=np.array(data.font_names),
            seed=np.array(data.seed),
            count=np.array(data.count),
            pad=np.array(PAD),
            brush=np.array(PAGE_BRUSH),
        )


def load(path: Path) -> DrawnEvalSet:
    with np.load(path, allow_pickle=False) as stored:
        if str(stored["format"]) != FORMAT:
            raise ValueError(f"{path}: not a drawn-digit set of format {FORMAT} (says {stored['format']})")
        data = DrawnEvalSet(
            images=stored["images"],
            labels=stored["labels"],
            fonts=stored["fonts"],
            font_names=tuple(str(name) for name in stored["font_names"]),
            seed=int(stored["seed"]),
        )
        if data.count != int(stored["count"]) or data.images.shape != (data.count, SIZE, SIZE):
            raise ValueError(
                f"{path}: {data.count} labels, images of shape {data.images.shape}, count {stored['count']}"
            )
    return data
