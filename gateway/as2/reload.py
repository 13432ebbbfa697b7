"""The partner file's AS2 tables, loaded again when the file or a key or certificate it names
changes, so that a renewal never needs a restart (and never stops traffic).

`PartnerFileWatch.current()` is what every request asks for. At most every `check_seconds`
one caller looks at the files' modification time, size and inode (a file replaced by a
rename has a new inode even when its time is the same); when any differs it loads the file
again and swaps the whole directory in one assignment, so a request sees the old table or the
new one, never half of each. A file that does not load (half written, a key that is not the
certificate's, a TOML error) leaves the old table in service, and `on_change` hears why once
per version of the files; a later good version replaces it and `on_change` hears `None`.
Checking costs a few `stat` calls; no thread is started.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from gateway.as2.partners import As2Directory, directory_from_file
from gateway.errors import ConfigurationError

log = logging.getLogger(__name__)

DEFAULT_CHECK_SECONDS = 5.0
Stamp = tuple[int, int, int] | None   # (mtime_ns, size, inode); None: the file is missing


class PartnerFileWatch:
    def __init__(self, path: Path, env: Mapping[str, str],
                 check_seconds: float = DEFAULT_CHECK_SECONDS,
                 on_change: Callable[[str | None], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        """Loads the file now: a file that does not load raises `ConfigurationError` (the
        endpoint does not start on a broken file)."""
        self.path = path
        self._env = env
        self.check_seconds = check_seconds
        self._on_change = on_change
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._watched = [path, *files_named(path)]
        self._stamps = stamps(self._watched)
        self._directory = directory_from_file(path, env)
        self._refused: tuple[Stamp, ...] | None = None
        self._checked = monotonic()

    def current(self) -> As2Directory:
        """The directory in service, after a check when `check_seconds` have passed. A
        caller that finds another one checking does not wait: it gets the table in
        service."""
        if self._monotonic() - self._checked < self.check_seconds:
            return self._directory
        if not self._lock.acquire(blocking=False):
            return self._directory
        try:
            self._checked = self._monotonic()
            self._check()
        finally:
            self._lock.release()
        return self._directory

    def __call__(self) -> As2Directory:
        return self.current()

    def _check(self) -> None:
        seen = stamps(self._watched)
        if seen == self._stamps or seen == self._refused:
            return
        # The files the new version names: watched from now on, whether it loads or not.
        watched = [self.path, *files_named(self.path)]
        seen = stamps(watched)   # taken before loading: a change during the load is seen next
        self._watched = watched
        try:
            directory = directory_from_file(self.path, self._env)
        except ConfigurationError as exc:
            self._refused = seen
            log.error("AS2: the changed partner file %s is not used, the previous one stays "
                      "in service: %s", self.path, exc)
            self._tell(str(exc))
            return
        was_refused = self._refused is not None
        self._directory, self._stamps, self._refused = directory, seen, None
        log.info("AS2: partner file %s loaded again (%d partners, %d ids of ours)", self.path,
                 len(directory.partners), len(directory.stations))
        if was_refused:
            self._tell(None)

    def _tell(self, error: str | None) -> None:
        if self._on_change is not None:
            self._on_change(error)


def stamps(paths: list[Path]) -> tuple[Stamp, ...]:
    return tuple(_stamp(path) for path in paths)


def _stamp(path: Path) -> Stamp:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size, found.st_ino)


def files_named(path: Path) -> list[Path]:
    """The key, certificate and CRL files the partner file names (relative to it), in
    order; none when it cannot be read (its own stamp then tells when it changes)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    return [path.parent / name for name in _names(data)]


def _names(data: Mapping[str, Any]) -> Iterator[str]:
    section = data.get("as2")
    for station in (section.get("stations") if isinstance(section, dict) else None) or []:
        if isinstance(station, dict):
            yield from (str(station[key]) for key in ("key", "certificate")
                        if isinstance(station.get(key), str))
    for supplier in data.get("suppliers") or []:
        options = supplier.get("as2") if isinstance(supplier, dict) else None
        for key in ("certificates", "ca_certificates", "crls"):
            if isinstance(options, dict) and isinstance(options.get(key), list):
                yield from (str(name) for name in options[key])
