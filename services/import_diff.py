"""What a checked file would change: the comparison with the current values, kept for the commit.

A dry run checks the file (``services.import_check``) and compares its values with the current ones of
the year (``core.importing.diff_values``); the commit of the same file and choices takes that check from
a small in-process cache instead of reading the file again, and keeps the dry run's diff too when the
current rows for the file's codes are still exactly the ones compared (rows never change once written,
only whether they are current: the same ids are the same values). A cache miss (another server, a
restart, an expired entry) checks afresh; the result is the same either way.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict

import numpy as np
import pandas as pd
from sqlmodel import Session

from core import importing
from core.scoring_model import ScoringModel
from db.values import current_ids, current_values
from services.import_check import LIST_MODES, Checked, Phase, Upload, check_file, check_profile, is_profile
from services.model_versions import current_model

# The last dry runs' checked files, so that a commit writes exactly what the officer saw without reading
# and checking the file a second time (half of a 100,000-row commit). Keyed by the file's sha256, the
# department, year, column choices and the model; a dry run always checks afresh and refreshes it. A
# miss (another replica, a restart, an expired entry) simply checks the file again.
_CHECKED: OrderedDict[tuple, tuple[float, Checked]] = OrderedDict()
_CHECKED_LOCK = threading.Lock()
CHECKED_KEEP = 2
CHECKED_SECONDS = 30 * 60


def _checked_key(upload: Upload, model: ScoringModel) -> tuple:
    """What makes a check the same check: the file, the model, and every reading choice but the list mode
    (that one only enters the comparison)."""
    return (
        hashlib.sha256(upload.data).hexdigest(),
        model.fingerprint(),
        upload.department,
        upload.year,
        upload.sheet,
        json.dumps({str(k): v for k, v in (upload.accepted or {}).items()}, sort_keys=True),
        json.dumps(upload.column_map or {}, ensure_ascii=False, sort_keys=True),
        json.dumps(sorted(upload.ignore or []), ensure_ascii=False),
    )


def validate_file(
    session: Session, upload: Upload, timings: dict[str, float], *, reuse: bool = False
) -> Checked:
    """Read and check the file (or, with ``reuse``, take the dry run's check of the same file and
    choices), then compare with the current values.

    ``timings`` gets ``read``, ``validate`` and ``diff`` (seconds, with ``*_cpu`` for this process's CPU
    time and ``read_worker_cpu`` for the reading worker's)."""
    model = current_model(session)
    key = _checked_key(upload, model)
    checked = None
    if reuse:
        with _CHECKED_LOCK:
            hit = _CHECKED.get(key)
        if hit is not None and time.monotonic() - hit[0] < CHECKED_SECONDS:
            checked = hit[1]
            timings.update(read=0.0, read_cpu=0.0, validate=0.0, validate_cpu=0.0)
    if checked is None and is_profile(upload.department):
        checked = check_profile(session, model, upload, timings)
    elif checked is None:
        checked = check_file(session, model, upload, timings)
        with _CHECKED_LOCK:
            _CHECKED[key] = (time.monotonic(), checked)
            _CHECKED.move_to_end(key)
            while len(_CHECKED) > CHECKED_KEEP:
                _CHECKED.popitem(last=False)
    with Phase(timings, "diff"):
        if not (reuse and _still_current(session, checked, upload.year, upload.list_mode)):
            _compare(session, checked, upload.year, upload.list_mode)
    return checked


def _still_current(session: Session, checked: Checked, year: int, list_mode: str | None) -> bool:
    """Whether the dry run's comparison still holds: same year and list mode, and exactly the same current
    rows for the file's codes (rows never change once written, only whether they are current — so the
    same ids are the same values). Then the commit reuses its diff and the ids it replaces."""
    if checked.compared != (year, list_mode) or checked.compared_ids is None or checked.write_values is None:
        return False
    codes = pd.unique(checked.v.values["code"].to_numpy(dtype=object)).tolist()
    return bool(np.array_equal(current_ids(session, year, codes), checked.compared_ids))


def _compare(session: Session, checked: Checked, year: int, list_mode: str | None) -> None:
    """The values to write (lists merged in ``add`` mode) and the diff against the current values."""
    combined = checked.v
    checked.notes = [n for n in checked.notes if not n.startswith("列表类指标（")]
    if checked.list_codes:
        checked.notes.append(
            f"列表类指标（{'、'.join(checked.list_names)}）："
            + (f"将{LIST_MODES[list_mode]}" if list_mode in LIST_MODES else "请选择“替换”或“追加”")
        )
    values = combined.values
    checked.write_values = values
    checked.diff, checked.counts, checked.replaced_ids = None, {}, None
    checked.compared, checked.compared_ids = None, None
    if combined.error_count == 0 and not combined.mapping.unmapped and len(values):
        current = current_values(session, year, values)
        checked.compared = (year, list_mode)
        checked.compared_ids = np.sort(current["id"].to_numpy(dtype=np.int64))
        if checked.list_codes and list_mode == "add" and len(current):
            values = values.copy()
            _merge_lists(values, current, checked.list_codes)
            checked.write_values = values
        diff = importing.diff_values(values, current)
        checked.counts = importing.diff_counts(diff)
        checked.replaced_ids = (
            diff["current_id"].to_numpy()[diff["current_id"].to_numpy() >= 0].astype(np.int64)
        )
        diff["credit_code"] = pd.Series(
            values["credit_code"].to_numpy(dtype=object), index=diff.index, dtype=object
        )
        checked.diff = diff


def _merge_lists(values: pd.DataFrame, current: pd.DataFrame, list_codes: list[str]) -> None:
    """``add`` mode: each enterprise's new list = its current items + the new ones (in place)."""
    cur = current[current["code"].isin(list_codes)].set_index(["enterprise_id", "code"])["value_text"]
    mask = values["code"].isin(list_codes).to_numpy()
    for i in np.flatnonzero(mask):
        key = (int(values.at[i, "enterprise_id"]), values.at[i, "code"])
        if key in cur.index:
            merged = importing.merge_lists(cur.loc[key], json.loads(values.at[i, "value_text"]))
            values.at[i, "value_text"] = json.dumps(merged, ensure_ascii=False, sort_keys=True)
