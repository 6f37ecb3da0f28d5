"""Fan-out of desk events (a new result, the reader's state) from the worker threads to every open
stream of the local API (server-sent events), without blocking the publisher.

Each subscriber owns a bounded queue; a subscriber that does not keep up loses its oldest events
rather than slowing the reader down (the page re-reads ``/api/results/latest`` when it reconnects).
Subscribers may live on an asyncio loop: events are handed over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Mapping
from typing import Any

MAX_PENDING = 100
CLOSED = None  # what a subscription yields once the hub is closed


class Subscription:
    """One reader of the hub, for use on one asyncio loop."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        self._hub = hub
        self._loop = loop
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=MAX_PENDING)

    def deliver(self, event: dict[str, Any] | None) -> None:
        """Called from any thread."""
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: dict[str, Any] | None) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(event)

    async def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event; raises TimeoutError after ``timeout`` seconds of silence."""
        return await asyncio.wait_for(self.queue.get(), timeout)

    def close(self) -> None:
        self._hub.unsubscribe(self)


class Hub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []
        self._closed = False
        self._ids = itertools.count(1)

    def subscribe(self, loop: asyncio.AbstractEventLoop | None = None) -> Subscription:
        subscription = Subscription(self, loop or asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                subscription.deliver(CLOSED)
            else:
                self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    def publish(self, kind: str, data: Mapping[str, Any]) -> None:
        event = {"id": next(self._ids), "event": kind, "data": dict(data)}
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.deliver(event)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def close(self) -> None:
        """End every stream (the server is shutting down)."""
        with self._lock:
            self._closed = True
            subscribers, self._subscribers = self._subscribers, []
        for subscription in subscribers:
            subscription.deliver(CLOSED)
