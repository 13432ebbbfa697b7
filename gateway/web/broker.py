"""The web process's view of the Celery broker: does it answer, and how many tasks wait.

Redis (the production broker, docs/architecture.md, "Who runs the processing") is asked directly:
PING, and LLEN of each queue's list, which is where Celery's Redis transport keeps a queue's
waiting messages under the queue's own name. Any other broker kombu knows (RabbitMQ, say) is
checked by opening a connection; its queue lengths are not reported. Timeouts are short: a probe
that hangs would make the readiness check hang with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from gateway.web.health import BrokerProbe, BrokerUnavailable

TIMEOUT_SECONDS = 2


def make_broker_probe(url: str, queues: Sequence[str]) -> BrokerProbe:
    if urlsplit(url).scheme in ("redis", "rediss"):
        return RedisBroker(url, queues)
    return KombuBroker(url)


class RedisBroker:
    def __init__(self, url: str, queues: Sequence[str]) -> None:
        import redis

        self._queues = tuple(queues)
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS,
            retry_on_timeout=False)

    def ping(self) -> None:
        import redis

        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise BrokerUnavailable(_describe(exc)) from exc

    def queue_lengths(self) -> dict[str, int]:
        import redis

        try:
            pipeline = self._client.pipeline(transaction=False)
            for queue in self._queues:
                pipeline.llen(queue)
            lengths = pipeline.execute()
        except redis.RedisError as exc:
            raise BrokerUnavailable(_describe(exc)) from exc
        return {queue: int(length) for queue, length in zip(self._queues, lengths, strict=True)}

    def close(self) -> None:
        self._client.close()


class KombuBroker:
    def __init__(self, url: str) -> None:
        self._url = url

    def ping(self) -> None:
        from kombu import Connection

        try:
            with Connection(self._url, connect_timeout=TIMEOUT_SECONDS) as connection:
                connection.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
        except Exception as exc:  # kombu raises its transport's own errors
            raise BrokerUnavailable(_describe(exc)) from exc

    def queue_lengths(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        pass


def _describe(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
