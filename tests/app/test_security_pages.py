"""Security in the pages: user text shown as text, broken images never stop the review forms."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from db.models import Attachment, AuditEvent, Enterprise, Submission, User
from db.session import session_scope
from tests.app.conftest import TEXT_KINDS, actor_of, page_as, through_home
from tests.unit.test_images import BROKEN_PNG

EVIL_NAME = "[点此查看原件](https://evil.example) ![t](https://evil.example/t.png).pdf"
EVIL_REASON = "请补充 **证书** [官网](https://evil.example) :red[紧急] ![x](https://evil.example/x.png)"


def _markdown_sources(at) -> list[str]:  # noqa: ANN001 - AppTest
    """Every string Streamlit would render as Markdown on this run (bodies, captions, labels)."""
    out: list[str] = []
    for kind in (*TEXT_KINDS, "expander", "toast"):
        for element in getattr(at, kind, []):
            out.append(str(getattr(element, "value", "")))
            out.append(str(getattr(element, "label", "")))
    return out


def _pending_submission() -> tuple[int, str]:
    with session_scope() as session:
        sub_id, ent_id = session.execute(
            select(Submission.id, Submission.enterprise_id)
            .where(Submission.state == "submitted")
            .order_by(Submission.id)
        ).first()
        code = session.get(Enterprise, ent_id).credit_code
        # A broken "image" stored before upload checks existed (no thumbnail), with a hostile file name.
        session.add(
            Attachment(
                submission_id=sub_id,
                enterprise_id=ent_id,
                file_name=EVIL_NAME,
                content_type="image/png",
                size=len(BROKEN_PNG),
                sha256=hashlib.sha256(BROKEN_PNG).hexdigest(),
                content=BROKEN_PNG,
            )
        )
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


def test_return_reasons_and_comments_render_as_text_for_the_enterprise(fresh_db: str) -> None:
    from services.self_report import current_year
    from ui.text import plain

    with session_scope() as session:
        ent_id = actor_of("ent1").enterprise_id
        year = current_year(session)
        sub = session.execute(
            select(Submission).where(Submission.enterprise_id == ent_id, Submission.year == year)
        ).scalar_one_or_none()
        if sub is None:
            sub = Submission(enterprise_id=ent_id, year=year, items={})
        sub.state, sub.reason, sub.field_comments = "returned", EVIL_REASON, {"T01": EVIL_REASON}
        session.add(sub)
    at = through_home("ent1", "pages/enterprise/self_report.py")
    assert not at.exception, at.exception
    sources = _markdown_sources(at)
    assert not [s for s in sources if "](https://evil.example" in s or ":red[" in s or "**证书**" in s]
    assert any(plain(EVIL_REASON) in s for s in sources)  # shown, escaped: the officer's words as typed


def _throttle(username: str) -> None:
    from services import auth

    with session_scope() as session:
        for _ in range(auth.FREE_ATTEMPTS):
            auth.authenticate(session, username=username, password="wrong-password-1")
        assert auth.is_throttled(session, username)


def test_user_admin_bulk_creates_enterprise_accounts_and_unlocks_an_officer(fresh_db: str) -> None:
    from services import accounts, auth

    at = through_home("admin", "pages/admin/users.py")
    assert not at.exception, at.exception
    with session_scope() as session:
        candidates = accounts.enterprises_without_account(session, actor=actor_of("admin"))["id"].tolist()[:3]
    at.multiselect(key="bulk_selected_0").set_value(candidates).run()
    next(b for b in at.button if b.label.startswith("为所选 3 家企业")).click().run()
    assert not at.exception, at.exception
    assert any("已开通 3 个企业账户" in str(s.value) for s in at.success)
    assert [d for d in at.get("download_button")]  # the one export of the one-time passwords
    with session_scope() as session:
        users = session.execute(select(User).where(User.enterprise_id.in_(candidates))).scalars().all()
        assert len(users) == 3 and all(u.must_change_password for u in users)
    next(b for b in at.button if b.label == "我已保存，关闭").click().run()
    assert not at.get("download_button")  # gone: the passwords cannot be fetched again

    _throttle("officer2")
    at.selectbox(key="users_chosen").set_value("officer2").run()
    next(b for b in at.button if b.label == "解除登录限制").click().run()
    assert not at.exception, at.exception
    with session_scope() as session:
        assert not auth.is_throttled(session, "officer2")
        actions = (
            session.execute(select(AuditEvent.action).where(AuditEvent.actor == "admin")).scalars().all()
        )
    assert "unlock_user" in actions and actions.count("create_user") == 3


def test_user_admin_refuses_to_deactivate_the_last_admin(fresh_db: str) -> None:
    at = through_home("admin", "pages/admin/users.py")
    at.selectbox(key="users_chosen").set_value("admin").run()
    next(b for b in at.button if b.label == "停用账户").click().run()
    assert any("最后一个系统管理员" in str(e.value) for e in at.error)
    with session_scope() as session:
        assert session.execute(select(User.active).where(User.username == "admin")).scalar_one()


def test_user_admin_is_for_admins_only(app_db: str) -> None:
    at = page_as("pages/admin/users.py", actor_of("officer1")).run()
    assert any("仅限" in str(e.value) for e in at.error) and not at.dataframe
