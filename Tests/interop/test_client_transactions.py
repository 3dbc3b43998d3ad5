"""Rivulet's transactional producer and exactly-once copy loop, judged by librdkafka (confluent-kafka).

On the dev broker only: tansu does not filter aborted transactions.

- transactions Rivulet commits are visible to a librdkafka read_committed consumer, aborted ones never;
- a second producer with the same transactional id fences the first, which then writes nothing;
- a transaction left open by a killed producer is aborted after its timeout, and read_committed
  readers get past it;
- closing a producer with a transaction open aborts it at once: read_committed readers get past
  it without waiting for the timeout;
- the ExactlyOnceCopy sample, killed with SIGKILL again and again while copying 200,000 records,
  leaves every record in the output exactly once, in order per partition;
- two copiers in one group, through a rebalance and kills of each, do the same.

The other direction (librdkafka's aborted transactions filtered by Rivulet's read_committed
consumer) is test_client_consumer.py::test_read_committed_drops_exactly_the_aborted_records.
"""
import json
import os
import random
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import bin_path
from test_client_consumer import rivulet_consume
from test_dev_broker_clients import consume, consume_to_end, create_topic


class TransactionProbe:
    """`RivuletInteropProbe transact`: one JSON command per line, one JSON answer per line."""

    def __init__(self, bootstrap, transactional_id, timeout_ms=60000):
        self.process = subprocess.Popen(
            [str(bin_path() / "RivuletInteropProbe"), "transact", "--bootstrap", bootstrap,
             "--transactional-id", transactional_id, "--transaction-timeout-ms", str(timeout_ms),
             "--delivery-timeout-ms", "20000"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )

    def call(self, op, **fields):
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"probe exited during {op}: {self.process.stderr.read()}"
        return json.loads(line)

    def ok(self, op, **fields):
        answer = self.call(op, **fields)
        assert answer["ok"], f"{op}: {answer}"
        return answer

    def kill(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self):
        if self.process.poll() is None:
            try:
                self.call("close")
            except (AssertionError, BrokenPipeError):
                pass
        self.kill()


def values(records):
    return [r.value().decode() for r in records]


def by_partition(records):
    result = {}
    for r in records:
        result.setdefault(r.partition(), []).append(r.value().decode())
    return result


def test_librdkafka_reads_what_rivulet_commits_and_never_what_it_aborts(dev_broker):
    create_topic(dev_broker.bootstrap, "rivulet-txn", partitions=2)
    probe = TransactionProbe(dev_broker.bootstrap, "rivulet-writer")
    try:
        probe.ok("init")
        committed, aborted = [], []
        for round_ in range(6):
            probe.ok("begin")
            batch = [f"round-{round_}-{i}" for i in range(50)]
            for partition in (0, 1):
                probe.ok("send", topic="rivulet-txn", partition=partition, values=[f"{v}-p{partition}" for v in batch])
            written = [f"{v}-p{p}" for p in (0, 1) for v in batch]
            if round_ % 2 == 1:
                probe.ok("flush")   # in the log before the abort: the abort marker must hide them
                assert probe.ok("abort")["state"] == "ready"
                aborted += written
            else:
                assert probe.ok("commit")["state"] == "ready"
                committed += written
    finally:
        probe.close()

    seen = consume_to_end(dev_broker.bootstrap, "rivulet-txn", isolation="read_committed")
    assert sorted(values(seen)) == sorted(committed)
    for partition, in_order in by_partition(seen).items():
        assert in_order == [v for v in committed if v.endswith(f"-p{partition}")]
    # The aborted records were written (read_uncommitted sees them): markers, not omission, hide them.
    everything = consume_to_end(dev_broker.bootstrap, "rivulet-txn", isolation="read_uncommitted")
    assert set(aborted) <= set(values(everything))


def test_second_instance_fences_the_first_which_writes_nothing_more(dev_broker):
    create_topic(dev_broker.bootstrap, "fencing", partitions=1)
    first = TransactionProbe(dev_broker.bootstrap, "shared-id")
    second = TransactionProbe(dev_broker.bootstrap, "shared-id")
    try:
        first.ok("init")
        first.ok("begin")
        first.ok("send", topic="fencing", partition=0, values=["first-before"])
        first.ok("flush")

        second.ok("init")   # fences the first and aborts its transaction

        first.call("send", topic="fencing", partition=0, values=["first-after"])
        answer = first.call("commit")
        assert not answer["ok"] and answer["fatal"], answer
        assert answer["error"] == "transactionFatal"
        assert answer["state"] == "fatalError"
        for op, fields in [("begin", {}), ("send", {"topic": "fencing", "partition": 0, "values": ["first-later"]}), ("abort", {})]:
            later = first.call(op, **fields)
            assert not later["ok"] and later["fatal"], (op, later)

        second.ok("begin")
        second.ok("send", topic="fencing", partition=0, values=["second"])
        second.ok("commit")
    finally:
        first.close()
        second.close()

    assert values(consume_to_end(dev_broker.bootstrap, "fencing", isolation="read_committed")) == ["second"]
    written = values(consume_to_end(dev_broker.bootstrap, "fencing", isolation="read_uncommitted"))
    assert "first-before" in written           # written before the fence, then aborted
    assert "first-after" not in written and "first-later" not in written


def open_transaction(bootstrap, topic, transactional_id, timeout_ms):
    """A Rivulet transactional producer that has written `open-0`..`open-4` to partition 0 of
    `topic` in a transaction it has not ended."""
    probe = TransactionProbe(bootstrap, transactional_id, timeout_ms=timeout_ms)
    probe.ok("init")
    probe.ok("begin")
    probe.ok("send", topic=topic, partition=0, values=[f"open-{i}" for i in range(5)])
    probe.ok("flush")
    return probe


def produce_after(bootstrap, topic):
    """`after-0`..`after-2`, written to partition 0 of `topic` by a plain librdkafka producer."""
    plain = Producer({"bootstrap.servers": bootstrap})
    for i in range(3):
        plain.produce(topic, value=f"after-{i}".encode(), partition=0)
    assert plain.flush(15) == 0


def test_transaction_of_a_killed_producer_is_aborted_after_its_timeout(dev_broker):
    create_topic(dev_broker.bootstrap, "left-open", partitions=1)
    probe = open_transaction(dev_broker.bootstrap, "left-open", "dies-mid-transaction", timeout_ms=2000)
    probe.kill()

    # Records after the open transaction: read_committed readers reach them only once the
    # coordinator aborted it (the last stable offset is held at its first record until then).
    produce_after(dev_broker.bootstrap, "left-open")

    seen = values(consume(dev_broker.bootstrap, "left-open", 3, isolation="read_committed", timeout=30))
    assert seen == ["after-0", "after-1", "after-2"]
    rivulet_view = rivulet_consume(dev_broker.bootstrap, "left-open", "--from-beginning", "--isolation", "read_committed",
                                   "--max-messages", "3", "--timeout-ms", "20000")
    assert [r["value"].decode() for r in rivulet_view] == ["after-0", "after-1", "after-2"]


def test_close_aborts_an_open_transaction_so_readers_get_past_it_at_once(dev_broker):
    create_topic(dev_broker.bootstrap, "closed-open", partitions=1)
    probe = open_transaction(dev_broker.bootstrap, "closed-open", "closes-mid-transaction", timeout_ms=60000)
    probe.ok("close")
    probe.kill()

    produce_after(dev_broker.bootstrap, "closed-open")

    # Well within the 60 s transaction timeout: only the abort on close lets readers past.
    seen = values(consume(dev_broker.bootstrap, "closed-open", 3, isolation="read_committed", timeout=20))
    assert seen == ["after-0", "after-1", "after-2"]
    written = values(consume(dev_broker.bootstrap, "closed-open", 8, timeout=20))
    assert written == [f"open-{i}" for i in range(5)] + ["after-0", "after-1", "after-2"]


INPUT_RECORDS = 200_000
PARTITIONS = 4
KILLS = 12


def start_copier(bootstrap, log, *extra):
    return subprocess.Popen(
        [str(bin_path() / "ExactlyOnceCopy"), "--bootstrap", bootstrap, "--input", "eos-in", "--output", "eos-out",
         "--group", "eos-copier", "--transactional-id", "eos-copier-1", "--commit-interval-ms", "100",
         "--transaction-timeout-ms", "10000", *extra],
        stdout=log, stderr=subprocess.STDOUT,
    )


class CommittedOffsets:
    """Reads how many input records the copier's group has committed, over every partition."""

    def __init__(self, bootstrap):
        # read_uncommitted: the offsets committed so far, without waiting for a pending
        # transaction's offsets (which a killed copier leaves until the next one fences it).
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "eos-copier", "enable.auto.commit": False,
                                  "isolation.level": "read_uncommitted"})

    def total(self):
        offsets = self.consumer.committed([TopicPartition("eos-in", p) for p in range(PARTITIONS)], timeout=10)
        return sum(max(tp.offset, 0) for tp in offsets)

    def close(self):
        self.consumer.close()


def test_copy_loop_killed_at_random_points_copies_every_record_exactly_once(dev_broker, tmp_path):
    create_topic(dev_broker.bootstrap, "eos-in", partitions=PARTITIONS)
    producer = Producer({"bootstrap.servers": dev_broker.bootstrap, "linger.ms": 20, "compression.type": "lz4"})
    expected = {p: [] for p in range(PARTITIONS)}
    produced = 0

    def produce_up_to(limit):
        # The input arrives in steps, so that a copier can never finish it before the last kill:
        # one transaction can copy tens of thousands of records.
        nonlocal produced
        for i in range(produced, limit):
            partition = i % PARTITIONS
            value = f"record-{i}-of-partition-{partition}"
            expected[partition].append(value.upper())
            producer.produce("eos-in", value=value.encode(), key=str(i).encode(), partition=partition)
            if i % 10000 == 0:
                producer.poll(0)
        assert producer.flush(60) == 0
        produced = max(produced, limit)

    seed = int(os.environ.get("EOS_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    # Each kill falls at a random point of the copy: once the committed input passes a random
    # mark, plus a random part of a commit interval, so mid-transaction as well as mid-commit.
    # Every incarnation commits at least once before it dies, so the copy moves on.
    marks = sorted(rng.randrange(1, INPUT_RECORDS * 8 // 10) for _ in range(KILLS))
    log_path = tmp_path / "copier.log"
    committed = CommittedOffsets(dev_broker.bootstrap)
    progress = []   # input records committed when each kill fell
    try:
        with open(log_path, "ab") as log:
            for kill, mark in enumerate(marks):
                target = max(mark, progress[-1] + 1 if progress else 1)
                # Enough input to keep the copier busy past the mark, but never all of it.
                produce_up_to(min(INPUT_RECORDS - (KILLS - kill) * 1000, target + 30_000))
                copier = start_copier(dev_broker.bootstrap, log)
                deadline = time.time() + 60
                while committed.total() < target:
                    assert copier.poll() is None, f"copier exited early (seed {seed}): {log_path.read_text()[-2000:]}"
                    assert time.time() < deadline, f"no progress past {target} (seed {seed}): {log_path.read_text()[-2000:]}"
                    time.sleep(0.01)
                time.sleep(rng.uniform(0, 0.15))
                copier.send_signal(signal.SIGKILL)
                copier.wait(timeout=10)
                progress.append(committed.total())
            produce_up_to(INPUT_RECORDS)
            final = start_copier(dev_broker.bootstrap, log, "--idle-exit-ms", "4000")
            assert final.wait(timeout=150) == 0, f"seed {seed}: {log_path.read_text()[-2000:]}"
    finally:
        committed.close()
    print(f"seed {seed}; kill marks {marks}; committed after each kill: {progress}")
    # The kills fell while the copy was under way, not after it finished.
    assert all(done < INPUT_RECORDS for done in progress), f"seed {seed}: {progress}"

    output = consume_to_end(dev_broker.bootstrap, "eos-out", isolation="read_committed", timeout=60)
    got = by_partition(output)
    for partition in range(PARTITIONS):
        copied = got.get(partition, [])
        assert len(copied) == len(expected[partition]), f"partition {partition}: {len(copied)} of {len(expected[partition])} (seed {seed})"
        assert copied == expected[partition], f"partition {partition} differs (seed {seed})"


def test_two_copiers_sharing_the_input_through_rebalances_and_kills_copy_exactly_once(dev_broker, tmp_path):
    """Two copiers in one group: a second one joining moves partitions (the first commits in
    its rebalance listener), and each is killed and restarted in turn."""
    create_topic(dev_broker.bootstrap, "eos-in", partitions=PARTITIONS)
    producer = Producer({"bootstrap.servers": dev_broker.bootstrap, "linger.ms": 20, "compression.type": "lz4"})
    total = 100_000
    expected = {p: [] for p in range(PARTITIONS)}
    for i in range(total):
        partition = i % PARTITIONS
        value = f"shared-{i}-of-partition-{partition}"
        expected[partition].append(value.upper())
        producer.produce("eos-in", value=value.encode(), partition=partition)
        if i % 10000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0

    def start(name, *extra):
        return subprocess.Popen(
            [str(bin_path() / "ExactlyOnceCopy"), "--bootstrap", dev_broker.bootstrap, "--input", "eos-in", "--output", "eos-out",
             "--group", "eos-copier", "--transactional-id", name, "--commit-interval-ms", "100", *extra],
            stdout=log, stderr=subprocess.STDOUT,
        )

    committed = CommittedOffsets(dev_broker.bootstrap)
    log_path = tmp_path / "copiers.log"

    def wait_for(target, *copiers):
        deadline = time.time() + 60
        while committed.total() < target:
            for copier in copiers:
                assert copier.poll() is None, f"a copier exited early: {log_path.read_text()[-2000:]}"
            assert time.time() < deadline, f"no progress past {target}: {log_path.read_text()[-2000:]}"
            time.sleep(0.01)

    try:
        with open(log_path, "ab") as log:
            first = start("eos-copier-a")
            wait_for(10_000, first)
            second = start("eos-copier-b")          # the group rebalances: partitions move to it
            wait_for(30_000, first, second)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            first = start("eos-copier-a")           # fences its predecessor, takes its place back
            wait_for(committed.total() + 10_000, first, second)
            second.send_signal(signal.SIGKILL)
            second.wait(timeout=10)
            wait_for(committed.total() + 5_000, first)
            second = start("eos-copier-b", "--idle-exit-ms", "4000")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            first = start("eos-copier-a", "--idle-exit-ms", "4000")
            assert first.wait(timeout=150) == 0, log_path.read_text()[-2000:]
            assert second.wait(timeout=150) == 0, log_path.read_text()[-2000:]
        assert committed.total() == total
    finally:
        committed.close()

    got = by_partition(consume_to_end(dev_broker.bootstrap, "eos-out", isolation="read_committed", timeout=60))
    for partition in range(PARTITIONS):
        copied = got.get(partition, [])
        assert len(copied) == len(expected[partition]), f"partition {partition}: {len(copied)} of {len(expected[partition])}"
        assert copied == expected[partition], f"partition {partition} differs"
