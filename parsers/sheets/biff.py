"""What the cell-value reader (python-calamine) does not say about a legacy Excel 97-2003
workbook, read from its records before the values are: which kind of OLE2 file it is, whether it
is encrypted, how far each sheet's cells reach, which rows are hidden, which cells hold an error.

A legacy workbook is an OLE2 compound file ([MS-CFB], opened with olefile) whose `Workbook`
stream is a sequence of BIFF8 records ([MS-XLS] 2.1.4: type, size, data): the workbook globals
substream, then one substream per sheet, each from a BOF record to its EOF. A sheet's BOF is
where its BOUNDSHEET8 record in the globals points (`lbPlyPos`); a chart embedded in a sheet
nests its own BOF..EOF inside, and its records are not the sheet's cells.

calamine allocates a sheet as one dense block from its first to its last cell, so a 6 KB file
with a value in A1 and one in IV65536 costs it a gigabyte: the extent read here is held against
`SheetLimits.max_cells` before calamine is handed the file.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import olefile

from parsers.sheets.errors import CorruptWorkbookError, UnsupportedWorkbookError

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted Office Open XML file (ECMA-376 Agile/Standard Encryption, [MS-OFFCRYPTO] 2.3.4)
# is an OLE2 file holding these streams, whatever its name says.
_ENCRYPTED_STREAMS = ("EncryptedPackage", "EncryptionInfo")
ENCRYPTED_STREAM_NAME = "EncryptedPackage".encode("utf-16-le")
PASSWORD_MESSAGE = ("the workbook is protected by a password; save it without a password "
                    "(File > Info > Protect Workbook) and send it again")

# [MS-XLS] 2.3 record types.
_BOF, _EOF, _BOUNDSHEET, _FILEPASS, _ROW = 0x0809, 0x000A, 0x0085, 0x002F, 0x0208
_BOOLERR, _FORMULA, _MULRK = 0x0205, 0x0006, 0x00BD
# Records holding one cell's value (row, column first); BLANK and MULBLANK (formatting only)
# are left out, as calamine leaves them out of a sheet's extent.
_CELLS = frozenset({0x0203, 0x027E, 0x00FD, 0x0204, 0x00D6, _BOOLERR, _FORMULA})
# [MS-XLS] 2.5.97 BErr.
ERROR_TEXTS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?",
               0x24: "#NUM!", 0x2A: "#N/A", 0x2B: "#GETTING_DATA"}


@dataclass
class SheetLayout:
    """One sheet's records: its extent (0-based last row and column holding a value, -1 when
    none), its hidden rows and its error cells (both 1-based, as a user sees them)."""

    last_row: int = -1
    last_column: int = -1
    hidden_rows: set[int] = field(default_factory=set)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column): "#N/A"

    @property
    def cells(self) -> int:
        """The cells of the block from A1 to the last row and column."""
        return (self.last_row + 1) * (self.last_column + 1)

    def reach(self, row: int, column: int) -> None:
        self.last_row, self.last_column = max(self.last_row, row), max(self.last_column, column)


def workbook_stream(data: bytes) -> bytes:
    """The BIFF8 `Workbook` stream of a legacy workbook. Another OLE2 file (an encrypted xlsx, a
    Word document, an Excel 5.0/95 workbook) is refused with what it is."""
    if ENCRYPTED_STREAM_NAME in data:
        raise UnsupportedWorkbookError(PASSWORD_MESSAGE)
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as container:
            if any(container.exists(name) for name in _ENCRYPTED_STREAMS):
                raise UnsupportedWorkbookError(PASSWORD_MESSAGE)
            if container.exists("Workbook"):
                return bytes(container.openstream("Workbook").read())
            if container.exists("Book"):
                raise UnsupportedWorkbookError(
                    "Excel 5.0/95 workbooks are not read; save the file as .xlsx (Excel "
                    "Workbook) and send it again")
    except (OSError, ValueError, IndexError, struct.error) as exc:
        raise CorruptWorkbookError(f"the file is not a readable Excel 97-2003 workbook (.xls): "
                                   f"{exc}") from exc
    raise UnsupportedWorkbookError("the file is an OLE2 compound file (a Word, PowerPoint or "
                                   "Outlook file?) with no workbook in it; send the order "
                                   "response as .xlsx or .csv")


def read_layouts(stream: bytes) -> dict[str, SheetLayout]:
    """Every sheet's layout by sheet name, from one pass over the records."""
    sheets = _sheet_offsets(stream)
    layouts = {name: SheetLayout() for name in sheets.values()}
    current: SheetLayout | None = None
    depth = 0
    for offset, kind, body in _records(stream):
        if kind == _BOF:
            depth += 1
            if depth == 1:
                current = layouts.get(sheets.get(offset, ""))
        elif kind == _EOF:
            depth = max(depth - 1, 0)
        elif current is not None and depth == 1:
            _note_record(current, kind, body)
    return layouts


def _sheet_offsets(stream: bytes) -> dict[int, str]:
    """Where each sheet's substream starts, from the BOUNDSHEET8 records of the globals
    ([MS-XLS] 2.4.28); FILEPASS there means everything after it is encrypted."""
    sheets: dict[int, str] = {}
    for _offset, kind, body in _records(stream):
        if kind == _FILEPASS:
            raise UnsupportedWorkbookError(PASSWORD_MESSAGE)
        if kind == _BOUNDSHEET and len(body) >= 8:
            sheets[struct.unpack_from("<I", body)[0]] = _short_string(body[6:])
        elif kind == _EOF:
            return sheets
    raise CorruptWorkbookError("the .xls workbook ends inside its globals (no EOF record)")


def _short_string(data: bytes) -> str:
    """ShortXLUnicodeString ([MS-XLS] 2.5.240): a count, a flag, then Latin-1 or UTF-16LE."""
    count, wide = data[0], data[1] & 1
    return (data[2:2 + 2 * count].decode("utf-16-le", errors="replace") if wide
            else data[2:2 + count].decode("latin-1"))


def _records(stream: bytes) -> Iterator[tuple[int, int, bytes]]:
    offset = 0
    while offset + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, offset)
        body = stream[offset + 4:offset + 4 + size]
        if len(body) < size:
            raise CorruptWorkbookError(f"the .xls workbook is cut short: a record at byte "
                                       f"{offset} runs past the end of the stream")
        yield offset, kind, body
        offset += 4 + size


def _note_record(layout: SheetLayout, kind: int, body: bytes) -> None:
    if kind == _ROW and len(body) >= 16:
        if body[12] & 0x20:  # fDyZero: the row has no height, i.e. hidden ([MS-XLS] 2.4.221)
            layout.hidden_rows.add(struct.unpack_from("<H", body)[0] + 1)
    elif kind == _MULRK and len(body) >= 6:
        row, _first = struct.unpack_from("<HH", body)
        layout.reach(row, struct.unpack_from("<H", body, len(body) - 2)[0])
    elif kind in _CELLS and len(body) >= 4:
        row, column = struct.unpack_from("<HH", body)
        layout.reach(row, column)
        error = _error_code(kind, body)
        if error is not None:
            layout.errors[(row + 1, column + 1)] = ERROR_TEXTS.get(error, f"#ERROR{error}")


def _error_code(kind: int, body: bytes) -> int | None:
    """The error a BOOLERR cell holds ([MS-XLS] 2.5.10 Bes), or the error a FORMULA saved as its
    result (2.5.133 FormulaValue: 0xFFFF in the last two bytes, type 2 in the first)."""
    if kind == _BOOLERR and len(body) >= 8 and body[7]:
        return body[6]
    if kind == _FORMULA and len(body) >= 14 and body[12:14] == b"\xff\xff" and body[6] == 2:
        return body[8]
    return None
