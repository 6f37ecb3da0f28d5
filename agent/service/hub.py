"""Fan-out of desk events (typed values: a new result, the reader's state; see
:mod:`agent.service.state`) from the worker threads to every open stream of the local API
(server-sent events), without blocking the publisher. The hub knows nothing of what it carries: the
API renders each event into JSON.

Each subscriber owns a bounded queue; a subscriber that does not keep up loses its oldest events
rather than slowing the reader down (the page re-reads ``/api/results/latest`` when it reconnects).
Subscribers may live on an asyncio loop: events are handed over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import threading
from typing import Generic, TypeVar

MAX_PENDING = 100
CLOSED = None  # what a subscription yields once the hub is closed

EventT = TypeVar("EventT")


@dataclasses.dataclass(frozen=True)
class HubMessage(Generic[EventT]):
    """One published event with its sequence number (the SSE ``id``)."""

    id: int
    event: EventT


class Subscription(Generic[EventT]):
    """One reader of the hub, for use on one asyncio loop."""

    def __init__(self, hub: Hub[EventT], loop: asyncio.AbstractEventLoop) -> None:
        self._hub = hub
        self._loop = loop
        self.queue: asyncio.Queue[HubMessage[EventT] | None] = asyncio.Queue(maxsize=MAX_PENDING)

    def deliver(self, message: HubMessage[EventT] | None) -> None:
        """Called from any thread."""
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._put, message)

    def _put(self, message: HubMessage[EventT] | None) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(message)

    async def get(self, timeout: float) -> HubMessage[EventT] | None:
        """The next message (None once the hub closed); raises TimeoutError after ``timeout`` s of silence."""
        return await asyncio.wait_for(self.queue.get(), timeout)

    def close(self) -> None:
        self._hub.unsubscribe(self)


class Hub(Generic[EventT]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscription[EventT]] = []
        self._closed = False
        self._ids = itertools.count(1)

    def subscribe(self, loop: asyncio.AbstractEventLoop | None = None) -> Subscription[EventT]:
        subscription = Subscription(self, loop or asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                subscription.deliver(CLOSED)
            else:
                self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription[EventT]) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    def publish(self, event: EventT) -> None:
        message = HubMessage(next(self._ids), event)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.deliver(message)

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
