"""How a supplier writes its sheets and emails: the `reading` table of a partner file entry.

TOML (the YAML equivalent has the same keys)::

    [[suppliers]]
    code = "NORDHOLM"
    name = "Nordholm Components AB"

    [suppliers.reading]                 # belongs to the [[suppliers]] entry above it
    date_order = "month_first"          # 05/12/2026 is 12 May ("day_first": 5 December)
    number_style = "decimal_comma"      # 1.000 is a thousand ("decimal_point": one)
    header_row = 4                      # the header is row 4; data starts below it

    [suppliers.reading.columns]         # a header text -> what the column holds
    "Bestell-Nr Kunde" = "order_number"
    "Menge bestätigt" = "quantity"

    [suppliers.reading.letters]         # what a column holds -> its letter, where no
    quantity = "F"                      #   header names it (wins over header texts)

Every key is optional. Header texts are compared like the built-in column names (case, spaces
and punctuation ignored). The table becomes a `mappings.email.ColumnProfile`, applied to the
supplier's emails (body statements, tables) and spreadsheets; EDIFACT is not affected. It is
stored with the supplier as JSON in the form `stored_reading` returns, and replaced whole by
each load of the partner file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from gateway.errors import ConfigurationError
from mappings.email import ColumnProfile, DateOrder, Field, NumberStyle
from mappings.email.columns import column_index
from mappings.email.text import label_key

READING_KEYS = ("date_order", "number_style", "header_row", "columns", "letters")
FIELD_NAMES = tuple(f.value for f in Field)
_LETTERS = re.compile(r"[A-Za-z]{1,3}")
_LAST_COLUMN = column_index("XFD")  # an xlsx sheet's last column (16384)
_LAST_ROW = 1_048_576  # and its last row
_Choice = TypeVar("_Choice", bound=StrEnum)


def reading_from_mapping(code: str, values: object) -> ColumnProfile:
    """The supplier's `reading` table, checked; every mistake names the supplier and key."""
    where = f"supplier {code}: reading"
    if not isinstance(values, Mapping):
        raise ConfigurationError(f"{where} must be a table with the keys "
                                 f"{', '.join(READING_KEYS)}")
    unknown = sorted(str(key) for key in values if key not in READING_KEYS)
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {unknown}; allowed: "
                                 f"{', '.join(READING_KEYS)}")
    return ColumnProfile(
        names=_names(where, values.get("columns")),
        columns=_letters(where, values.get("letters")),
        header_row=_header_row(where, values.get("header_row")),
        date_order=_choice(where, "date_order", values.get("date_order"), DateOrder),
        number_style=_choice(where, "number_style", values.get("number_style"), NumberStyle))


def reading_to_json(profile: ColumnProfile) -> dict[str, Any] | None:
    """The canonical stored form (what `reading_from_mapping` reads back); None when the
    profile changes nothing."""
    stored: dict[str, Any] = {
        "date_order": profile.date_order.value if profile.date_order else None,
        "number_style": profile.number_style.value if profile.number_style else None,
        "header_row": profile.header_row,
        "columns": {text: f.value for text, f in profile.names.items()},
        "letters": {f.value: letter for f, letter in profile.columns.items()},
    }
    stored = {key: value for key, value in stored.items() if value}
    return stored or None


def stored_reading(code: str, values: object) -> dict[str, Any] | None:
    """A partner file entry's `reading` (None when absent), checked, in the stored form."""
    return None if values is None else reading_to_json(reading_from_mapping(code, values))


def _choice(where: str, key: str, value: object, kind: type[_Choice]) -> _Choice | None:
    if value is None:
        return None
    allowed = [member.value for member in kind]
    if value not in allowed:
        raise ConfigurationError(f"{where}.{key} = {value!r} is not one of: "
                                 f"{', '.join(allowed)}")
    return kind(value)


def _field(where: str, value: object) -> Field:
    if value not in FIELD_NAMES:
        raise ConfigurationError(f"{where}: {value!r} is not a field; fields: "
                                 f"{', '.join(FIELD_NAMES)}")
    return Field(value)


def _table(where: str, value: object) -> Mapping[object, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where} must be a table, not {type(value).__name__}")
    return value


def _names(where: str, value: object) -> dict[str, Field]:
    """Header text -> field. Two texts compared alike must not name two fields."""
    where = f"{where}.columns"
    names: dict[str, Field] = {}
    seen: dict[str, str] = {}
    for text, field_name in _table(where, value).items():
        if not isinstance(text, str) or not label_key(text):
            raise ConfigurationError(f"{where}: {text!r} is not a header text (it needs "
                                     "letters or digits)")
        field = _field(f"{where} {text!r}", field_name)
        other = seen.setdefault(label_key(text), text)
        if other != text and names[other] is not field:
            raise ConfigurationError(f"{where}: {other!r} and {text!r} are the same header "
                                     "(case, spaces and punctuation ignored) naming two fields")
        names[text] = field
    return names


def _letters(where: str, value: object) -> dict[Field, str]:
    """Field -> column letter, A to XFD; one column holds one field."""
    where = f"{where}.letters"
    letters: dict[Field, str] = {}
    for field_name, letter in _table(where, value).items():
        field = _field(where, field_name)
        if not isinstance(letter, str) or not _LETTERS.fullmatch(letter.strip()) \
                or column_index(letter) > _LAST_COLUMN:
            raise ConfigurationError(f"{where}.{field.value} = {letter!r} is not a column "
                                     "letter (A to XFD)")
        letter = letter.strip().upper()
        taken = next((f for f, used in letters.items() if used == letter), None)
        if taken is not None:
            raise ConfigurationError(f"{where}: column {letter} is given to both "
                                     f"{taken.value} and {field.value}")
        letters[field] = letter
    return letters


def _header_row(where: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _LAST_ROW:
        raise ConfigurationError(f"{where}.header_row = {value!r} is not a row number "
                                 f"(1 to {_LAST_ROW})")
    return value
