"""Benchmark core.spreadsheet on a 100,000-row × 35-column workbook.

Generates the workbook with xlsxwriter (constant_memory) in a temporary directory, then prints the
time to read it with ``read_table``, to run ``parse_number_series`` over its numeric columns and to
write the same 100k rows back with ``write_xlsx``. Run: ``.venv/bin/python benchmarks/bench_spreadsheet.py``
(optionally ``--rows N``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.reader_worker import read_table  # noqa: E402
from core.credit_code import make_code  # noqa: E402
from core.spreadsheet import apply_header, find_header_row, parse_number_series, write_xlsx  # noqa: E402

N_NUMERIC = 30  # plus credit code, name, street, industry, a text-number column = 35 columns


def build_workbook(path: Path, rows: int) -> list[str]:
    """A department-style sheet: a title row, a header row, then ``rows`` data rows."""
    rng = np.random.default_rng(42)
    numeric = rng.gamma(2.0, 150.0, size=(rows, N_NUMERIC)).round(2)
    numeric[rng.random((rows, N_NUMERIC)) < 0.05] = np.nan  # some missing cells
    headers = ["统一社会信用代码", "企业名称", "所在街道", "行业", "营业收入（文本）"] + [
        f"指标{j:02d}" for j in range(N_NUMERIC)
    ]
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("数据")
    ws.write_string(0, 0, "2024年度企业创新积分基础数据")
    for c, h in enumerate(headers):
        ws.write_string(1, c, h)
    streets = ["永中街道", "海滨街道", "瑶溪街道", "星海街道", "状元街道"]
    for i in range(rows):
        r = i + 2
        ws.write_string(r, 0, make_code(str(i)))
        ws.write_string(r, 1, f"温州示范科技有限公司{i}")
        ws.write_string(r, 2, streets[i % 5])
        ws.write_string(r, 3, "C39")
        if numeric[i, 0] == numeric[i, 0]:  # numbers stored as text with thousands separators
            ws.write_string(r, 4, f"{numeric[i, 0] * 1000:,.2f}")
        for j in range(N_NUMERIC):
            v = numeric[i, j]
            if v == v:
                ws.write_number(r, 5 + j, float(v))
    wb.close()
    return headers


class _Timer:
    """Wall and CPU time of a block: on a shared 2-core machine the CPU figure is the stable one."""

    def __enter__(self) -> _Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.xlsx"
        with _Timer() as t:
            headers = build_workbook(path, args.rows)
        size = path.stat().st_size / 1e6
        print(
            f"generate {args.rows:,} × {len(headers)} xlsx (xlsxwriter constant_memory): {t}, {size:.1f} MB"
        )
        data = path.read_bytes()

        with _Timer() as t:
            raw = read_table(data, path.name)
        print(f"read_table: {t} ({raw.shape[0]:,} × {raw.shape[1]} raw cells)")

        with _Timer() as t:
            table = apply_header(raw, find_header_row(raw, headers))
        print(f"find_header_row + apply_header: {t}")

        numeric_cols = headers[4:]
        invalid = 0
        parsed = {}
        with _Timer() as t:
            for col in numeric_cols:
                parsed[col], bad = parse_number_series(table[col])
                invalid += int(bad.sum())
        print(f"parse_number_series over {len(numeric_cols)} columns: {t} ({invalid} invalid)")

        out = table.drop(columns="__row__").assign(**parsed)
        with _Timer() as t:
            blob = write_xlsx({"数据": out})
        print(f"write_xlsx {len(out):,} rows × {out.shape[1]} columns: {t} ({len(blob) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
