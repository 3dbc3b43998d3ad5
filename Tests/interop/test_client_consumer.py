"""Rivulet's consumer (`rivulet consume`) judged against librdkafka (confluent-kafka).

- records librdkafka produced, in every codec, read back identically;
- a consumer group of two Rivulet members and one librdkafka member (dev broker and tansu), with the range, roundrobin and the
  cooperative-sticky assignors: ownership sampled continuously is never shared, the group
  covers every partition as members join and leave, and nothing committed is read twice;
- read_committed against librdkafka transactions that abort (dev broker only: tansu does
  not filter aborted transactions).
"""
import base64
import json
import signal
import subprocess
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from conftest import bin_path, wait_for
from test_dev_broker_clients import CODECS, consume, create_topic


def rivulet_consume(bootstrap, topic, *args, timeout=60):
    """Runs `rivulet consume --format json` to completion; returns the decoded records."""
    result = subprocess.run(
        [str(bin_path() / "rivulet"), "consume", topic, "--bootstrap", bootstrap, "--format", "json", *args],
        capture_output=True, timeout=timeout,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return [decode_record(line) for line in result.stdout.decode().splitlines() if line.strip()]


def decode_record(line):
    record = json.loads(line)
    unpack = lambda text: None if text is None else base64.b64decode(text)
    record["key"] = unpack(record["key"])
    record["value"] = unpack(record["value"])
    record["headers"] = [(name, unpack(value)) for name, value in record["headers"]]
    return record


# MARK: Every codec


@pytest.mark.parametrize("broker_kind", ["dev", "tansu"])
@pytest.mark.parametrize("codec", CODECS)
def test_rivulet_reads_librdkafka_records_in_every_codec(request, broker_kind, codec):
    bootstrap = request.getfixturevalue("dev_broker").bootstrap if broker_kind == "dev" else request.getfixturevalue("tansu")
    topic = f"consume-{codec}-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, partitions=3)
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20})
    sent = {}
    for i in range(600):
        key = None if i % 50 == 7 else f"key-{i}".encode()
        value = None if i % 97 == 3 else (f"value-{i}-" + "y" * (i % 200)).encode()
        headers = [("index", str(i).encode()), ("empty", b""), ("null", None)] if i % 5 else []
        timestamp = 1_650_000_000_000 + i * 7
        producer.produce(topic, key=key, value=value, headers=headers, timestamp=timestamp, partition=i % 3)
        sent[(i % 3, i // 3)] = (key, value, headers, timestamp)
    assert producer.flush(30) == 0

    received = rivulet_consume(bootstrap, topic, "--from-beginning", "--max-messages", str(len(sent)), "--timeout-ms", "20000")
    assert len(received) == len(sent)
    for record in received:
        key, value, headers, timestamp = sent[(record["partition"], record["offset"])]
        assert record["key"] == key
        assert record["value"] == value
        assert record["headers"] == [(name, data) for name, data in headers]
        assert record["timestamp"] == timestamp
        assert record["timestampType"] == "CreateTime"

    # librdkafka reading the same topic agrees record for record.
    reference = consume(bootstrap, topic, len(sent))
    by_position = {(m.partition(), m.offset()): m for m in reference}
    for record in received:
        m = by_position[(record["partition"], record["offset"])]
        assert (m.key(), m.value(), m.timestamp()[1]) == (record["key"], record["value"], record["timestamp"])


# MARK: Mixed consumer group


class Ownership:
    """What each member owns, fed by assignment events, sampled for partitions owned twice."""

    def __init__(self):
        self.lock = threading.Lock()
        self.owned = {}
        self.violations = []

    def assigned(self, member, partitions):
        with self.lock:
            for p in partitions:
                holders = [m for m, owned in self.owned.items() if m != member and p in owned]
                if holders:
                    self.violations.append(f"partition {p} assigned to {member} while {holders} own it")
            self.owned.setdefault(member, set()).update(partitions)

    def released(self, member, partitions):
        with self.lock:
            self.owned.setdefault(member, set()).difference_update(partitions)

    def snapshot(self):
        with self.lock:
            return {m: set(p) for m, p in self.owned.items()}

    def sample(self):
        with self.lock:
            seen = {}
            for member, partitions in self.owned.items():
                for p in partitions:
                    if p in seen:
                        self.violations.append(f"partition {p} owned by {seen[p]} and {member}")
                    seen[p] = member


class RivuletMember:
    """A `rivulet consume --group` process; its records come on stdout, assignment events on stderr."""

    def __init__(self, name, bootstrap, group, topic, assignor, ownership):
        self.name = name
        self.ownership = ownership
        self.records = []
        self.log = []
        self.process = subprocess.Popen(
            [str(bin_path() / "rivulet"), "consume", topic, "--bootstrap", bootstrap, "--group", group,
             "--from-beginning", "--format", "json", "--print-assignments", "--assignor", assignor,
             "--session-timeout-ms", "6000", "--heartbeat-interval-ms", "300", "--auto-commit-interval-ms", "500",
             "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.readers = [threading.Thread(target=self._read_records, daemon=True), threading.Thread(target=self._read_events, daemon=True)]
        for reader in self.readers:
            reader.start()

    def _read_records(self):
        for line in self.process.stdout:
            record = json.loads(line)
            self.records.append((record["partition"], record["offset"]))

    def _read_events(self):
        for line in self.process.stderr:
            text = line.decode(errors="replace").strip()
            if not text.startswith('{"partitions"'):
                self.log.append(text)
                continue
            event = json.loads(text)
            partitions = [p["partition"] for p in event["partitions"]]
            if event["rebalance"] == "assigned":
                self.ownership.assigned(self.name, partitions)
            else:
                self.ownership.released(self.name, partitions)

    def stop(self):
        """SIGTERM: the member commits, revokes and leaves the group."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        for reader in self.readers:
            reader.join(timeout=10)
        assert self.process.returncode == 0, "\n".join(self.log)


class LibrdkafkaMember:
    """A confluent-kafka consumer polled on its own thread, committing each record synchronously."""

    def __init__(self, name, bootstrap, group, topic, assignor, ownership):
        self.name = name
        self.ownership = ownership
        self.records = []
        self.uncommitted = set()
        self.stopping = threading.Event()
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 300,
            "partition.assignment.strategy": assignor,
        })
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_assign(self, consumer, partitions):
        self.ownership.assigned(self.name, [p.partition for p in partitions])

    def _on_revoke(self, consumer, partitions):
        self.ownership.released(self.name, [p.partition for p in partitions])

    def _run(self):
        while not self.stopping.is_set():
            message = self.consumer.poll(0.1)
            if message is None or message.error():
                continue
            self.records.append((message.partition(), message.offset()))
            try:
                self.consumer.commit(message=message, asynchronous=False)
            except KafkaException:
                # A commit refused mid-rebalance: the next owner may read this record again.
                self.uncommitted.add((message.partition(), message.offset()))

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=30)
        self.consumer.close()  # revokes through on_revoke and leaves the group


@pytest.mark.parametrize("broker_kind", ["dev", "tansu"])
@pytest.mark.parametrize("assignor", ["range", "roundrobin", "cooperative-sticky"])
def test_mixed_group_covers_every_partition_once(request, broker_kind, assignor):
    bootstrap = request.getfixturevalue("dev_broker").bootstrap if broker_kind == "dev" else request.getfixturevalue("tansu")
    partitions = 6
    topic, group = f"mixed-{assignor}", f"mixed-{uuid.uuid4()}"
    create_topic(bootstrap, topic, partitions=partitions)
    ownership = Ownership()

    produced = []
    producing = threading.Event()
    producing.set()

    def produce():
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        i = 0
        while producing.is_set():
            for _ in range(12):
                producer.produce(topic, value=str(i).encode(), partition=i % partitions)
                produced.append(i)
                i += 1
            producer.poll(0)
            time.sleep(0.02)
        assert producer.flush(30) == 0

    sampling = threading.Event()
    sampling.set()

    def sample():
        while sampling.is_set():
            ownership.sample()
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    producer_thread = threading.Thread(target=produce, daemon=True)
    producer_thread.start()

    def covered(*members):
        owned = ownership.snapshot()
        all_owned = [p for m in members for p in owned.get(m.name, set())]
        return sorted(all_owned) == list(range(partitions)) and all(owned.get(m.name) for m in members)

    r1 = RivuletMember("rivulet-1", bootstrap, group, topic, assignor, ownership)
    members = [r1]
    try:
        wait_for(lambda: covered(r1), what="rivulet-1 owning every partition")
        l1 = LibrdkafkaMember("librdkafka-1", bootstrap, group, topic, assignor, ownership)
        members.append(l1)
        wait_for(lambda: covered(r1, l1), what="rivulet-1 and librdkafka-1 sharing the partitions")
        r2 = RivuletMember("rivulet-2", bootstrap, group, topic, assignor, ownership)
        members.append(r2)
        wait_for(lambda: covered(r1, l1, r2), what="three members sharing the partitions")
        wait_for(lambda: all(len(ownership.snapshot().get(m.name, ())) == 2 for m in members), what="two partitions each")

        r1.stop()
        wait_for(lambda: covered(l1, r2), what="rivulet-1's partitions moving on")
        time.sleep(1)
        producing.clear()
        producer_thread.join(timeout=30)

        def read_everything():
            read = {p_o for m in members for p_o in m.records}
            return len(read) >= len(produced)
        wait_for(read_everything, what="the group reading every record")

        l1.stop()
        wait_for(lambda: covered(r2), what="rivulet-2 owning every partition")
        time.sleep(1)
        r2.stop()
    finally:
        sampling.clear()
        sampler.join(timeout=5)
        producing.clear()
        for m in members:
            if isinstance(m, RivuletMember) and m.process.poll() is None:
                m.process.kill()

    print(f"{assignor}: produced {len(produced)}; read " + ", ".join(f"{m.name} {len(m.records)}" for m in members))
    assert ownership.violations == []
    everything = [r for m in members for r in m.records]
    assert len(set(everything)) == len(produced), "every record read by the group"
    allowed = set().union(*(m.uncommitted for m in members if isinstance(m, LibrdkafkaMember)))
    duplicates = {r for r in everything if everything.count(r) > 1} - allowed
    assert duplicates == set(), f"committed records read twice: {sorted(duplicates)[:10]}"

    # What the group committed adds up to everything produced.
    checker = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    committed = checker.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    checker.close()
    assert sum(tp.offset for tp in committed) == len(produced)


# MARK: read_committed


def test_read_committed_drops_exactly_the_aborted_records(dev_broker):
    topic = "consume-txn"
    create_topic(dev_broker.bootstrap, topic, partitions=2)
    transactional = Producer({"bootstrap.servers": dev_broker.bootstrap, "transactional.id": "consume-txn-writer",
                              "transaction.timeout.ms": 10000, "compression.type": "lz4"})
    transactional.init_transactions(15)
    plain = Producer({"bootstrap.servers": dev_broker.bootstrap})
    visible, aborted = [], []
    for t in range(12):
        transactional.begin_transaction()
        batch = [f"t{t}-{i}".encode() for i in range(15)]
        for i, value in enumerate(batch):
            transactional.produce(topic, value=value, partition=i % 2)
        # Non-transactional records interleave with the open transaction.
        extra = [f"plain{t}-{i}".encode() for i in range(3)]
        for i, value in enumerate(extra):
            plain.produce(topic, value=value, partition=i % 2)
        assert plain.flush(10) == 0
        visible.extend(extra)
        assert transactional.flush(15) == 0
        if t % 3 == 1:
            transactional.abort_transaction(15)
            aborted.extend(batch)
        else:
            transactional.commit_transaction(15)
            visible.extend(batch)

    committed_view = rivulet_consume(dev_broker.bootstrap, topic, "--from-beginning", "--isolation", "read_committed",
                                     "--max-messages", str(len(visible)), "--timeout-ms", "10000")
    values = [r["value"] for r in committed_view]
    assert sorted(values) == sorted(visible)
    assert not set(values) & set(aborted)

    # Same records, in the same order per partition, as librdkafka's read_committed consumer.
    reference = consume(dev_broker.bootstrap, topic, len(visible), isolation="read_committed")
    for partition in (0, 1):
        ours = [r["value"] for r in committed_view if r["partition"] == partition]
        theirs = [m.value() for m in reference if m.partition() == partition]
        assert ours == theirs

    # read_uncommitted sees the aborted records too.
    everything = rivulet_consume(dev_broker.bootstrap, topic, "--from-beginning", "--max-messages",
                                 str(len(visible) + len(aborted)), "--timeout-ms", "10000")
    assert sorted(r["value"] for r in everything) == sorted(visible + aborted)
