"""The gate reads releases with the fetcher's reader: hostile bundles are rejected with a reason, never raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from digits_syncer.gate import Gate, GateSettings
from digits_syncer.ports import Rejected
from tests.support.archives import HOSTILE_ENTRIES, write_zip
from tests.support.bundles import DEEP_MANIFEST, invalid_utf8_manifest, zip_with_manifest

SETTINGS = GateSettings(
    foreign_labels=[2, 7, 8], foreign_scale=255, min_accuracy=0.9, max_regression=0.02, holdout_size=1000
)


def _unreachable():
    raise AssertionError("the gate evaluated a bundle it should have rejected")


def _hostile_zip(kind: str, baked_in_bundle: Path, archive: Path) -> Path:
    if kind == "invalid-utf8-manifest":
        return zip_with_manifest(
            baked_in_bundle, archive, invalid_utf8_manifest((baked_in_bundle / "manifest.json").read_bytes())
        )
    if kind == "deep-manifest":
        return zip_with_manifest(baked_in_bundle, archive, DEEP_MANIFEST)
    return write_zip(archive, HOSTILE_ENTRIES[kind][0])


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("invalid-utf8-manifest", r"manifest\.json: not valid UTF-8: byte \d+ is 0xff"),
        ("deep-manifest", r"manifest\.json: JSON nested 100000 levels deep, more than 32"),
        *((kind, reason) for kind, (_, reason) in HOSTILE_ENTRIES.items()),
    ],
)
def test_hostile_bundles_are_rejected_with_their_reason(tmp_path, baked_in_bundle, kind, reason):
    work = tmp_path / "work"
    work.mkdir()
    gate = Gate(SETTINGS, _unreachable, lambda labels, x, y: None)
    with pytest.raises(Rejected, match=reason):
        gate.check(_hostile_zip(kind, baked_in_bundle, tmp_path / "hostile.zip"), "v9", work)
