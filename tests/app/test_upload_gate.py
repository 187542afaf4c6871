"""ui.uploads: the upload manager's checks, driven directly (the real server: tests/e2e/test_hostile_server.py)."""

from __future__ import annotations

import pytest
from starlette.exceptions import HTTPException
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from ui import uploads

MB = 1024 * 1024


@pytest.fixture
def manager():  # noqa: ANN201
    made = uploads._guarded_manager_class()("/_stcore/upload_file")
    yield made
    for sid in ("s1", "s2", "anon"):
        uploads._forget(sid)


def _file(n: int, size: int) -> UploadedFileRec:
    return UploadedFileRec(file_id=f"f{n}", name=f"f{n}.pdf", type="application/pdf", data=b"\0" * size)


def _grant(session_id: str, max_mb: int) -> None:
    with uploads._lock:
        uploads._permits[session_id] = max_mb * MB


def test_no_permit_no_upload_and_the_permit_caps_the_size(manager) -> None:  # noqa: ANN001
    with pytest.raises(HTTPException) as refused:
        manager.add_file("anon", _file(1, 10))
    assert refused.value.status_code == 403 and manager.get_files("anon", ["f1"]) == []
    _grant("s1", 10)
    with pytest.raises(HTTPException) as too_big:
        manager.add_file("s1", _file(1, 10 * MB + 1))
    assert too_big.value.status_code == 413
    manager.add_file("s1", _file(2, 10 * MB))
    assert [f.file_id for f in manager.get_files("s1", ["f2"])] == ["f2"]


def test_a_session_keeps_its_newest_files_within_count_and_bytes(manager) -> None:  # noqa: ANN001
    _grant("s1", 10)
    for n in range(uploads.MAX_SESSION_FILES + 8):
        manager.add_file("s1", _file(n, 1 * MB))
    kept = list(manager.file_storage["s1"])
    assert len(kept) == uploads.MAX_SESSION_FILES and kept[-1] == f"f{uploads.MAX_SESSION_FILES + 7}"
    for n in range(100, 110):
        manager.add_file("s1", _file(n, 10 * MB))
    held = sum(len(f.data) for f in manager.file_storage["s1"].values())
    assert held <= uploads.MAX_SESSION_BYTES and "f109" in manager.file_storage["s1"]
    assert manager._total_bytes == held  # the accounting Streamlit's metrics read stays right


def test_the_process_total_is_capped(manager, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(uploads, "MAX_TOTAL_BYTES", 15 * MB)
    _grant("s1", 10)
    _grant("s2", 10)
    manager.add_file("s1", _file(1, 10 * MB))
    with pytest.raises(HTTPException) as full:
        manager.add_file("s2", _file(2, 10 * MB))
    assert full.value.status_code == 503 and "s2" not in manager.file_storage
    manager.remove_session_files("s1")  # a session ends: its files and its permit go
    assert manager._total_bytes == 0 and uploads.permit("s1") is None
