"""The syncer's keyed work queue: dedupe, one worker per key, exponential back-off."""

import socket
import threading
import time

import urllib3
from kubernetes.client.exceptions import ApiException
from tenantry_syncer.controller.queue import Backoff, WorkQueue
from tenantry_syncer.sync import unreachable


def test_a_key_is_queued_once() -> None:
    q: WorkQueue[str] = WorkQueue()
    for _ in range(3):
        q.add("a")
    q.add("b")
    assert len(q) == 2
    assert [q.get(0), q.get(0), q.get(0)] == ["a", "b", None]


def test_a_key_added_while_processing_is_processed_again_afterwards() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert q.get(0) == "a"
    q.add("a")  # an update arrives mid-reconcile
    assert q.get(0) is None  # never handed to a second worker at the same time
    q.done("a")
    assert q.get(0) == "a"


def test_retries_back_off_exponentially_and_forget_resets() -> None:
    backoff = Backoff(base=0.01, cap=0.05)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 10)] == [0.01, 0.02, 0.04, 0.05, 0.05]
    q: WorkQueue[str] = WorkQueue(backoff)
    q.add("a")
    key = q.get(0)
    assert key == "a"
    assert q.retry(key) == 0.01
    q.done(key)
    assert q.get(0) is None  # not before its delay
    assert q.get(1) == "a"
    assert q.retry("a") == 0.02
    q.done("a")
    assert q.get(1) == "a"
    q.forget("a")
    assert q.retry("a") == 0.01


def test_shutdown_wakes_waiting_workers() -> None:
    q: WorkQueue[str] = WorkQueue()
    got: list[str | None] = []
    worker = threading.Thread(target=lambda: got.append(q.get()))
    worker.start()
    time.sleep(0.05)
    q.shutdown()
    worker.join(timeout=2)
    assert got == [None]


def test_urgent_keys_are_handed_out_first_and_still_only_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("status-1")
    queue.add("status-2")
    queue.add("create", urgent=True)
    queue.add("create", urgent=True)
    assert [queue.get(timeout=0), queue.get(timeout=0), queue.get(timeout=0)] == [
        "create",
        "status-1",
        "status-2",
    ]
    assert queue.get(timeout=0) is None


def test_a_retry_can_be_capped_below_the_back_off() -> None:
    q: WorkQueue[str] = WorkQueue(Backoff(base=1.0, cap=60.0))
    for _ in range(6):
        q.retry("a")  # 1, 2, 4, 8, 16, 32 s
    assert q.retry("a") == 60.0
    assert q.retry("a", cap=2.0) == 2.0  # the failures still count: the cap only bounds


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_an_api_that_does_not_answer_is_told_from_one_that_refuses() -> None:
    refused = ApiException(status=403, reason="Forbidden")
    starting = ApiException(status=503, reason="Service Unavailable")
    # What the client raises when nothing listens: a real connection to a closed port.
    try:
        urllib3.PoolManager(retries=False).request("GET", f"http://127.0.0.1:{closed_port()}/")
    except urllib3.exceptions.HTTPError as e:
        down: Exception = e
    else:
        raise AssertionError("a closed port answered")
    assert [unreachable(e) for e in (refused, starting, down, ConnectionResetError())] == [
        False,
        True,
        True,
        True,
    ]
    assert not unreachable(ValueError("a bad manifest"))
