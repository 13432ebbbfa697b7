"""What each message type means: data, not code (CONVENTIONS.md, "registries are data")."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.domain.documents import DocumentKind
from mappings.edifact.codes import DateQualifier, QuantityQualifier


@dataclass(frozen=True, slots=True)
class MessageProfile:
    """What one message type means: its document kind and which codes carry the commitment."""

    kind: DocumentKind
    document_codes: frozenset[str]
    quantity_order: tuple[str, ...]
    date_order: tuple[str, ...]
    order_number_in_bgm: bool = False
    line_actions: bool = False
    # Each qualifier of `date_order` and its position (the first, should one repeat).
    date_rank: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rank: dict[str, int] = {}
        for position, qualifier in enumerate(self.date_order):
            rank.setdefault(qualifier, position)
        object.__setattr__(self, "date_rank", rank)


Q, D = QuantityQualifier, DateQualifier
PROFILES: dict[str, MessageProfile] = {
    "ORDRSP": MessageProfile(
        DocumentKind.ORDER_RESPONSE, frozenset({"231"}),
        (Q.TO_BE_DELIVERED, Q.DESPATCH, Q.CONFIRMED_EDIT30, Q.ORDERED),
        (D.DELIVERY_PROMISED, D.DELIVERY_ESTIMATED, D.ARRIVAL_ESTIMATED, D.DELIVERY_REQUESTED,
         D.DELIVERY_EARLIEST, D.DELIVERY_LATEST, D.AVAILABILITY, D.SHIPMENT_REQUESTED),
        line_actions=True,
    ),
    "DESADV": MessageProfile(
        DocumentKind.DESPATCH_ADVICE, frozenset({"351"}),
        (Q.DESPATCH,),
        (D.DELIVERY_ESTIMATED, D.ARRIVAL_ESTIMATED, D.DELIVERY_REQUESTED, D.DELIVERY_PROMISED,
         D.DELIVERY_EARLIEST, D.DELIVERY_LATEST),
    ),
    "ORDERS": MessageProfile(
        DocumentKind.PURCHASE_ORDER, frozenset({"105", "220", "221", "224", "225", "226", "227",
                                                 "228", "22E", "23E", "402"}),
        (Q.ORDERED, Q.DISCRETE),
        (D.DELIVERY_REQUESTED, D.DELIVERY_EARLIEST, D.DELIVERY_LATEST, D.DELIVERY_PROMISED,
         D.DELIVERY_ESTIMATED),
        order_number_in_bgm=True,
    ),
}

# Trigger segments of segment groups that are neither the header nor a line: the values inside
# those groups describe the reference, party, package ... and not the document or the line.
GROUP_TRIGGERS = frozenset({"RFF", "NAD", "TDT", "PAC", "PCI", "CPS", "LOC", "ALC", "TAX",
                             "CUX", "PRI", "TOD", "PAT", "SCC", "EQD", "HAN", "DGS", "CTA",
                             "QVR", "APR", "RCS", "SEQ"})
