"""The drop folder: each message one file, written the Maildir way so a reader never sees a
half-written file (written and fsynced under `tmp/`, then renamed into `new/`: a rename within
one file system is atomic, POSIX rename(2); Maildir, D. J. Bernstein, "Using maildir format").

A file is named by the message's wire id (characters a file name cannot hold replaced, with a
short hash of the id when anything was), so a message written again after a crash replaces
its own file: the folder holds each message once. The embedded default transport: what the
gateway would have sent, without any server.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from outbound.errors import TransportUnavailable
from outbound.transports.base import Delivered, Outgoing

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")
_EXTENSIONS = {"message/rfc822": ".eml", "application/edifact": ".edi",
               "application/json": ".json", "text/plain": ".txt"}


def file_name(wire_id: str, content_type: str) -> str:
    """The drop file's name for a wire id: readable, safe, one per id."""
    bare = wire_id.strip().removeprefix("<").removesuffix(">")
    safe = _UNSAFE.sub("_", bare)[:180].lstrip(".") or "message"
    if safe != bare:
        safe += "-" + hashlib.sha256(wire_id.encode()).hexdigest()[:10]
    base_type = content_type.split(";", 1)[0].strip().lower()
    return safe + _EXTENSIONS.get(base_type, ".bin")


class FileDrop:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: Outgoing) -> Delivered:
        name = file_name(message.wire_id, message.content_type)
        staging, final = self.folder / "tmp" / name, self.folder / "new" / name
        try:
            for part in ("tmp", "new", "cur"):
                (self.folder / part).mkdir(parents=True, exist_ok=True)
            with open(staging, "wb") as handle:
                handle.write(message.payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(staging, final)
        except OSError as exc:   # a full disk, a folder not writable: IT fixes, rows wait
            raise TransportUnavailable(f"cannot write to {self.folder}: {exc.strerror}") \
                from None
        return Delivered(f"written to {final}", str(final))

    def close(self) -> None:
        return None
