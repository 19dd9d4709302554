"""The kustomize patch that pins the api's model (``kubernetes/base/model-pin.yaml``), as text."""

from __future__ import annotations

import json

from digits_syncer.state import Pin

VERSION_ANNOTATION = "digits.app/model-version"
FETCH_CONTAINER = "fetch-model"


def render_pin(pin: Pin, deployment: str) -> str:
    """The file the syncer commits with each rollout, so re-applying the manifests keeps the model:
    a patch of the api Deployment named ``deployment`` (the ``DIGITS_SYNCER_DEPLOYMENT`` setting)."""
    return f"""# The pinned model bundle. Empty URL: the api image's baked-in bundle.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {_quote(deployment)}
spec:
  template:
    metadata:
      annotations:
        {VERSION_ANNOTATION}: {_quote(pin.version)}
    spec:
      initContainers:
        - name: {FETCH_CONTAINER}
          env:
            - name: MODEL_URL
              value: {_quote(pin.url)}
            - name: MODEL_SHA256
              value: {_quote(pin.sha256)}
"""


def _quote(value: str) -> str:
    """A YAML double-quoted scalar: JSON's escaping (ASCII only, every control character escaped) is
    valid YAML, so no value can end the line or the string early."""
    return json.dumps(value, ensure_ascii=True)
