"""The package hierarchy of a despatch advice: CPS levels, their PAC counts and SSCCs.

CPS 7164 is a level's id and 7166 its parent's (ISO 9735 hierarchical structure). Levels are
keyed by occurrence: real senders repeat ids ("CPS+1+1" twice in an ICA DESADV), and a parent
id refers to the latest level with that id.

Linear in the message: a level's SSCCs are an insertion-ordered set, the nearest level above
with SSCCs is noted when a level opens, and the packages handed to lines stop at a budget
(every line under a level takes all of its SSCCs, which could otherwise make a small file
into a huge document).
"""

from __future__ import annotations

from decimal import Decimal

from gateway.domain.documents import Package


class PackageTree:
    """The levels of one message; `segments` is its segment count, part of the budget of
    packages its lines may take."""

    def __init__(self, segments: int) -> None:
        self._ids: dict[str, int] = {}
        self._parent: dict[int, int | None] = {}
        self._counts: dict[int, Decimal] = {}
        # Insertion-ordered sets: membership is checked for every SSCC of every GIN.
        self._ssccs: dict[int, dict[str, None]] = {}
        # Per level: the nearest level above it with SSCCs, settled when the level opens (a
        # level takes SSCCs only while it is the latest, so its ancestors' are final by then).
        self._above: dict[int, int | None] = {}
        self.level: int | None = None
        # The lines may take as many packages as the segments read and the SSCCs the levels
        # hold (a GIN range names up to thousands in one segment), no more.
        self.limit = segments
        self._handed = 0
        # The SSCCs of the first line refused for the budget; 0 while none was.
        self.refused = 0

    def enter(self, level_id: str, parent_id: str) -> None:
        """A CPS segment opens a level."""
        key = len(self._parent)
        parent = (self._ids.get(parent_id)
                  if parent_id and parent_id != level_id else None)
        self._parent[key] = parent
        self._above[key] = (parent if parent is None or self._ssccs.get(parent)
                            else self._above[parent])
        self._ids[level_id] = key
        self.level = key

    def count(self, packages: Decimal) -> None:
        """PAC 7224 of the current level."""
        if self.level is not None:
            self._counts[self.level] = self._counts.get(self.level, Decimal(0)) + packages

    def add_ssccs(self, values: list[str]) -> None:
        """GIN+BJ of the current level; an SSCC repeated within one level is kept once."""
        if self.level is not None:
            known = self._ssccs.setdefault(self.level, {})
            held = len(known)
            known.update(dict.fromkeys(values))
            self.limit += len(known) - held

    def packages_of(self, level: int | None, quantity: Decimal | None) -> list[Package] | None:
        """The SSCCs of the nearest level up from `level` that has any; the line's quantity
        goes with the package only when there is exactly one. None, and `refused` set, from
        the first line whose packages would take the lines past `limit`: no line after it
        takes any either."""
        if level is not None and not self._ssccs.get(level):
            level = self._above.get(level)
        ssccs = self._ssccs.get(level) if level is not None else None
        if not ssccs:
            return []
        if self.refused or self._handed + len(ssccs) > self.limit:
            self.refused = self.refused or len(ssccs)
            return None
        self._handed += len(ssccs)
        share = quantity if len(ssccs) == 1 else None
        return [Package(sscc, share) for sscc in ssccs]

    def shipment_packages(self, line_ssccs: set[str]) -> int | None:
        """Distinct SSCCs, else the PAC counts of the outermost levels, else unknown."""
        ssccs = {s for values in self._ssccs.values() for s in values} | line_ssccs
        if ssccs:
            return len(ssccs)
        roots = [count for level, count in self._counts.items()
                 if self._parent.get(level) is None]
        return int(sum(roots)) if roots else None
