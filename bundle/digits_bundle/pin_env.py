"""The fetcher's environment: the names under which the pin (``kubernetes/base/model-pin.yaml``, the
syncer's patch of the api Deployment) hands the init container its bundle. Written once, here: the
fetcher (``digits_bundle.fetch``) reads them, the syncer's ``pin_manifest`` writes them."""

from __future__ import annotations

MODEL_URL = "MODEL_URL"
"""The bundle zip to fetch; empty: the image's baked-in bundle."""
MODEL_SHA256 = "MODEL_SHA256"
"""The sha256 of that zip, 64 hex characters; empty with an empty URL."""
