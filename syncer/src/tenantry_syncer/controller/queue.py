"""A keyed work queue with per-key exponential back-off, like client-go's workqueue.

A key is queued at most once; a key being processed that is added again is processed once
more afterwards, never by two workers at a time. Urgent keys (work a user is waiting on, such
as creating a pod) are handed out before the rest (status updates, resyncs).
"""

import threading
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Backoff:
    base: float = 0.005
    cap: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.base * 2 ** max(failures - 1, 0)))


class WorkQueue(Generic[K]):
    def __init__(self, backoff: Backoff | None = None) -> None:
        self._backoff = backoff or Backoff()
        self._cond = threading.Condition()
        self._queue: deque[K] = deque()
        self._urgent: deque[K] = deque()
        self._queued: set[K] = set()
        self._processing: set[K] = set()
        self._dirty: set[K] = set()
        self._failures: dict[K, int] = {}
        self._delayed: dict[K, float] = {}
        self._shutdown = False

    def add(self, key: K, *, urgent: bool = False) -> None:
        with self._cond:
            if self._shutdown:
                return
            self._push(key, urgent)

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` once ``delay`` seconds have passed."""
        with self._cond:
            due = time.monotonic() + delay
            self._delayed[key] = min(self._delayed.get(key, due), due)
            self._cond.notify()

    def retry(self, key: K, cap: float | None = None) -> float:
        """Queue ``key`` again after its back-off, at most ``cap`` seconds; returns the delay."""
        with self._cond:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            delay = self._backoff.delay(failures)
            if cap is not None:
                delay = min(delay, cap)
            self._delayed[key] = time.monotonic() + delay
            self._cond.notify()
            return delay

    def forget(self, key: K) -> None:
        """``key`` succeeded: its next failure starts from the base delay again."""
        with self._cond:
            self._failures.pop(key, None)

    def get(self, timeout: float | None = None) -> K | None:
        """The next key to process, or None on shutdown or timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._promote_due()
                if self._urgent or self._queue:
                    key = (self._urgent or self._queue).popleft()
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                if self._shutdown or (deadline is not None and time.monotonic() >= deadline):
                    return None
                self._cond.wait(self._next_wait(deadline))

    def done(self, key: K) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self._push(key)

    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._urgent) + len(self._queue) + len(self._delayed)

    def _push(self, key: K, urgent: bool = False) -> None:
        # Caller holds the lock. A key being processed is marked dirty instead, so it is
        # queued again by done() and never handed to two workers at once.
        if key in self._processing:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            (self._urgent if urgent else self._queue).append(key)
            self._cond.notify()

    def _promote_due(self) -> None:
        now = time.monotonic()
        for key, due in list(self._delayed.items()):
            if due <= now:
                del self._delayed[key]
                self._push(key)

    def _next_wait(self, deadline: float | None) -> float | None:
        now = time.monotonic()
        waits = [due - now for due in self._delayed.values()]
        if deadline is not None:
            waits.append(deadline - now)
        return max(min(waits), 0.0) if waits else None
