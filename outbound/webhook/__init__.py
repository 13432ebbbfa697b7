"""Webhooks: the signed JSON body of an alert or a digest (`bodies`) and its HMAC signature
(`signing`). No I/O: the outbox's webhook transport posts what these build."""
