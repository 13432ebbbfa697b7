"""The mail data of an SMTP transaction, read piece by piece: where it ends and what it holds.

A pure state machine (no sockets): `GatewaySMTP.smtp_DATA` feeds it what arrives.

- The end is `<CRLF>.<CRLF>` and nothing else (RFC 5321 section 4.1.1.4): the CRLF that
  ends the last line (or the DATA command), a dot, a CRLF. A lone dot next to a bare LF
  (`<LF>.<LF>`, `<CR><LF>.<LF>`, `<LF>.<CR><LF>`) does not end the data, nor does anything
  with a bare CR (`<CR>.<CR>`): those are the SMTP smuggling patterns (SEC Consult, December
  2023; CVE-2023-51764/51765/51766), where a second message hidden in the first would be
  taken for a message of its own. Here such a line stays part of the one message, and is
  counted so that it can be logged. This is what Postfix 3.9 does by default
  (`smtpd_forbid_bare_newline = normalize`: "Require the standard End-of-DATA sequence").
- Lines may end in a bare LF, and be of any length, as Postfix accepts them by default:
  RFC 5321 section 4.5.3.1.6 sets 1000 octets per line, but section 4.5.3.1 asks servers
  not to enforce such limits, and EDI software mails whole interchanges on one line or with
  Unix line ends. A line ended by a bare LF counts as a line for dot-stuffing (section
  4.5.2: a leading dot is removed), as it does in Postfix.
- What is kept is what was sent, dot-unstuffed: the line ends stay as they came (bare LF or
  CRLF), so the archive's bytes and sha256 are the sender's.
- Past `limit` bytes the content is dropped at once (memory stays bounded) and the data is
  read on to its end, so that the refusal (552) answers the right command (RFC 5321 4.2.5).

The pieces are lines ending in LF, or parts of a line longer than the stream's buffer (no LF
in them): each is looked at once, so reading is linear in the size of the data.
"""

from __future__ import annotations

_END = b".\r\n"


class MailData:
    """Feed it the pieces of the data in order; `feed` says when the end was reached."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.content = bytearray()
        self.received = 0            # octets read, the end marker excluded
        self.too_big = False
        self.smuggling_patterns = 0  # lone dots next to a bare LF, kept as content
        self.bare_line_feeds = 0     # lines ended by LF alone
        self._line_start = True
        self._after_crlf = True      # the DATA command itself ended in CRLF
        self._after_cr = False       # the last piece ended in CR (a CRLF may straddle two)

    def feed(self, piece: bytes) -> bool:
        """One piece: a line up to and including its LF, or part of a line without one.
        True when it was the end of the data (the piece is not content then)."""
        if self._line_start and piece == _END and self._after_crlf:
            return True
        ends_line = piece.endswith(b"\n")
        data = piece
        if self._line_start and piece.startswith(b"."):
            if piece.rstrip(b"\r\n") == b"." and ends_line:
                self.smuggling_patterns += 1     # not the end: kept as it is
            else:
                data = piece[1:]                 # dot-stuffing, RFC 5321 section 4.5.2
        self._take(piece, data)
        if ends_line:
            crlf = piece.endswith(b"\r\n") or (piece == b"\n" and self._after_cr)
            self.bare_line_feeds += not crlf
            self._after_crlf = crlf
        self._line_start = ends_line
        self._after_cr = piece.endswith(b"\r")
        return False

    def _take(self, piece: bytes, data: bytes) -> None:
        self.received += len(piece)
        if self.too_big:
            return
        if self.limit is not None and self.received > self.limit:
            self.too_big = True
            self.content = bytearray()
            return
        self.content += data
