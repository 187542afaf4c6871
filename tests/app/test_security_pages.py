"""Security in the pages (issue 11): user text shown as text, broken images never stop the review forms."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from db.models import Attachment, Enterprise, Submission
from db.session import session_scope
from tests.app.conftest import actor_of, page_as
from tests.unit.test_images import BROKEN_PNG

EVIL_NAME = "[点此查看原件](https://evil.example) ![t](https://evil.example/t.png).pdf"
EVIL_REASON = "请补充 **证书** [官网](https://evil.example) :red[紧急] ![x](https://evil.example/x.png)"


def _markdown_sources(at) -> list[str]:  # noqa: ANN001 - AppTest
    """Every string Streamlit would render as Markdown on this run (bodies, captions, labels)."""
    out: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader",
                 "expander", "toast"):
        for element in getattr(at, kind, []):
            out.append(str(getattr(element, "value", "")))
            out.append(str(getattr(element, "label", "")))
    return out


def _pending_submission() -> tuple[int, str]:
    with session_scope() as session:
        sub_id, ent_id = session.execute(select(Submission.id, Submission.enterprise_id)
                                         .where(Submission.state == "submitted").order_by(Submission.id)).first()
        code = session.get(Enterprise, ent_id).credit_code
        # A broken "image" stored before upload checks existed (no thumbnail), with a hostile file name.
        session.add(Attachment(submission_id=sub_id, enterprise_id=ent_id, file_name=EVIL_NAME,
                               content_type="image/png", size=len(BROKEN_PNG),
                               sha256=hashlib.sha256(BROKEN_PNG).hexdigest(), content=BROKEN_PNG))
    return sub_id, code


def test_broken_image_and_hostile_file_name_do_not_stop_the_review_form(fresh_db: str) -> None:
    _, code = _pending_submission()
    at = page_as("pages/officer/review.py", actor_of("officer1")).run()
    at.text_input(key="review_search").input(code).run()  # a search that finds one report opens it
    assert not at.exception, at.exception
    labels = [b.label for b in at.button]
    assert "审核通过" in labels and "退回企业修改" in labels
    assert any("无法预览" in str(i.value) for i in at.info)
    # The file name is shown, character for character, as plain text — never as a link or an image.
    assert EVIL_NAME in [t.value for t in at.text]
    assert not [s for s in _markdown_sources(at) if "](https://evil.example" in s]
