"""Safe extraction refuses everything that could escape or explode."""

from __future__ import annotations

import stat

import pytest

from digits_api.archive import ExtractionLimits, UnsafeArchiveError, extract_zip
from tests.support.archives import write_zip


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
