"""MNIST digits traced as pen strokes: the training code's tracing, where the browser tests have long found it."""

from __future__ import annotations

from digits_training.strokes import place, trace_strokes

__all__ = ["place", "trace_strokes"]
