"""EDIFACT acknowledgements on the wire: CONTRL (syntax and service report) and APERAK
(application error and acknowledgement), in an interchange whose envelope answers the one
received. Pure: segments in, bytes out. Nothing here reads a
supplier's bytes; the services decide what to say (`gateway.services.acknowledgements`)."""

from outbound.edifact.aperak import (
    AperakError,
    AperakMessage,
    ErrorKind,
    aperak_segments,
    aperaks_written,
)
from outbound.edifact.contrl import (
    Action,
    ContrlReport,
    MessageResponse,
    SyntaxFault,
    contrl_segments,
    contrl_written,
)
from outbound.edifact.envelope import (
    InboundEnvelope,
    MessageIdentifier,
    Party,
    answer_interchange,
    answer_written,
)
from outbound.edifact.mail import AckMail, ack_email

__all__ = [
    "AckMail",
    "Action",
    "AperakError",
    "AperakMessage",
    "ContrlReport",
    "ErrorKind",
    "InboundEnvelope",
    "MessageIdentifier",
    "MessageResponse",
    "Party",
    "SyntaxFault",
    "ack_email",
    "answer_interchange",
    "answer_written",
    "aperak_segments",
    "aperaks_written",
    "contrl_segments",
    "contrl_written",
]
