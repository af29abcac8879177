"""Content fingerprints change with content and names, not with time stamps alone."""

from __future__ import annotations

import os

import pytest

from mrptheory.data import fingerprint as fp


def test_same_content_same_fingerprint_and_a_swap_changes_it(tmp_path):
    a = tmp_path / "d" / "x.bin"
    a.parent.mkdir()
    a.write_bytes(b"abc" * 1000)
    first = fp.content_fingerprint(tmp_path / "d")
    os.utime(a, (1, 1))  # a new mtime with the same bytes: same content
    assert fp.content_fingerprint(tmp_path / "d") == first
    a.write_bytes(b"abd" * 1000)  # same size, other bytes
    assert fp.content_fingerprint(tmp_path / "d") != first


def test_renaming_or_adding_a_file_changes_a_folder_fingerprint(tmp_path):
    (tmp_path / "a").write_bytes(b"1")
    before = fp.content_fingerprint(tmp_path)
    (tmp_path / "a").rename(tmp_path / "b")
    renamed = fp.content_fingerprint(tmp_path)
    assert renamed != before
    (tmp_path / "c").write_bytes(b"")
    assert fp.content_fingerprint(tmp_path) not in (before, renamed)


def test_large_files_hash_both_ends(tmp_path, monkeypatch):
    monkeypatch.setattr(fp, "FULL_HASH_LIMIT", 10)
    monkeypatch.setattr(fp, "BLOCK", 4)
    f = tmp_path / "big"
    f.write_bytes(b"0123456789abcdef")
    first = fp.file_fingerprint(f)
    f.write_bytes(b"0123456789abcdeX")  # last byte differs
    os.utime(f, ns=(5, 5))
    assert fp.file_fingerprint(f) != first


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        fp.content_fingerprint(tmp_path / "nope")
