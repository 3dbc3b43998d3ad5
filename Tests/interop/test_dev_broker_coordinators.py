"""The dev broker's group and transaction coordinators, judged by librdkafka (confluent-kafka).

- static membership (group.instance.id): a member that restarts within its session gets its
  partitions back and the other members see no rebalance; one that stays away is expired after
  session.timeout.ms and its partitions move on;
- a transaction left open past transaction.timeout.ms is aborted by the coordinator: its
  records never become visible to read_committed, the last stable offset moves past them, and
  the late producer is fenced.
"""
import json
import signal
import subprocess
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from conftest import bin_path, wait_for
from test_dev_broker_clients import consume, create_topic


class Membership:
    """What a group member was given, as its callbacks or its output report it on another thread:
    the partitions it owns now, and every assignment change in order."""

    def __init__(self):
        self.owned = set()
        self.events = []
        self.lock = threading.Lock()

    def record(self, change, partitions):
        """`change` is "assigned", or how the partitions were taken away."""
        partitions = set(partitions)
        with self.lock:
            self.events.append((change, sorted(partitions)))
            if change == "assigned":
                self.owned |= partitions
            else:
                self.owned -= partitions

    def partitions(self):
        with self.lock:
            return set(self.owned)

    def event_count(self):
        with self.lock:
            return len(self.events)


class StaticMember(Membership):
    """A librdkafka consumer with a group.instance.id, polled on its own thread."""

    def __init__(self, bootstrap, group, topic, instance):
        super().__init__()
        self.instance = instance
        self.stopping = threading.Event()
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": instance,
            "client.id": f"static-{instance}", "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "auto.offset.reset": "earliest", "partition.assignment.strategy": "range",
        })
        self.consumer.subscribe([topic], on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._revoked)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _assigned(self, consumer, partitions):
        self.record("assigned", (p.partition for p in partitions))

    def _revoked(self, consumer, partitions):
        self.record("revoked", (p.partition for p in partitions))

    def _run(self):
        while not self.stopping.is_set():
            self.consumer.poll(0.1)

    def close(self):
        """Closes the consumer; a static member does not send LeaveGroup, so the broker keeps its place."""
        self.stopping.set()
        self.thread.join(timeout=30)
        self.consumer.close()


class RivuletStaticMember(Membership):
    """`rivulet consume --group --group-instance-id`: Rivulet's consumer as a static member.

    Its assignment changes arrive on stderr (--print-assignments)."""

    def __init__(self, bootstrap, group, topic, instance):
        super().__init__()
        self.process = subprocess.Popen(
            [str(bin_path() / "rivulet"), "consume", topic, "--bootstrap", bootstrap, "--group", group,
             "--group-instance-id", instance, "--print-assignments", "--assignor", "range",
             "--session-timeout-ms", "6000", "--heartbeat-interval-ms", "500", "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read_events, daemon=True)
        self.reader.start()

    def _read_events(self):
        for line in self.process.stderr:
            text = line.decode(errors="replace").strip()
            if not text.startswith('{"partitions"'):
                continue
            event = json.loads(text)
            self.record(event["rebalance"], (p["partition"] for p in event["partitions"]))

    def close(self):
        """SIGTERM: the consumer closes; as a static member it does not leave the group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=30) == 0
        self.reader.join(timeout=10)


MEMBER_KINDS = {"librdkafka": StaticMember, "rivulet": RivuletStaticMember}


@pytest.mark.parametrize("restarting", ["librdkafka", "rivulet"])
def test_static_member_restarting_within_its_session_keeps_its_partitions(dev_broker, restarting):
    """b, the judge, is always librdkafka; a, the member that restarts, is librdkafka or Rivulet."""
    topic, group = f"static-members-{restarting}", f"static-{uuid.uuid4().hex[:8]}"
    create_topic(dev_broker.bootstrap, topic, partitions=4)
    member_kind = MEMBER_KINDS[restarting]
    a = member_kind(dev_broker.bootstrap, group, topic, "a")
    wait_for(lambda: a.partitions() == {0, 1, 2, 3}, what="a owning every partition")
    b = StaticMember(dev_broker.bootstrap, group, topic, "b")
    wait_for(lambda: len(a.partitions()) == 2 and len(b.partitions()) == 2 and not a.partitions() & b.partitions(),
             what="a and b sharing the partitions")
    a_partitions, b_partitions = a.partitions(), b.partitions()
    b_events = b.event_count()

    # a restarts well within session.timeout.ms: it gets the same partitions, b sees nothing.
    a.close()
    restarted = member_kind(dev_broker.bootstrap, group, topic, "a")
    try:
        wait_for(lambda: restarted.partitions() == a_partitions, timeout=20, what="the restarted a getting its partitions back")
        time.sleep(2)
        assert b.partitions() == b_partitions
        assert b.event_count() == b_events, f"b went through a rebalance: {b.events[b_events:]}"
        assert restarted.partitions() == a_partitions
    finally:
        restarted.close()

    # a stays away now: after its session expires, b takes over everything.
    gone = time.time()
    wait_for(lambda: b.partitions() == {0, 1, 2, 3}, timeout=30, what="b owning every partition after a's session expired")
    assert time.time() - gone >= 4, "a's partitions moved before its session could have expired"
    b.close()


def test_open_transaction_past_its_timeout_is_aborted_and_the_producer_fenced(dev_broker):
    topic = "txn-timeout"
    create_topic(dev_broker.bootstrap, topic, partitions=1)
    late = Producer({"bootstrap.servers": dev_broker.bootstrap, "transactional.id": f"slow-{uuid.uuid4().hex[:6]}",
                     "transaction.timeout.ms": 2000, "socket.timeout.ms": 1000})
    late.init_transactions(15)
    late.begin_transaction()
    for i in range(5):
        late.produce(topic, value=f"abandoned-{i}".encode())
    assert late.flush(10) == 0
    plain = Producer({"bootstrap.servers": dev_broker.bootstrap})
    plain.produce(topic, value=b"after")
    assert plain.flush(10) == 0

    # While the transaction is open, read_committed stops at it; once the coordinator aborts it
    # (after 2 s), "after" becomes visible and the abandoned records never do.
    consumer = Consumer({"bootstrap.servers": dev_broker.bootstrap, "group.id": f"check-{uuid.uuid4()}",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    started = time.time()

    def last_stable_offset():
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=5, cached=False)
        return high

    wait_for(lambda: last_stable_offset() >= 6, timeout=30, what="the last stable offset passing the abandoned transaction")
    assert time.time() - started >= 1.0, "the transaction was aborted before its timeout"
    consumer.close()
    committed = consume(dev_broker.bootstrap, topic, 1, isolation="read_committed", timeout=15)
    assert [m.value() for m in committed] == [b"after"]
    everything = consume(dev_broker.bootstrap, topic, 6, timeout=15)
    assert sorted(m.value() for m in everything) == sorted([b"after"] + [f"abandoned-{i}".encode() for i in range(5)])

    # The late producer cannot commit what the coordinator aborted.
    try:
        late.commit_transaction(15)
        raise AssertionError("a transaction aborted by its timeout was committed")
    except KafkaException:
        pass
    assert [m.value() for m in consume(dev_broker.bootstrap, topic, 1, isolation="read_committed", timeout=15)] == [b"after"]
