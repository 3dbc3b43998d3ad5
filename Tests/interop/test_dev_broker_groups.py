"""Consumer groups on the dev broker, with librdkafka members (eager and cooperative rebalancing)."""
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from test_dev_broker_clients import create_topic


class Ownership:
    """Which member owns which partitions, as their rebalance callbacks report it.

    Every callback and every snapshot takes the same lock, so a snapshot is a consistent cut
    across members: two members owning one partition in a snapshot owned it at the same instant.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.owned = {}

    def add(self, member, partitions):
        with self.lock:
            self.owned.setdefault(member, set()).update(partitions)

    def remove(self, member, partitions):
        with self.lock:
            self.owned.setdefault(member, set()).difference_update(partitions)

    def snapshot(self):
        with self.lock:
            return {member: set(partitions) for member, partitions in self.owned.items()}

    def of(self, member):
        return self.snapshot().get(member, set())


class OverlapChecker:
    """Samples the ownership every 50 ms from its own thread and keeps every sample where a
    partition had two owners."""

    def __init__(self, ownership):
        self.ownership = ownership
        self.samples = 0
        self.overlaps = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            snapshot = self.ownership.snapshot()
            owners = {}
            for member, partitions in snapshot.items():
                for partition in partitions:
                    owners.setdefault(partition, []).append(member)
            shared = {p: m for p, m in owners.items() if len(m) > 1}
            if shared:
                self.overlaps.append((time.time(), shared))
            self.samples += 1
            time.sleep(0.05)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)


class Member:
    """A librdkafka consumer polled on its own thread, reporting what it owns and recording what it reads."""

    def __init__(self, bootstrap, group, topic, name, strategy, ownership):
        self.name = name
        self.ownership = ownership
        self.records = []
        self.next_offsets = {}
        self.failed_commits = []
        self.stop = threading.Event()
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "partition.assignment.strategy": strategy,
        })
        # Eager callbacks carry the whole assignment, cooperative ones the change: adding and
        # removing what each callback names is right for both.
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def assigned(self):
        return self.ownership.of(self.name)

    def _on_assign(self, consumer, partitions):
        self.ownership.add(self.name, {p.partition for p in partitions})

    def _on_revoke(self, consumer, partitions):
        # Hand over cleanly: commit what was read from the partitions being given up. (A commit
        # in the poll loop can fail while a rebalance is under way, as Kafka answers it too.)
        read = [TopicPartition(p.topic, p.partition, self.next_offsets[p.partition])
                for p in partitions if p.partition in self.next_offsets]
        if read:
            consumer.commit(offsets=read, asynchronous=False)
        self.ownership.remove(self.name, {p.partition for p in partitions})

    def _on_lost(self, consumer, partitions):
        self.ownership.remove(self.name, {p.partition for p in partitions})

    def _run(self):
        while not self.stop.is_set():
            message = self.consumer.poll(0.2)
            if message is not None and not message.error():
                self.records.append((message.partition(), message.offset()))
                self.next_offsets[message.partition()] = message.offset() + 1
                try:
                    self.consumer.commit(message=message, asynchronous=False)
                except KafkaException as error:
                    # REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION around a rebalance: the
                    # revoke callback commits before the partition moves.
                    self.failed_commits.append(error.args[0].code())

    def close(self):
        self.stop.set()
        self.thread.join(timeout=20)
        self.consumer.close()  # runs the revoke callback, then leaves the group


def wait_for(condition, timeout=45):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def exact_cover(members, partitions):
    owned = [p for m in members for p in m.assigned]
    return sorted(owned) == list(range(partitions))


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_group_rebalances_without_double_ownership_and_honours_commits(dev_broker, strategy):
    topic, group, partitions = f"grouped-{uuid.uuid4().hex[:6]}", f"g-{uuid.uuid4()}", 6
    create_topic(dev_broker.bootstrap, topic, partitions=partitions)
    producer = Producer({"bootstrap.servers": dev_broker.bootstrap})
    for i in range(600):
        producer.produce(topic, key=str(i).encode(), value=str(i).encode(), partition=i % partitions)
    producer.flush(30)

    ownership = Ownership()
    checker = OverlapChecker(ownership)

    def member(name):
        return Member(dev_broker.bootstrap, group, topic, name, strategy, ownership)

    try:
        members = [member("m0")]
        assert wait_for(lambda: exact_cover(members, partitions)), "first member never owned all partitions"
        members.append(member("m1"))
        members.append(member("m2"))
        assert wait_for(lambda: exact_cover(members, partitions) and all(len(m.assigned) == 2 for m in members)), \
            [m.assigned for m in members]
        assert wait_for(lambda: sum(len(m.records) for m in members) >= 600)

        leaving = members.pop(0)
        leaving.close()
        assert leaving.assigned == set(), "a closed member still owns partitions"
        assert wait_for(lambda: exact_cover(members, partitions)), [m.assigned for m in members]

        # A member joins while records flow: ownership moves again.
        members.append(member("m3"))
        for i in range(600, 900):
            producer.produce(topic, key=str(i).encode(), value=str(i).encode(), partition=i % partitions)
        producer.flush(30)
        assert wait_for(lambda: exact_cover(members, partitions) and all(len(m.assigned) == 2 for m in members)), \
            [m.assigned for m in members]
        assert wait_for(lambda: sum(len(m.records) for m in members) + len(leaving.records) >= 900)
        time.sleep(1)
        for m in members:
            m.close()
    finally:
        checker.close()

    assert checker.samples > 50, "the checker barely sampled"
    assert not checker.overlaps, f"partitions owned by two members at once: {checker.overlaps[:5]}"
    everything = leaving.records + [r for m in members for r in m.records]
    assert len(everything) == len(set(everything)) == 900, "a committed record was read twice or lost"

    # A new consumer of the group resumes from the committed offsets: nothing left to read.
    late = Consumer({"bootstrap.servers": dev_broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    committed = late.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    assert sum(tp.offset for tp in committed) == 900
    late.close()
