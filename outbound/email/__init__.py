"""Email to suppliers, on the wire: replies to what they wrote and reminders when they are
silent (RFC 5322 messages, multipart plain text + HTML, in the supplier's language).

What to say is decided by `gateway.services.replies` and `gateway.services.reminders` and
handed in as plain values (`content.py`); this package only renders (Jinja2 templates in
`templates/`, overridable from a folder the operator names), threads (`threading.py`) and
judges from header fields whether a message may be answered at all (`loops.py`). It reads no
database and parses no supplier file.
"""
