"""A supplier's AS2 table changed by command (`gateway as2 partners add / set / remove`): the
partner file edited where it stands, its comments, order and layout kept (tomlkit), checked
whole before it is written with the same checks the endpoint makes when it loads it (every
certificate read, chains to the listed CAs, every key and value one the file allows), and
written by rename, so a running endpoint (`reload.PartnerFileWatch`) reads the old file or
the new one, never half of either.

The edits are functions of the file's text (`add_partner`, `change_partner`,
`remove_partner`); `write_checked` is the only one that touches the disk.
"""

from __future__ import annotations

import fcntl
import os
import tomllib
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AbstractTable, AoT, Array, InlineTable

from gateway.as2.files import replace_by_rename
from gateway.as2.partners import As2Directory, directory_from_mapping
from gateway.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class PartnerChange:
    """The keys of a supplier's `as2` table a command sets; None leaves a key as it is, an
    empty text removes it (`url`, `station`)."""

    url: str | None = None
    sign: str | None = None
    encrypt: str | None = None
    oaep: bool | None = None
    pss: bool | None = None
    compress: bool | None = None
    mdn: str | None = None
    mdn_signed: bool | None = None
    mdn_timeout_minutes: float | None = None
    require_signed: bool | None = None
    require_encrypted: bool | None = None
    station: str | None = None
    certificates: tuple[str, ...] | None = None       # the whole list, in place of the old
    add_certificates: tuple[str, ...] = ()           # a renewal's new one, beside the old
    remove_certificates: tuple[str, ...] = ()        # the old one, once the switch is done
    ca_certificates: tuple[str, ...] | None = None
    crls: tuple[str, ...] | None = None

    def values(self) -> dict[str, Any]:
        """The plain keys to set (not the certificate lists), in the file's order."""
        found: dict[str, Any] = {}
        for name in ("url", "require_signed", "require_encrypted", "sign", "encrypt", "oaep",
                     "pss", "compress", "mdn", "mdn_timeout_minutes", "mdn_signed", "station"):
            value = getattr(self, name)
            if value is not None:
                found[name] = _whole(value) if name == "mdn_timeout_minutes" else value
        return found


def add_partner(text: str, code: str, as2_id: str, change: PartnerChange) -> str:
    """The file with supplier `code` (an entry of the file) made the AS2 partner `as2_id`."""
    document = _parse(text)
    if as2_id in _as2_ids(document):
        raise ConfigurationError(f"AS2 id {as2_id!r} is already a partner's")
    entry = _supplier(document, code)
    if "as2" in entry or "as2_id" in entry:
        raise ConfigurationError(f"supplier {code} is an AS2 partner already "
                                 f"({entry.get('as2_id')}): change it with `set`")
    if not (change.certificates or change.add_certificates):
        raise ConfigurationError("a new AS2 partner needs at least one certificate")
    entry["as2_id"] = as2_id
    # A supplier written inline (`suppliers = [{...}]`) gets its AS2 table inline too.
    table: AbstractTable = tomlkit.inline_table() if isinstance(entry, InlineTable) \
        else tomlkit.table()
    table["certificates"] = list(change.certificates or change.add_certificates)
    _apply(table, replace(change, certificates=None, add_certificates=()))
    if not isinstance(table, InlineTable):
        table.add(tomlkit.nl())
    entry["as2"] = table
    return _dumps(document, text)


def change_partner(text: str, as2_id: str, change: PartnerChange) -> str:
    """The file with the partner `as2_id`'s table changed as `change` says."""
    document = _parse(text)
    entry = _partner(document, as2_id)
    _apply(entry["as2"], change)
    return _dumps(document, text)


def remove_partner(text: str, as2_id: str) -> str:
    """The file without the partner `as2_id`'s AS2 id and table; the supplier stays."""
    document = _parse(text)
    entry = _partner(document, as2_id)
    del entry["as2"]
    del entry["as2_id"]
    if not isinstance(entry, InlineTable):
        entry.add(tomlkit.nl())  # the blank line before the next table went with the AS2 one
    return _dumps(document, text)


def write_checked(path: Path, before: str, after: str, env: Mapping[str, str]
                  ) -> As2Directory:
    """Check `after` as the endpoint would load it, then put it in place of `before` by
    rename (its mode, and its owner when run as root, kept). Refused, the file untouched,
    when `after` does not load or the file is no longer `before` (edited meanwhile)."""
    try:
        data = tomllib.loads(after)
    except tomllib.TOMLDecodeError as exc:  # tomlkit wrote what tomllib cannot read
        raise ConfigurationError(f"{path}: the edited file does not read back: {exc}") from exc
    directory = directory_from_mapping(data, path.parent, env)
    # A partner file that is a symbolic link (to a checkout, a mounted volume) stays one:
    # the file it points to is replaced.
    target = path.resolve()
    # Two edits at once: the second waits for the first's rename, then finds the file changed
    # (without the lock both could pass the comparison and the first edit would be lost).
    try:
        with _locked(target.parent):
            if path.read_bytes() != before.encode("utf-8"):
                raise ConfigurationError(f"{path} changed while this edit was being made: run "
                                         "it again")
            replace_by_rename(target, after.encode("utf-8"))
    except OSError as exc:   # a read-only folder, a full disk
        raise ConfigurationError(f"{path}: not written ({exc.strerror or exc})") from exc
    return directory


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the folder (flock: released when the process ends, however)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


# -- inside the document ----------------------------------------------------------------------

def _dumps(document: tomlkit.TOMLDocument, text: str) -> str:
    """The document as text, with the line ends of `text`: tomlkit ends the lines it adds
    with LF, which in a file written with CRLF throughout would leave it with both."""
    dumped = tomlkit.dumps(document)
    if "\r\n" in text and text.count("\n") == text.count("\r\n"):
        return dumped.replace("\r\n", "\n").replace("\n", "\r\n")
    return dumped


def _parse(text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigurationError(f"the partner file does not read: {exc}") from exc


def _suppliers(document: tomlkit.TOMLDocument) -> list[AbstractTable]:
    """The `[[suppliers]]` tables (or `suppliers = [{...}]`, inline tables)."""
    entries = document.get("suppliers")
    if not isinstance(entries, AoT | list):
        return []
    return [entry for entry in entries if isinstance(entry, AbstractTable)]


def _as2_ids(document: tomlkit.TOMLDocument) -> list[str]:
    return [str(entry["as2_id"]) for entry in _suppliers(document) if "as2_id" in entry]


def _supplier(document: tomlkit.TOMLDocument, code: str) -> AbstractTable:
    for entry in _suppliers(document):
        if str(entry.get("code")) == code:
            return entry
    codes = ", ".join(str(entry.get("code")) for entry in _suppliers(document)) or "none"
    raise ConfigurationError(f"no supplier {code!r} in the partner file (its suppliers: "
                             f"{codes}); add its entry first")


def _partner(document: tomlkit.TOMLDocument, as2_id: str) -> AbstractTable:
    for entry in _suppliers(document):
        # `as2.url = ...` dotted keys spread over the entry come as a proxy, not a table.
        if str(entry.get("as2_id")) == as2_id and isinstance(entry.get("as2"), AbstractTable
                                                                | OutOfOrderTableProxy):
            return entry
    known = ", ".join(_as2_ids(document)) or "none"
    raise ConfigurationError(f"no AS2 partner {as2_id!r} in the partner file (its partners: "
                             f"{known})")


def _apply(table: MutableMapping[str, Any], change: PartnerChange) -> None:
    for name, value in change.values().items():
        if value == "" and name in ("url", "station"):
            if name in table:
                del table[name]
        else:
            table[name] = value
    if change.certificates is not None:
        table["certificates"] = list(change.certificates)
    listed = [str(item) for item in table.get("certificates", [])]
    missing = [name for name in change.remove_certificates if name not in listed]
    if missing:
        raise ConfigurationError(f"not among the partner's certificates: {', '.join(missing)} "
                                 f"(listed: {', '.join(listed) or 'none'})")
    if change.add_certificates or change.remove_certificates:
        kept = [name for name in listed if name not in change.remove_certificates]
        added = [name for name in change.add_certificates if name not in kept]
        array = table.get("certificates")
        if isinstance(array, Array):   # edited in place: a comment beside a name stays
            for index in reversed(range(len(array))):
                if str(array[index]) in change.remove_certificates:
                    del array[index]
            array.extend(added)
        else:
            table["certificates"] = kept + added
    for name, names in (("ca_certificates", change.ca_certificates), ("crls", change.crls)):
        if names:
            table[name] = list(names)
        elif names is not None and name in table:
            del table[name]


def _whole(minutes: float) -> float | int:
    """A whole number of minutes written as one (60, not 60.0)."""
    return int(minutes) if float(minutes).is_integer() else float(minutes)
