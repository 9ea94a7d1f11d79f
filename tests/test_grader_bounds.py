"""The grader's own work on a student's data is bounded: in time, in what it receives, keeps and copies.

Unit tests without a kernel; `tests/test_fault_matrix.py` and `tests/test_trust_tf.py` grade the same
cases end to end.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import zmq

from helpers.instructor import execute, merge
from helpers.instructor.deadline import Deadline


class Late(BaseException):
    pass


def _busy_until_late(seconds: float, swallow_once: bool = False) -> tuple[float, int]:
    """Spin in pure Python under a deadline; (when it struck, how often it was swallowed)."""
    started, swallowed = time.monotonic(), 0
    try:
        with Deadline(seconds, Late):
            while True:
                try:
                    sum(range(100))
                except BaseException:
                    if swallowed or not swallow_once:
                        raise
                    swallowed += 1  # a check's broad `except` must not keep the grader busy for ever
    except Late:
        return time.monotonic() - started, swallowed
    raise AssertionError("the deadline never struck")


def test_a_deadline_strikes_in_the_main_thread_and_in_any_other():
    when, _ = _busy_until_late(0.2)
    assert 0.2 <= when < 1.5
    found = []
    worker = threading.Thread(target=lambda: found.append(_busy_until_late(0.2)))  # as in a Dask worker
    worker.start()
    worker.join(10)
    assert found and 0.2 <= found[0][0] < 1.5


def test_a_swallowed_deadline_strikes_again():
    when, swallowed = _busy_until_late(0.2, swallow_once=True)
    assert swallowed == 1 and when < 3


def test_waiting_for_the_kernel_is_never_interrupted_and_nothing_strikes_after_the_block():
    with pytest.raises(Late):
        with Deadline(0.1, Late) as limit:
            with limit.paused():
                time.sleep(0.4)  # nbclient waiting for a reply: never broken off half-way
            assert limit.left() < 0
            while True:
                sum(range(100))
    with Deadline(0.2, Late):
        pass
    time.sleep(0.5)  # past the deadline of a block that ended in time: nothing is raised here


def test_the_kernels_own_output_is_kept_in_part_and_costs_no_disk(tmp_path):
    log_path = tmp_path / "kernel.log"
    with execute.CappedLog(str(log_path), keep=1000) as log:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys\nfor i in range(100000): print('line', i)\nprint('THE END', file=sys.stderr)",
            ],
            stdout=log.writer,
            stderr=log.writer,
            check=True,
        )
    text = log_path.read_text()
    assert log.total > 1_000_000 and len(text) < 3000
    assert text.startswith("line 0\n") and text.rstrip().endswith("THE END")
    assert f"{log.total - 2000:,} bytes of the kernel's output left out" in text
    quiet = tmp_path / "quiet.log"
    with execute.CappedLog(str(quiet)):
        pass
    assert not quiet.exists()  # a kernel that printed nothing leaves no file


def test_files_beside_a_submission_are_capped_in_number_and_in_total(tmp_path):
    folder, work = tmp_path / "submitted", tmp_path / "work"
    folder.mkdir()
    work.mkdir()
    (folder / "nb.ipynb").write_text("{}")
    for k in range(6):
        (folder / f"data{k}.bin").write_bytes(b"x" * 400)
    for k in range(7):
        (folder / f"folder{k}").mkdir()
    notes = merge.copy_submitted_files(folder, work, limit=500, max_total=1000, max_count=4)
    copied = sorted(p.name for p in work.iterdir())
    assert copied == ["data0.bin", "data1.bin"]  # 800 bytes; a third would pass 1000
    assert sum(p.stat().st_size for p in work.iterdir()) <= 1000
    assert any(n.startswith("data2.bin not copied") and "1,000 bytes in all" in n for n in notes), notes
    folder_notes = [n for n in notes if "folders beside the notebook" in n]
    assert len(folder_notes) == 1 and "and 2 more" in folder_notes[0]  # one line, not one per folder
    again = tmp_path / "again"
    again.mkdir()
    notes = merge.copy_submitted_files(folder, again, limit=500, max_total=10_000, max_count=4)
    assert len(list(again.iterdir())) == 4
    assert any("at most 4 files" in n for n in notes)


def test_the_kernels_sockets_drop_a_message_over_the_limit_unread():
    context = execute._bounded_context()
    try:
        sock = context.socket(zmq.SUB)
        assert sock.getsockopt(zmq.MAXMSGSIZE) == execute.MAX_KERNEL_MESSAGE_BYTES
        sock.close()
    finally:
        context.term()
    # What the limit does, on a small one: the large message never arrives, the connection is dropped
    # for good, and the monitor the grader keeps on it says so (the grader then restarts the kernel).
    context = zmq.Context()
    context.setsockopt(zmq.MAXMSGSIZE, 1 << 20)
    publisher = zmq.Context().socket(zmq.PUB)
    try:
        port = publisher.bind_to_random_port("tcp://127.0.0.1")
        subscriber = context.socket(zmq.SUB)
        subscriber.setsockopt(zmq.SUBSCRIBE, b"")
        subscriber.connect(f"tcp://127.0.0.1:{port}")
        subscriber.monitor("inproc://watch", zmq.EVENT_DISCONNECTED)
        monitor = context.socket(zmq.PAIR)
        monitor.connect("inproc://watch")
        time.sleep(0.3)
        publisher.send(b"small")
        assert subscriber.poll(2000) and subscriber.recv() == b"small"
        assert not monitor.poll(100)
        publisher.send(b"x" * (4 << 20))
        assert monitor.poll(5000), "the dropped connection was not reported"
        assert not subscriber.poll(500)  # nothing of the large message was received
        monitor.close(linger=0)
        subscriber.close(linger=0)
    finally:
        publisher.close(linger=0)
        context.term()
