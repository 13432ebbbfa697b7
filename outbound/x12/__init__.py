"""X12 functional acknowledgements on the wire: the 997 (and the 999 of the HIPAA-style
implementation guides) answering one received functional group. Pure: results in, text out;
nothing here reads a supplier's bytes."""

from outbound.x12.functional_ack import (
    AckCode,
    GroupResult,
    InterchangeParties,
    TransactionResult,
    functional_ack,
    functional_ack_email,
)

__all__ = [
    "AckCode",
    "GroupResult",
    "InterchangeParties",
    "TransactionResult",
    "functional_ack",
    "functional_ack_email",
]
