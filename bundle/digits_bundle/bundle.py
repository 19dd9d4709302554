"""Reading and verifying model bundles (directory or zip).

``load_bundle`` is the one gate every consumer goes through: the manifest must
parse, every file must be listed with a matching sha256 and nothing unlisted may
be present. Checking that the model's tensors agree with the manifest needs the
TFLite runtime and lives in ``digits_bundle.runtime``.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from digits_bundle.archive import DEFAULT_LIMITS, ExtractionLimits, UnsafeArchiveError, extract_zip
from digits_bundle.manifest import MANIFEST_FILE, MAX_MANIFEST_BYTES, MODEL_FILE, Manifest, ManifestError


class BundleError(ValueError):
    """The bundle is not a valid model bundle; the message says exactly why."""


@dataclass(frozen=True)
class ModelBundle:
    """A verified bundle on disk."""

    root: Path
    manifest: Manifest

    @property
    def model_path(self) -> Path:
        return self.root / MODEL_FILE

    @property
    def version(self) -> str:
        return self.manifest.version


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def list_files(root: Path) -> list[str]:
    """Every regular file under ``root`` but the manifest, as sorted POSIX relative paths."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if (path.is_file() or path.is_symlink()) and path.relative_to(root).as_posix() != MANIFEST_FILE
    )


def read_manifest(root: Path) -> Manifest:
    path = root / MANIFEST_FILE
    if not path.is_file():
        raise BundleError(f"{root}: no {MANIFEST_FILE} at the bundle root")
    with open(path, "rb") as stream:
        raw = stream.read(MAX_MANIFEST_BYTES + 1)  # a longer one is refused without reading it all
    try:
        return Manifest.from_json(raw)
    except ManifestError as error:
        raise BundleError(f"{path}: {error}") from error


def verify_directory(root: Path) -> ModelBundle:
    """Check the manifest and every file digest of an unpacked bundle.

    Every way the directory can be wrong, unreadable files included, is a ``BundleError``.
    """
    try:
        return _verify_directory(root.resolve())
    except (OSError, RuntimeError) as error:  # RuntimeError: Path.resolve on a symlink loop
        raise BundleError(f"{root}: cannot read the bundle: {getattr(error, 'strerror', None) or error}") from error


def _verify_directory(root: Path) -> ModelBundle:
    if not root.is_dir():
        raise BundleError(f"{root}: not a directory")
    manifest = read_manifest(root)
    present = list_files(root)
    for name in present:
        if (root / name).is_symlink():
            raise BundleError(f"{root}: {name} is a symbolic link")
    unlisted = sorted(set(present) - set(manifest.files))
    if unlisted:
        raise BundleError(f"{root}: files not listed in the manifest: {', '.join(unlisted)}")
    for name, expected in sorted(manifest.files.items()):
        path = root / name
        if not path.is_file():
            raise BundleError(f"{root}: missing file {name} listed in the manifest")
        actual = sha256_file(path)
        if actual != expected:
            raise BundleError(f"{root}: sha256 of {name} is {actual}, manifest says {expected}")
    return ModelBundle(root=root, manifest=manifest)


def bundle_root(directory: Path) -> Path:
    """The bundle root inside an unpacked zip: itself, or its single top-level folder."""
    if (directory / MANIFEST_FILE).exists():
        return directory
    entries = [p for p in directory.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / MANIFEST_FILE).exists():
        return entries[0]
    return directory


def unpack_bundle_zip(archive: Path, destination: Path, limits: ExtractionLimits = DEFAULT_LIMITS) -> Path:
    """Safely extract a bundle zip into ``destination`` (which must not exist); returns the bundle root."""
    destination.mkdir(parents=True)
    try:
        extract_zip(archive, destination, limits)
    except UnsafeArchiveError as error:
        shutil.rmtree(destination, ignore_errors=True)
        raise BundleError(f"{archive.name}: {error}") from error
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise
    return bundle_root(destination)


@contextmanager
def opened_bundle(path: Path) -> Iterator[ModelBundle]:
    """Verify a bundle directory or zip; a zip is unpacked into a temporary directory for the duration."""
    if path.is_dir():
        yield verify_directory(path)
        return
    if not path.is_file():
        raise BundleError(f"{path}: no such bundle")
    with tempfile.TemporaryDirectory(prefix="bundle-") as scratch:
        yield verify_directory(unpack_bundle_zip(path, Path(scratch) / "unpacked"))


def write_manifest(root: Path, manifest: Manifest) -> None:
    (root / MANIFEST_FILE).write_text(manifest.to_json())


def digest_files(root: Path) -> dict[str, str]:
    return {name: sha256_file(root / name) for name in list_files(root)}


def zip_bundle(root: Path, archive: Path) -> Path:
    """Zip a bundle directory with its files at the zip root (deterministic order)."""
    tmp = archive.with_name(archive.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in [MANIFEST_FILE, *list_files(root)]:
            zf.write(root / name, name)
    tmp.replace(archive)
    return archive
