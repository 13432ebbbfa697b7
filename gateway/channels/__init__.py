"""Channels take messages in (SMTP, IMAP, AS2, upload): each archives the raw bytes through
`gateway.services.ingest.archive`, commits, and only then answers in its protocol's terms
(docs/architecture.md, "Archive before acknowledge"). No parsing on the intake path."""
