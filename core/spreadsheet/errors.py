"""The refusals a reader raises, and the Chinese wording they share.

``SpreadsheetError`` is every file that cannot be read as a table; its message is Chinese and meant for
the uploader, naming the file as ``display_name`` does. ``SheetChoiceNeeded`` is the one refusal the
uploader answers by choosing a sheet. ``SAVE_AS`` is the advice most refusals end with, and
``encrypted_message`` the one explanation of how to remove a workbook's password.
"""

from __future__ import annotations


class SpreadsheetError(ValueError):
    """A file that cannot be read as a table; the message is Chinese and meant for the uploader."""


class SheetChoiceNeeded(SpreadsheetError):
    """Several visible sheets hold data and none is the active one: the uploader must choose."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


SAVE_AS = "请用 Excel、WPS 或 LibreOffice 打开后另存为 .xlsx（或 CSV）再上传"


def display_name(filename: str) -> str:
    return f"“{filename}”" if filename else "文件"


_ENCRYPTED = (
    "已加密（设置了打开密码），系统无法读取。请去掉密码后重新上传：在 Excel 中打开文件，点击"
    "“文件 → 信息 → 保护工作簿 → 用密码进行加密”，清空密码框并确定，然后保存；"
    "WPS 中点击“文件 → 文档加密 → 密码加密”，清空打开密码后保存"
)


def encrypted_message(name: str = "文件") -> str:
    """The one Chinese message for a password-protected workbook (how to save it without one)."""
    return f"{name}{_ENCRYPTED}"
