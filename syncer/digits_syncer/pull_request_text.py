"""What the syncer's pull requests say (pull-request mode): titles, and bodies carrying the gate's evidence.

Pure functions: the values come from the gate (``ports.Accepted``) and the state; every text a release
controls is clipped, so a body stays far inside GitHub's 65,536 characters.
"""

from __future__ import annotations

from digits_syncer.ports import Accepted
from digits_syncer.state import MAX_TEXT, Pin, Proposal, clip

MAX_BODY = 16_000
"""Longest body written, in characters."""


def release_title(tag: str) -> str:
    return f"Roll out model {tag}"


def release_body(tag: str, accepted: Accepted, asset: str, running: Pin) -> str:
    """The evidence a reviewer decides on: holdout accuracy against the serving model's, the bundle's
    digest and sizes, its labels, and what merging does."""
    serving = (
        "not compared" if accepted.serving_accuracy is None else f"{accepted.serving_accuracy:.4f} on the same digits"
    )
    labels = ", ".join(str(label) for label in accepted.labels) or "unknown"
    rows = [
        ("Holdout accuracy", f"{accepted.accuracy:.4f}"),
        ("Serving model's accuracy", f"{serving} ({_version(running)})"),
        ("Labels", labels),
        ("Bundle", f"`{clip(accepted.bundle_zip.name, 200)}`, {accepted.bundle_bytes:,} bytes"),
        ("Model", f"{accepted.model_bytes:,} bytes"),
        ("sha256", f"`{accepted.sha256}`"),
        ("Release asset", clip(asset, 300)),
    ]
    table = "\n".join(f"| {name} | {_cell(value)} |" for name, value in rows)
    text = (
        f"The digits syncer gated release `{tag}` of the training repository and proposes to roll it out.\n\n"
        f"| | |\n|---|---|\n{table}\n\n"
        f"Gate: {_cell(clip(accepted.reason, MAX_TEXT))}\n\n"
        "Merging rolls out the pin this pull request's merge commit names (edit it on the branch before"
        " merging to change what rolls out). Closing it without merging records the release as rejected:"
        f" it is not proposed again unless the syncer is asked (`--retry {tag}`). A newer accepted release"
        " closes this pull request and opens its own."
    )
    return clip(text, MAX_BODY)


def restore_title(pin: Pin) -> str:
    return f"Roll back the model pin to {_version(pin)}"


def restore_body(pin: Pin, reason: str) -> str:
    """Why the pin goes back: the cluster already runs it (a roll back does not wait for review)."""
    text = (
        f"The digits syncer rolled the api back to {_version(pin)} ({_cell(clip(reason, MAX_TEXT))}); the"
        " cluster runs it already. Merging this pull request makes the deployment repository say so too, so"
        " that re-applying the manifests keeps it.\n\n"
        f"| | |\n|---|---|\n| URL | {_cell(clip(pin.url, 2000)) or 'the baked-in bundle'} |\n"
        f"| sha256 | `{pin.sha256 or 'none'}` |"
    )
    return clip(text, MAX_BODY)


def superseded_comment(newer: Proposal | None) -> str:
    if newer is None:
        return "Superseded by a newer release: closed by the digits syncer."
    return f"Superseded by #{newer.number} (release `{newer.tag}`): closed by the digits syncer."


def _version(pin: Pin) -> str:
    return f"`{clip(pin.version, 250)}`" if pin.version else "the baked-in model"


def _cell(text: str) -> str:
    """``text`` on one line of a Markdown table."""
    return " ".join(text.replace("|", "\\|").split())
