"""The one atomic writer: a reader sees the old file or the new one, never half, never debris."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facedemo.files import atomic_file, copy_atomic, write_json_atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    write_json_atomic(target, {"state": "running"})
    with pytest.raises(RuntimeError), atomic_file(target) as handle:
        handle.write(b'{"state": "fin')
        assert json.loads(target.read_text()) == {"state": "running"}  # not yet replaced
        raise RuntimeError("the writer died mid-file")
    assert json.loads(target.read_text()) == {"state": "running"}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_json_and_copies_arrive_whole(tmp_path: Path, shared_images: Path) -> None:
    write_json_atomic(tmp_path / "a.json", {"epoch": 3, "best": None})
    assert json.loads((tmp_path / "a.json").read_text()) == {"epoch": 3, "best": None}
    copy_atomic(shared_images / "img1.jpg", tmp_path / "copy.jpg")
    assert (tmp_path / "copy.jpg").read_bytes() == (shared_images / "img1.jpg").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "copy.jpg"]
