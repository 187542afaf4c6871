"""The one way a page calls a use case: its own unit of work, and a refusal shown in Chinese.

``call_service(use_case, actor=..., ...)`` opens a session (``db.session.session_scope``: commit on
success, roll back on an exception), calls ``use_case(session, **kwargs)`` and returns its result. A
:class:`~services.errors.ServiceError` (the service refused: no permission, a stale version, bad input)
has changed nothing; it goes to ``on_refusal`` — by default :func:`show_refusal`, an ``st.error`` with the
message as text (:func:`refusal_as` picks another box or an icon) — and the call returns :data:`REFUSED`. With ``stop=True`` (a page that cannot go on
without the answer) the run stops there instead. A widget callback uses :func:`call_and_flash`: the
refusal or the success message is flashed for the next run (ui/flash.py). Infrastructure faults and bugs are not caught here
(ui/errors.py is their boundary).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import partial
from typing import Any, Literal, TypeVar, overload

import streamlit as st

from db.session import session_scope
from services.errors import ServiceError
from ui.flash import flash, flash_refusal
from ui.text import plain

T = TypeVar("T")


class Refused(enum.Enum):
    """The type of :data:`REFUSED` (one member, so ``result is REFUSED`` narrows the result's type)."""

    REFUSED = "refused"


REFUSED = Refused.REFUSED


def show_refusal(exc: ServiceError, *, kind: str = "error", icon: str | None = None) -> None:
    """The service's Chinese message in an ``st.<kind>`` box (error, warning, info), as text (never markup)."""
    getattr(st, kind)(plain(exc), icon=icon)


def refusal_as(kind: str, *, icon: str | None = None) -> Callable[[ServiceError], None]:
    """An ``on_refusal`` showing the message in an ``st.<kind>`` box, with ``icon``."""
    return partial(show_refusal, kind=kind, icon=icon)


@overload
def call_service(
    use_case: Callable[..., T],
    /,
    *,
    on_refusal: Callable[[ServiceError], object] = ...,
    stop: Literal[True],
    **kwargs: Any,
) -> T: ...


@overload
def call_service(
    use_case: Callable[..., T],
    /,
    *,
    on_refusal: Callable[[ServiceError], object] = ...,
    stop: Literal[False] = ...,
    **kwargs: Any,
) -> T | Refused: ...


def call_service(
    use_case: Callable[..., T],
    /,
    *,
    on_refusal: Callable[[ServiceError], object] = show_refusal,
    stop: bool = False,
    **kwargs: Any,
) -> T | Refused:
    """``use_case(session, **kwargs)`` in one committed session; a refusal reported, then REFUSED (or stop)."""
    try:
        with session_scope() as session:
            return use_case(session, **kwargs)
    except ServiceError as exc:
        on_refusal(exc)
        if stop:
            st.stop()
        return REFUSED


def call_and_flash(
    key: str, use_case: Callable[..., T], /, *, success: str | Callable[[T], str], **kwargs: Any
) -> T | Refused:
    """:func:`call_service` for a callback: the refusal, or ``success`` (text, or text from the result),
    flashed under ``key`` for the next run."""
    result = call_service(use_case, on_refusal=flash_refusal(key), **kwargs)
    if result is not REFUSED:
        flash(key, "success", success if isinstance(success, str) else success(result))
    return result
