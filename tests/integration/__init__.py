"""Integration tests against real servers on loopback: PostgreSQL, Redis, SMTP, IMAP, AS2."""
