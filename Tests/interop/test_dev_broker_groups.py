"""Consumer groups on the dev broker, with librdkafka members."""
import threading
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition

from test_dev_broker_clients import consume, create_topic


class Member:
    """A librdkafka consumer polled on its own thread, recording what it owns and reads."""

    def __init__(self, bootstrap, group, topic, name):
        self.name = name
        self.assigned = set()
        self.records = []
        self.stop = threading.Event()
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "partition.assignment.strategy": "range",
        })
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_assign(self, consumer, partitions):
        self.assigned = {p.partition for p in partitions}

    def _on_revoke(self, consumer, partitions):
        self.assigned = set()

    def _run(self):
        while not self.stop.is_set():
            message = self.consumer.poll(0.2)
            if message is not None and not message.error():
                self.records.append((message.partition(), message.offset()))
                self.consumer.commit(message=message, asynchronous=False)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=20)
        self.consumer.close()


def wait_for(condition, timeout=45):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def exact_cover(members, partitions):
    owned = [p for m in members for p in m.assigned]
    return sorted(owned) == list(range(partitions))


def test_three_member_group_rebalances_and_honours_commits(dev_broker):
    topic, group, partitions = "grouped", f"g-{uuid.uuid4()}", 6
    create_topic(dev_broker.bootstrap, topic, partitions=partitions)
    producer = Producer({"bootstrap.servers": dev_broker.bootstrap})
    for i in range(600):
        producer.produce(topic, key=str(i).encode(), value=str(i).encode(), partition=i % partitions)
    producer.flush(30)

    members = [Member(dev_broker.bootstrap, group, topic, "m0")]
    assert wait_for(lambda: exact_cover(members, partitions)), "first member never owned all partitions"
    members.append(Member(dev_broker.bootstrap, group, topic, "m1"))
    members.append(Member(dev_broker.bootstrap, group, topic, "m2"))
    assert wait_for(lambda: exact_cover(members, partitions) and all(len(m.assigned) == 2 for m in members)), \
        [m.assigned for m in members]
    assert wait_for(lambda: sum(len(m.records) for m in members) >= 600)

    leaving = members.pop(0)
    leaving.close()
    assert wait_for(lambda: exact_cover(members, partitions)), [m.assigned for m in members]

    # More records after the hand-over: each is read exactly once by the group.
    for i in range(600, 900):
        producer.produce(topic, key=str(i).encode(), value=str(i).encode(), partition=i % partitions)
    producer.flush(30)
    assert wait_for(lambda: sum(len(m.records) for m in members) + len(leaving.records) >= 900)
    time.sleep(1)
    for m in members:
        m.close()
    everything = leaving.records + [r for m in members for r in m.records]
    assert len(everything) == len(set(everything)) == 900, "a committed record was read twice or lost"

    # A new consumer of the group resumes from the committed offsets: nothing left to read.
    late = Consumer({"bootstrap.servers": dev_broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    committed = late.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    assert sum(tp.offset for tp in committed) == 900
    late.close()
