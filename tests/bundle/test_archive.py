"""Safe extraction refuses everything that could escape, explode or not fit, before writing a byte of it."""

from __future__ import annotations

import stat
import zipfile

import pytest

from digits_bundle.archive import ExtractionLimits, UnsafeArchiveError, extract_zip
from tests.support.archives import HOSTILE_ENTRIES, declare_size, write_zip


def test_regular_archive_extracts(tmp_path):
    archive = write_zip(tmp_path / "ok.zip", [("a/b.txt", b"hello", None), ("c.txt", b"x", None)])
    extract_zip(archive, tmp_path / "out")
    assert (tmp_path / "out" / "a" / "b.txt").read_bytes() == b"hello"


@pytest.mark.parametrize(
    ("name", "message"),
    [("../evil.txt", "escapes"), ("a/../../evil.txt", "escapes"), ("/etc/evil", "absolute"), ("C:/evil", "absolute")],
)
def test_path_escapes_are_refused(tmp_path, name, message):
    archive = write_zip(tmp_path / "evil.zip", [(name, b"x", None)])
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_symlinks_are_refused(tmp_path):
    archive = write_zip(tmp_path / "link.zip", [("model.tflite", b"/etc/passwd", stat.S_IFLNK | 0o777)])
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        extract_zip(archive, tmp_path / "out")


def test_a_zip_bomb_is_stopped(tmp_path):
    archive = write_zip(tmp_path / "bomb.zip", [("zeros", b"\0" * (64 * 1024 * 1024), None)])
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        extract_zip(archive, tmp_path / "out")
    with pytest.raises(UnsafeArchiveError, match="inflates to more than"):
        extract_zip(archive, tmp_path / "out2", ExtractionLimits(max_total_bytes=1024 * 1024, max_ratio=1e9))


def test_truncated_and_non_zip_archives_are_refused(tmp_path):
    archive = write_zip(tmp_path / "ok.zip", [("data.bin", bytes(range(256)) * 4000, None)])
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(UnsafeArchiveError, match="not a valid zip"):
        extract_zip(truncated, tmp_path / "out")
    text = tmp_path / "text.zip"
    text.write_text("hello")
    with pytest.raises(UnsafeArchiveError, match="not a valid zip"):
        extract_zip(text, tmp_path / "out3")


def test_too_many_entries(tmp_path):
    archive = write_zip(tmp_path / "many.zip", [(f"f{i}", b"", None) for i in range(20)])
    with pytest.raises(UnsafeArchiveError, match="20 entries"):
        extract_zip(archive, tmp_path / "out", ExtractionLimits(max_entries=10))


@pytest.mark.parametrize("kind", sorted(HOSTILE_ENTRIES))
def test_entries_no_file_system_can_hold_are_refused_before_writing(tmp_path, kind):
    entries, reason = HOSTILE_ENTRIES[kind]
    archive = write_zip(tmp_path / "hostile.zip", entries)
    (tmp_path / "out").mkdir()
    with pytest.raises(UnsafeArchiveError, match=reason):
        extract_zip(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("a/" * 40 + "f", b"x", None)], "deeper than 32 levels"),
        ([("/".join(["d" * 200] * 6), b"x", None)], "longer than 1024 bytes"),
        ([("a\nb", b"x", None)], "control characters"),
        ([("a", b"1", None), ("a", b"2", None)], "holds 'a' twice"),
        ([("a/b", b"1", None), ("a\\b", b"2", None)], "holds 'a/b' twice"),
        ([("x", b"1", None), ("x/", b"", None)], "both a file and a folder"),
        ([("./", b"", None)], "has no name"),
    ],
    ids=[
        "too-deep",
        "path-too-long",
        "control-character",
        "twice",
        "twice-with-backslash",
        "file-and-folder-entry",
        "no-name",
    ],
)
def test_entry_names_are_checked_before_writing(tmp_path, entries, message):
    archive = write_zip(tmp_path / "names.zip", entries)
    (tmp_path / "out").mkdir()
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_zip(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_declared_sizes_are_refused_before_writing(tmp_path):
    archive = write_zip(tmp_path / "big.zip", [(f"f{i}", b"\0" * 1024 * 1024, None) for i in range(20)])
    (tmp_path / "out").mkdir()
    with pytest.raises(UnsafeArchiveError, match=r"inflates to more than 16777216 bytes: its entries declare 20971520"):
        extract_zip(archive, tmp_path / "out", ExtractionLimits(max_total_bytes=16 * 1024 * 1024))
    assert list((tmp_path / "out").iterdir()) == []


def test_space_is_counted_in_blocks(tmp_path):
    archive = write_zip(tmp_path / "small.zip", [(f"d/f{i}", b"x", None) for i in range(10)])
    with pytest.raises(UnsafeArchiveError, match="declare 45056"):  # ten 1-byte files and their folder: 11 blocks
        extract_zip(archive, tmp_path / "out", ExtractionLimits(max_total_bytes=40_000))
    extract_zip(archive, tmp_path / "out2", ExtractionLimits(max_total_bytes=45_056))
    assert len(list((tmp_path / "out2" / "d").iterdir())) == 10


def test_a_header_that_understates_the_size_writes_no_more_than_it_declares(tmp_path):
    archive = declare_size(write_zip(tmp_path / "liar.zip", [("data", bytes(range(256)) * 4096, None)]), 1000)
    with pytest.raises(UnsafeArchiveError, match="Bad CRC-32"):
        extract_zip(archive, tmp_path / "out")
    assert (tmp_path / "out" / "data").stat().st_size <= 1000


def test_corrupt_data_encryption_and_other_methods_are_refused(tmp_path):
    archive = write_zip(tmp_path / "ok.zip", [("data", bytes(range(256)) * 400, None)])
    corrupt = bytearray(archive.read_bytes())
    corrupt[60:90] = b"\xff" * 30  # inside the deflated data
    (tmp_path / "corrupt.zip").write_bytes(bytes(corrupt))
    with pytest.raises(UnsafeArchiveError, match=r"corrupt|not a valid zip"):
        extract_zip(tmp_path / "corrupt.zip", tmp_path / "out1")
    encrypted = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the general purpose flag, bit 0
        at = encrypted.find(signature)
        encrypted[at + offset] |= 1
    (tmp_path / "encrypted.zip").write_bytes(bytes(encrypted))
    with pytest.raises(UnsafeArchiveError, match="encrypted"):
        extract_zip(tmp_path / "encrypted.zip", tmp_path / "out2")
    with zipfile.ZipFile(tmp_path / "bz2.zip", "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("data", b"x")
    with pytest.raises(UnsafeArchiveError, match="compression method 12"):
        extract_zip(tmp_path / "bz2.zip", tmp_path / "out3")


def test_names_that_are_not_utf8_are_refused(tmp_path):
    archive = write_zip(tmp_path / "names.zip", [("café", b"x", None)])
    raw = archive.read_bytes().replace("café".encode(), b"caf\xff\xff")
    (tmp_path / "bad.zip").write_bytes(raw)
    with pytest.raises(UnsafeArchiveError, match="not valid UTF-8"):
        extract_zip(tmp_path / "bad.zip", tmp_path / "out")
