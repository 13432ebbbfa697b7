"""AS2 (RFC 4130): the stored message POSTed to the partner's URL, its synchronous MDN
handed to a check the gateway gives (reading an MDN is parsing, which `outbound` does not do).

Header fields named `X-Gateway-AS2-*` are instructions to this transport, never sent: the
MIC the MDN must return (`X-Gateway-AS2-MIC`), and, when an asynchronous MDN was asked for
(`Receipt-Delivery-Option`), how long to wait for it (`X-Gateway-AS2-MDN-Within`, seconds):
then a 2xx answer is taken as is (RFC 4130 section 7.3: its body carries no MDN) and the row
waits for the MDN, which the AS2 endpoint matches to it. The same Message-ID goes on every
attempt, so a partner that stored the first one answers `duplicate-document`.

What an answer means: a connection refused, reset or timed out, 408, 429 and 5xx are
transient; any other non-2xx is permanent; a 2xx is what the check says of the MDN (an error
disposition, a signature that does not verify or a MIC that differs is permanent).
"""

from __future__ import annotations

import http.client
import math
import socket
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

from outbound.errors import PermanentDelivery, TransientDelivery
from outbound.transports.base import Delivered, Outgoing

USER_AGENT = "supplier-gateway-as2/1"
INSTRUCTION = "x-gateway-as2-"
MAX_MDN_BYTES = 1024 * 1024

# (the message as stored, the instructions, the answer's header fields, its body) -> what
# the partner said, in a line; raises a DeliveryError for an MDN that is not a success.
MdnCheck = Callable[[Outgoing, dict[str, str], list[tuple[str, str]], bytes], str]


class As2Poster:
    def __init__(self, timeout: float, check: MdnCheck,
                 context: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self.check = check
        self._context = context

    @property
    def context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def send(self, message: Outgoing) -> Delivered:
        parts = urlsplit(message.recipient.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentDelivery(f"not an http(s) AS2 URL: {parts.scheme or 'no scheme'}")
        instructions = {k.lower()[len(INSTRUCTION):]: v for k, v in message.headers
                        if k.lower().startswith(INSTRUCTION)}
        awaiting = _seconds(instructions["mdn-within"]) if "mdn-within" in instructions \
            else None
        headers = {"User-Agent": USER_AGENT, "Content-Type": message.content_type,
                   **{k: v for k, v in message.headers
                      if not k.lower().startswith(INSTRUCTION)}}
        connection = (http.client.HTTPSConnection(parts.hostname, parts.port,
                                                  timeout=self.timeout, context=self.context)
                      if parts.scheme == "https" else
                      http.client.HTTPConnection(parts.hostname, parts.port,
                                                 timeout=self.timeout))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", target, body=message.payload, headers=headers)
            response = connection.getresponse()
            body = response.read(MAX_MDN_BYTES + 1)
            status, reason, answer_headers = response.status, response.reason, \
                response.getheaders()
        except socket.gaierror as exc:
            raise TransientDelivery(f"cannot resolve {parts.hostname}: {exc.strerror}") \
                from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransientDelivery(f"{parts.hostname}: {type(exc).__name__}") from None
        finally:
            connection.close()
        if status in (408, 429) or status >= 500:
            raise TransientDelivery(f"{parts.hostname} answered {status} {reason}")
        if not 200 <= status < 300:
            raise PermanentDelivery(f"{parts.hostname} answered {status} {reason}")
        if awaiting is not None:
            return Delivered(f"{status} {reason}; its MDN comes asynchronously",
                             awaiting_receipt_seconds=awaiting)
        if len(body) > MAX_MDN_BYTES:
            raise PermanentDelivery(f"the MDN passes {MAX_MDN_BYTES} bytes")
        return Delivered(self.check(message, instructions, answer_headers, body))

    def close(self) -> None:
        return None


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 1:
        raise PermanentDelivery(f"not a number of seconds to wait for the MDN: {value[:40]!r}")
    return seconds
