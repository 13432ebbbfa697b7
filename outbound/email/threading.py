"""Threading a reply (RFC 5322 section 3.6.4) and its subject (section 3.6.5)."""

from __future__ import annotations

import re

# "Re:", "RE :", "Aw:" (German clients), "Sv:", "Antw:", Chinese clients' "reply" words
# with a full-width colon, "Re[2]:",
# repeated: a reply's subject says "Re:" once, never "Re: Re: AW: ...".
_REPLY_PREFIX = re.compile(
    "^\\s*(?:(?:re|aw|sv|antw|\u56de\u590d|\u7b54\u590d|\u56de\u8986)\\s*(?:\\[\\d+\\])?"
    "\\s*[:\uff1a]\\s*)+", re.IGNORECASE)
# A msg-id (RFC 5322 section 3.6.4), kept loose: what mail in the wild carries.
_MSG_ID = re.compile(r"<[^<>\s]+>")
# The References field stays below this many ids (the oldest after the first are dropped, as
# RFC 5322 allows for a long thread): a hostile header cannot grow ours without bound.
MAX_REFERENCES = 20
MAX_SUBJECT = 200


def reply_subject(original: str | None, fallback: str) -> str:
    """"Re: " and the original subject without its reply and forward prefixes; the fallback
    (a subject of our own) when it had none. One line, bounded."""
    text = " ".join((original or "").split())
    text = _REPLY_PREFIX.sub("", text).strip()
    if not text:
        return fallback
    if len(text) > MAX_SUBJECT:
        text = text[:MAX_SUBJECT - 1] + "…"
    return f"Re: {text}"


def message_ids(value: str | None) -> list[str]:
    """The msg-ids a field names, in order, duplicates dropped."""
    return list(dict.fromkeys(_MSG_ID.findall(value or "")))


def references(parent_id: str | None, parent_references: str | None,
               parent_in_reply_to: str | None) -> tuple[str, ...]:
    """The reply's References: the parent's References (else its In-Reply-To when that names
    one id), then the parent's Message-ID (section 3.6.4)."""
    earlier = message_ids(parent_references)
    if not earlier:
        replying_to = message_ids(parent_in_reply_to)
        earlier = replying_to if len(replying_to) == 1 else []
    own = message_ids(parent_id)
    chain = [i for i in earlier if i not in own] + own[:1]
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1):]
    return tuple(chain)
