"""How outbound bytes leave: an SMTP relay, HTTP webhooks, a drop folder.

Each transport takes `Outgoing` messages (complete bytes; a transport adds nothing to an email
and only the delivery headers to a webhook), returns what the other side answered, or raises
an `outbound.errors.DeliveryError` saying whether retrying can help. A transport may keep a
connection open across the messages of a batch; `close` ends it. No database, no parsing.
"""
