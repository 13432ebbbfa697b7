"""The package hierarchy of a despatch advice: CPS levels, their PAC counts and SSCCs.

CPS 7164 is a level's id and 7166 its parent's (ISO 9735 hierarchical structure). Levels are
keyed by occurrence: real senders repeat ids ("CPS+1+1" twice in an ICA DESADV), and a parent
id refers to the latest level with that id.
"""

from __future__ import annotations

from decimal import Decimal

from gateway.domain.documents import Package


class PackageTree:
    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._parent: dict[int, int | None] = {}
        self._counts: dict[int, Decimal] = {}
        self._ssccs: dict[int, list[str]] = {}
        self.level: int | None = None

    def enter(self, level_id: str, parent_id: str) -> None:
        """A CPS segment opens a level."""
        key = len(self._parent)
        self._parent[key] = (self._ids.get(parent_id)
                             if parent_id and parent_id != level_id else None)
        self._ids[level_id] = key
        self.level = key

    def count(self, packages: Decimal) -> None:
        """PAC 7224 of the current level."""
        if self.level is not None:
            self._counts[self.level] = self._counts.get(self.level, Decimal(0)) + packages

    def add_ssccs(self, values: list[str]) -> None:
        """GIN+BJ of the current level."""
        if self.level is not None:
            known = self._ssccs.setdefault(self.level, [])
            seen = set(known)
            for value in values:
                if value not in seen:  # a GIN repeated within one level
                    seen.add(value)
                    known.append(value)

    def packages_of(self, level: int | None, quantity: Decimal | None) -> list[Package]:
        """The SSCCs of the nearest level up from `level` that has any; the line's quantity
        goes with the package only when there is exactly one."""
        while level is not None:
            ssccs = self._ssccs.get(level)
            if ssccs:
                share = quantity if len(ssccs) == 1 else None
                return [Package(sscc, share) for sscc in ssccs]
            level = self._parent.get(level)
        return []

    def shipment_packages(self, line_ssccs: set[str]) -> int | None:
        """Distinct SSCCs, else the PAC counts of the outermost levels, else unknown."""
        ssccs = {s for values in self._ssccs.values() for s in values} | line_ssccs
        if ssccs:
            return len(ssccs)
        roots = [count for level, count in self._counts.items()
                 if self._parent.get(level) is None]
        return int(sum(roots)) if roots else None
