"""Rebuild data/sunspots.xlsx from the shared CSV (run once; the workbook is committed to git).

    python data/build_workbook.py ../shared/data/sunspots_monthly.csv data/sunspots.xlsx
"""
import sys
from datetime import datetime

import openpyxl
import pandas as pd


def main(src: str, dst: str) -> None:
    frame = pd.read_csv(src)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "sunspots"
    sheet.append(["date", "sunspots"])
    for month, value in zip(frame["date"], frame["sunspots"]):
        sheet.append([datetime.strptime(month, "%Y-%m"), float(value)])
    for (cell,) in sheet.iter_rows(min_row=2, max_col=1):
        cell.number_format = "yyyy-mm"
    book.save(dst)


if __name__ == "__main__":
    main(*sys.argv[1:3])
