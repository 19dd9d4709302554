"""``python -m digits_training drift-report``: one self-contained HTML page from the store and a bundle.

Per drift feature: the bundle's training reference against the sampled live inputs, with the PSI and its
reading; live accuracy per model version by day; the confusion matrix of given against predicted digits;
and the drawings the model was most sure of and wrong about. No scripts, no external files: images are
inline PNGs, charts inline SVG.
"""

from __future__ import annotations

import base64
import html
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from digits_bundle import drift
from digits_bundle.bundle import ModelBundle
from digits_store.schema import feedback, input_samples
from digits_store.stats import summarise, wilson_interval

MAX_SAMPLES = 20_000
GALLERY = 24


@dataclass(frozen=True)
class ReportData:
    samples: list[dict[str, float]]
    answers: list[dict[str, Any]]


def read_store(engine: Engine, max_samples: int = MAX_SAMPLES) -> ReportData:
    with engine.connect() as connection:
        samples = connection.execute(
            select(input_samples.c.features).order_by(input_samples.c.id.desc()).limit(max_samples)
        ).all()
        answers = connection.execute(
            select(
                feedback.c.created_at,
                feedback.c.model_version,
                feedback.c.label,
                feedback.c.predicted,
                feedback.c.probabilities,
                feedback.c.image,
            )
        ).all()
    return ReportData([row.features for row in samples], [dict(row._mapping) for row in answers])


def png_data_uri(image: bytes, scale: int = 3) -> str:
    """A 28x28 grey image as an inline PNG, each pixel ``scale`` pixels wide (no imaging library needed)."""
    pixels = np.frombuffer(image, dtype=np.uint8).reshape(28, 28).repeat(scale, axis=0).repeat(scale, axis=1)
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    size = 28 * scale
    header = size.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _histogram_svg(reference: list[float] | None, live: list[float] | None, width: int = 260, height: int = 80) -> str:
    bins = len(reference or live or [])
    if not bins:
        return ""
    top = max([*(reference or []), *(live or []), 1e-9])
    slot = width / bins
    bars = []
    for i in range(bins):
        for offset, values, colour in ((0.1, reference, "#9aa3b5"), (0.5, live, "#2f6fdf")):
            if values is None:
                continue
            bar = values[i] / top * (height - 4)
            bars.append(
                f'<rect x="{i * slot + offset * slot:.1f}" y="{height - bar:.1f}" width="{slot * 0.4:.1f}"'
                f' height="{bar:.1f}" fill="{colour}"/>'
            )
    return f'<svg width="{width}" height="{height}" role="img" aria-hidden="true">{"".join(bars)}</svg>'


def drift_section(bundle: ModelBundle, data: ReportData) -> str:
    reference = bundle.manifest.drift_reference
    live_values = {name: np.array([s[name] for s in data.samples if name in s]) for name in drift.FEATURES}
    cards = []
    for scored in drift.compare(reference, live_values):
        shown = f"PSI {scored.psi:.3f}" if scored.psi is not None else "no PSI"
        cards.append(
            f'<article class="feature {scored.status}" data-feature="{scored.name}">'
            f'<h3>{scored.name.replace("_", " ")} <span class="badge">{scored.status} · {shown}</span></h3>'
            f"<p>{html.escape(drift.DESCRIPTIONS[scored.name])}</p>"
            f"{_histogram_svg(scored.reference, scored.live)}</article>"
        )
    source = (
        f"{reference.n:,} {html.escape(reference.dataset)} digits"
        if reference is not None
        else "no reference (this bundle records none)"
    )
    return (
        f"<section><h2>Drift of what people draw</h2><p>{len(data.samples):,} sampled inputs against {source}."
        f" Thresholds: {drift.PSI_MODERATE} moderate, {drift.PSI_SIGNIFICANT} significant."
        ' <span class="key ref">training</span> <span class="key live">sampled inputs</span></p>'
        f'<div class="grid">{"".join(cards)}</div></section>'
    )


def accuracy_section(data: ReportData) -> str:
    by_day: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for answer in data.answers:
        created: datetime = answer["created_at"]
        key = (answer["model_version"], created.date().isoformat())
        by_day[key][0] += 1
        by_day[key][1] += int(answer["label"] == answer["predicted"])
    rows = []
    for (version, day), (count, correct) in sorted(by_day.items()):
        low, high = wilson_interval(correct, count)
        rows.append(
            f"<tr><td>{html.escape(version)}</td><td>{day}</td><td>{count}</td><td>{correct}</td>"
            f"<td>{correct / count:.1%} ({low:.1%}–{high:.1%})</td></tr>"
        )
    stats = summarise([(a["model_version"], a["label"], a["predicted"], 1) for a in data.answers], max_versions=20)
    header = "".join(f"<th>{label}</th>" for label in stats.labels)
    matrix = "".join(
        f"<tr><th>{given}</th>"
        + "".join(f"<td{' class=diag' if i == j else ''}>{n or ''}</td>" for j, n in enumerate(stats.confusion[i]))
        + "</tr>"
        for i, given in enumerate(stats.labels)
    )
    overall = f"{stats.correct} of {stats.total} right" if stats.total else "no answers yet"
    return (
        f"<section><h2>Live accuracy</h2><p>{overall}.</p><table class=accuracy><tr><th>model</th><th>day</th>"
        f"<th>answers</th><th>right</th><th>accuracy (95 % interval)</th></tr>{''.join(rows)}</table>"
        f"<h3>Given (rows) against predicted (columns)</h3><table class=confusion><tr><th></th>{header}</tr>"
        f"{matrix}</table></section>"
    )


def gallery_section(data: ReportData, size: int = GALLERY) -> str:
    wrong = [a for a in data.answers if a["label"] != a["predicted"]]
    wrong.sort(key=lambda a: -float(a["probabilities"].get(str(a["predicted"]), 0.0)))
    figures = "".join(
        f'<figure><img alt="drawn {a["label"]}, predicted {a["predicted"]}" src="{png_data_uri(bytes(a["image"]))}">'
        f"<figcaption>said {a['label']}, predicted {a['predicted']}"
        f" ({float(a['probabilities'].get(str(a['predicted']), 0.0)):.0%})</figcaption></figure>"
        for a in wrong[:size]
    )
    return (
        f"<section><h2>Most confidently wrong</h2><p>{len(wrong)} answers said the prediction was wrong; the"
        f" {min(size, len(wrong))} the model was surest of:</p><div class=gallery>{figures}</div></section>"
    )


STYLE = """body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111;background:#f5f6f8}
h1{margin:0 0 .25rem}section{margin:1.5rem 0}table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{padding:.2rem .5rem;border:1px solid #ccd;text-align:right}.confusion td.diag{background:#e3f4e8}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:.75rem}
.feature{background:#fff;border:1px solid #ccd;border-radius:6px;padding:.5rem}.feature h3{margin:0;font-size:1rem}
.feature p{margin:.2rem 0;color:#444;font-size:.85rem}
.badge{font-size:.8rem;color:#fff;padding:0 .35rem;border-radius:3px}
.stable .badge{background:#0a8a3a}.moderate .badge{background:#b36b00}.significant .badge{background:#b00020}
.unknown .badge{background:#666}.key{padding:0 .4rem;color:#fff}
.key.ref{background:#9aa3b5}.key.live{background:#2f6fdf}
.gallery{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:0;font-size:.8rem;text-align:center}
figure img{display:block;border:1px solid #333;image-rendering:pixelated}"""


def render(bundle: ModelBundle, data: ReportData, generated: datetime) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Drift report: {html.escape(bundle.version)}"
        f"</title><style>{STYLE}</style></head><body><h1>Drift report</h1><p>Model {html.escape(bundle.version)}"
        f" ({html.escape(bundle.manifest.name)}), generated {generated:%Y-%m-%d %H:%M} UTC.</p>"
        f"{drift_section(bundle, data)}{accuracy_section(data)}{gallery_section(data)}</body></html>\n"
    )
