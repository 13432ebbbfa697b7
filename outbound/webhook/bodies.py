"""The bodies of alert webhooks: the gateway's own JSON, or a Slack or Microsoft Teams
incoming-webhook message. Supplier text (order numbers, expected and actual values) is data:
each style escapes what its receiver would read as markup.

The gateway's JSON (`style = "json"`, signed: `outbound.webhook.signing`)::

    {"event": "alert" | "digest", "delivery": "<id>", "sent_at": "2026-12-06T07:00:00+00:00",
     "recipient": "anna.buyer@buyer.example",
     "alerts": [{"exception_id": 7, "change": "opened", "code": "QTY_SHORT",
                 "severity": "high", "risk": 41.2, "state": "open",
                 "supplier": {"code": "ACME", "name": "Acme Fasteners GmbH"},
                 "order_number": "PO-1", "line_no": "10",
                 "expected": "100 PCE", "actual": "40 PCE", "changes": 1}]}

Fields are only ever added. `changes` counts the changes of the digest window one entry
stands for (an exception that flapped is listed once).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from gateway.domain.alerts import DigestItem


def json_body(event: str, delivery: str, recipient: str, sent_at: datetime,
              items: list[DigestItem]) -> bytes:
    document = {"event": event, "delivery": delivery, "sent_at": sent_at.isoformat(),
                "recipient": recipient, "alerts": [_item(item) for item in items]}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _item(item: DigestItem) -> dict[str, Any]:
    return {"exception_id": item.exception_id, "change": item.change.value,
            "code": item.code, "severity": item.severity.value, "risk": round(item.risk, 2),
            "state": item.state,
            "supplier": {"code": item.supplier_code, "name": item.supplier_name},
            "order_number": item.order_number, "line_no": item.line_no,
            "expected": item.expected, "actual": item.actual, "changes": item.changes}


def slack_body(title: str, items: list[DigestItem]) -> bytes:
    """A Slack incoming-webhook message: `text` (the notification) and one section block per
    exception. Slack reads `&`, `<` and `>` as control characters in mrkdwn: escaped as
    entities (api.slack.com, "Formatting text for app surfaces", escaping)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": _slack_line(item)}}
               for item in items[:49]]   # Slack accepts at most 50 blocks per message
    return json.dumps({"text": _slack_escape(title), "blocks": blocks},
                      ensure_ascii=False).encode("utf-8")


def _slack_line(item: DigestItem) -> str:
    where = _where(item)
    return _slack_escape(f"{item.severity.value.upper()} {item.code} ({item.change.value}) "
                         f"{item.supplier_name} {where}: expected {item.expected or '-'}, "
                         f"got {item.actual or '-'}")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_body(title: str, items: list[DigestItem]) -> bytes:
    """A Microsoft Teams message carrying an Adaptive Card, the body Teams' incoming
    webhooks (Workflows) accept. TextBlocks render a Markdown subset: supplier text has its
    Markdown characters escaped with backslashes."""
    body: list[dict[str, Any]] = [{"type": "TextBlock", "text": _markdown_escape(title),
                                   "weight": "Bolder", "size": "Medium", "wrap": True}]
    body += [{"type": "TextBlock", "wrap": True, "text": _markdown_escape(
        f"{item.severity.value.upper()} {item.code} ({item.change.value}) "
        f"{item.supplier_name} {_where(item)}: expected {item.expected or '-'}, "
        f"got {item.actual or '-'}")} for item in items]
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4", "body": body}
    return json.dumps({"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]},
        ensure_ascii=False).encode("utf-8")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~])")


def _markdown_escape(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def _where(item: DigestItem) -> str:
    if item.order_number and item.line_no:
        return f"order {item.order_number} line {item.line_no}"
    return f"order {item.order_number}" if item.order_number else "(no order)"
