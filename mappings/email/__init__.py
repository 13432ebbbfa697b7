"""Email replies and spreadsheets -> canonical order responses (docs/architecture.md, "The
canonical model").

Public API (pure functions: no I/O, no database):

``map_email_body(text, tables=(), *, hints=None, file=None) -> list[Document | Problem]``
    The plain text of a reply (HTML converted upstream, blockquotes as ``> ``) and the HTML
    tables found in it. Reads line statements ("PO 4500012345 line 10: 80 pcs, delivery
    2026-12-05", German, Chinese), ``label: value`` blocks, tables typed as text and the HTML
    tables, and sentences about a whole order ("we confirm your order"). Only the text above
    the quoted original is read. Documents are ORDER_RESPONSE / EMAIL_TEXT, message type
    ``EMAIL``.

``map_tables(tables, *, profile=None, file=None) -> list[Document | Problem]``
    Rows of sheets, CSV files or HTML tables (``parsers.sheets.model.Table``). Documents are
    ORDER_RESPONSE / SPREADSHEET, message type ``SPREADSHEET``.

Both return one document per order number answered (in the order first named), followed by
problems. A problem with severity ``error`` is a statement, row or table that was not read (its
detail says where: "line 7 of the email body", "sheet 'Confirmations' row 14"; ``segment`` holds
that line or row number); the other lines still make their documents. When nothing could be
read there is no document and at least one error: never a guessed confirmation. Warnings about
an order travel in its document's ``warnings``; with no document they are returned as
``warning`` problems.

An acceptance of a whole order that also names lines yields two documents for that order: the
acceptance without lines (every line as ordered), then the named lines; apply them in order.

``EmailHints`` (subject, sender, ``DateOrder``, ``NumberStyle``, ``ColumnProfile``) and
``ColumnProfile`` (column names by ``Field``, fixed column letters, header row, date order,
number style, order number) are the per-supplier knowledge, as data.

Ambiguity is refused, not guessed: ``05/12/2026`` needs the supplier's ``DateOrder`` unless
only one reading is a date; ``1.000`` / ``1,000`` needs a number style (the supplier's, else
unambiguous numbers in the same text or table, else its language: German decimal comma,
English and Chinese decimal point). See ``values`` for the rules.
"""

from mappings.email.body import EMAIL_MESSAGE_TYPE, EmailHints, map_email_body
from mappings.email.columns import ColumnProfile
from mappings.email.sheets import SHEET_MESSAGE_TYPE, map_tables
from mappings.email.values import DateOrder, NumberStyle
from mappings.email.vocabulary import Field

__all__ = [
    "EMAIL_MESSAGE_TYPE",
    "SHEET_MESSAGE_TYPE",
    "ColumnProfile",
    "DateOrder",
    "EmailHints",
    "Field",
    "NumberStyle",
    "map_email_body",
    "map_tables",
]
