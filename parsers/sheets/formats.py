"""Which reader a spreadsheet file needs, from its first bytes (never from its name, which an
email sender chooses)."""

from __future__ import annotations

from parsers.sheets.biff import OLE2_SIGNATURE
from parsers.sheets.delimited import read_csv
from parsers.sheets.workbook import SheetLimits, Workbook
from parsers.sheets.xls import read_xls
from parsers.sheets.xlsx import read_xlsx

_ZIP_SIGNATURE = b"PK\x03\x04"


def read_spreadsheet(data: bytes, name: str, *, encoding: str | None = None,
                     limits: SheetLimits | None = None) -> Workbook:
    """An xlsx workbook (a zip archive), else a legacy .xls workbook (an OLE2 compound file;
    an encrypted workbook or another OLE2 file is refused with `UnsupportedWorkbookError`),
    else delimited text read with `encoding` as a hint."""
    if data.startswith(_ZIP_SIGNATURE):
        return read_xlsx(data, limits)
    if data.startswith(OLE2_SIGNATURE):
        return read_xls(data, limits)
    return read_csv(data, name, encoding=encoding, limits=limits)
