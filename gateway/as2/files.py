"""A file the AS2 endpoint reads (the partner file, a CRL) replaced while it runs: written
beside it and renamed over it, so a reader (`reload.PartnerFileWatch`) finds the old bytes or
the new ones, never half; its mode kept, and its owner when run as root."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def replace_by_rename(path: Path, data: bytes) -> None:
    """`path` holding `data`, durably (the file and then its folder synced)."""
    status = path.stat()
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, stat.S_IMODE(status.st_mode))
        if os.geteuid() == 0 and (status.st_uid, status.st_gid) != (0, 0):
            os.chown(temporary, status.st_uid, status.st_gid)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)
