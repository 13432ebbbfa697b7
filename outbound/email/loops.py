"""Whether a message may be answered by an automatic reply at all (pure).

An automatic reply to an automatic message is how mail loops start, and a reply to a list or
a bounce goes to people who never wrote. The rules, in the order they are checked:

- `Auto-Submitted` other than `no` (RFC 3834 section 5): an auto-reply or auto-generated
  message, answered by nobody automatic (section 2).
- `Precedence: bulk | junk | list` (RFC 3834 section 2, the old convention it records).
- Any `List-*` field (RFC 2369, and `List-Id` of RFC 2919): mail through a list.
- A null return path (`MAIL FROM:<>`, RFC 5321 section 4.5.5) or a `Return-Path: <>`, or a
  sender or From of `MAILER-DAEMON` / `postmaster`: a bounce or other notification.
- `Content-Type: multipart/report` (RFC 6522): a delivery or disposition report.
- `X-Auto-Response-Suppress` naming `All`, `AutoReply` or `OOF` (Microsoft Exchange's field:
  the sender asked for no automatic answers); `X-Autoreply`, `X-Autorespond`.
- The message's own Message-ID is one of ours: our own message came back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class LoopRisk(StrEnum):
    AUTO_SUBMITTED = "auto_submitted"
    BULK = "bulk"
    LIST = "list"
    BOUNCE = "bounce"
    REPORT = "report"
    SUPPRESS_REQUESTED = "suppress_requested"
    OWN_MESSAGE = "own_message"


@dataclass(frozen=True, slots=True)
class NoReply:
    """Why no automatic reply may go: the rule and the field that made it so."""

    risk: LoopRisk
    detail: str

    def describe(self) -> str:
        return f"{self.risk.value}: {self.detail}"


_BULK = frozenset({"bulk", "junk", "list"})
_DAEMONS = frozenset({"mailer-daemon", "postmaster"})
_SUPPRESS = frozenset({"all", "autoreply", "oof"})
_AUTO_FIELDS = ("x-autoreply", "x-autorespond")


def no_reply(fields: Sequence[tuple[str, str]], return_path: str | None,
             own_id_domain: str | None) -> NoReply | None:
    """`fields` are the message's header fields (lowercased name, unfolded value, top first);
    `return_path` the SMTP MAIL FROM it came with (`<>` or "" for a null one; None when it
    came by another way than SMTP); `own_id_domain` the right-hand side of the Message-IDs
    this gateway writes. None: it may be answered."""
    for check in (_auto_submitted, _bulk, _list, _report, _suppressed):
        found = check(fields)
        if found is not None:
            return found
    return _bounce(fields, return_path) or _own(fields, own_id_domain)


def _values(fields: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [value for field, value in fields if field == name]


def _auto_submitted(fields: Sequence[tuple[str, str]]) -> NoReply | None:
    for value in _values(fields, "auto-submitted"):
        keyword = value.split(";")[0].strip().lower()
        if keyword and keyword != "no":
            return NoReply(LoopRisk.AUTO_SUBMITTED, f"Auto-Submitted: {keyword}")
    for name in _AUTO_FIELDS:
        if _values(fields, name):
            return NoReply(LoopRisk.AUTO_SUBMITTED, f"{name} present")
    return None


def _bulk(fields: Sequence[tuple[str, str]]) -> NoReply | None:
    for value in _values(fields, "precedence"):
        if value.strip().lower() in _BULK:
            return NoReply(LoopRisk.BULK, f"Precedence: {value.strip().lower()}")
    return None


def _list(fields: Sequence[tuple[str, str]]) -> NoReply | None:
    for name, _value in fields:
        if name.startswith("list-"):
            return NoReply(LoopRisk.LIST, f"{name} present")
    return None


def _report(fields: Sequence[tuple[str, str]]) -> NoReply | None:
    for value in _values(fields, "content-type"):
        if value.split(";")[0].strip().lower() == "multipart/report":
            return NoReply(LoopRisk.REPORT, "Content-Type: multipart/report")
    return None


def _suppressed(fields: Sequence[tuple[str, str]]) -> NoReply | None:
    for value in _values(fields, "x-auto-response-suppress"):
        asked = {part.strip().lower() for part in value.split(",")}
        if asked & _SUPPRESS:
            return NoReply(LoopRisk.SUPPRESS_REQUESTED,
                           f"X-Auto-Response-Suppress: {', '.join(sorted(asked & _SUPPRESS))}")
    return None


def _bounce(fields: Sequence[tuple[str, str]], return_path: str | None) -> NoReply | None:
    if return_path is not None and return_path.strip() in ("", "<>"):
        return NoReply(LoopRisk.BOUNCE, "null return path (MAIL FROM:<>)")
    for value in _values(fields, "return-path"):
        if value.strip() in ("<>", ""):
            return NoReply(LoopRisk.BOUNCE, "Return-Path: <>")
    senders = [return_path or "", *_values(fields, "from"), *_values(fields, "sender")]
    for sender in senders:
        local = _local_part(sender)
        if local in _DAEMONS:
            return NoReply(LoopRisk.BOUNCE, f"from {local}")
    return None


def _own(fields: Sequence[tuple[str, str]], own_id_domain: str | None) -> NoReply | None:
    if not own_id_domain:
        return None
    suffix = f"@{own_id_domain.lower()}>"
    for value in _values(fields, "message-id"):
        if value.strip().lower().endswith(suffix):
            return NoReply(LoopRisk.OWN_MESSAGE, "the Message-ID is one of ours")
    return None


def _local_part(address: str) -> str:
    """The local part of the first address in a field, lowercased ("" when none)."""
    text = address.strip()
    if "<" in text:
        text = text[text.rfind("<") + 1:].split(">")[0]
    return text.partition("@")[0].strip().strip('"').lower() if "@" in text else ""
