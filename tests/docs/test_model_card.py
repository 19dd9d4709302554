"""The model card's text says what the model was trained on, pen digits included or not."""

from __future__ import annotations

from digits_bundle.bundle import verify_directory
from docs.model_card import page


def _card(manifest) -> str:
    metrics = manifest.metrics
    return page(manifest, metrics, "", 0, pen=metrics, maps=metrics, numbers="int8")


def test_the_card_of_a_model_without_pen_renderings_says_it_saw_none(baked_in_bundle):
    manifest = verify_directory(baked_in_bundle).manifest
    assert manifest.training.data is not None and manifest.training.data.pen_renderings == 0
    card = _card(manifest)
    assert "It was trained on none of the 10,992." in card and "renderings of pen digits" not in card


def test_the_card_of_a_model_with_pen_renderings_says_its_writers_are_not_strangers(baked_in_bundle):
    manifest = verify_directory(baked_in_bundle).manifest
    assert manifest.training.data is not None
    data = manifest.training.data.model_copy(update={"pen_renderings": 400})
    card = _card(manifest.model_copy(update={"training": manifest.training.model_copy(update={"data": data})}))
    assert "400 renderings of pen digits (below) and" in card
    assert "these writers are not strangers to it" in card and "none of the 10,992" not in card
