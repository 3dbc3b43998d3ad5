"""Transactions on the dev broker, with librdkafka as producer and consumer."""
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from test_dev_broker_clients import consume, create_topic


def transactional_producer(bootstrap, txn_id):
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "transaction.timeout.ms": 10000})
    producer.init_transactions(15)
    return producer


def test_read_committed_sees_only_committed_transactions(dev_broker):
    create_topic(dev_broker.bootstrap, "txn", partitions=2)
    producer = transactional_producer(dev_broker.bootstrap, "txn-writer")
    committed = []
    total = 0
    for t in range(10):
        producer.begin_transaction()
        batch = [f"t{t}-{i}".encode() for i in range(20)]
        for i, value in enumerate(batch):
            producer.produce("txn", key=str(i % 4).encode(), value=value)
        total += len(batch)
        # Flush first: librdkafka purges unsent messages on abort, and the aborted records
        # must reach the log for the read_uncommitted check below to mean anything.
        assert producer.flush(15) == 0
        if t % 3 == 0:
            producer.abort_transaction(15)
        else:
            producer.commit_transaction(15)
            committed.extend(batch)
    committed_view = consume(dev_broker.bootstrap, "txn", len(committed), isolation="read_committed", timeout=20)
    assert sorted(m.value() for m in committed_view) == sorted(committed)
    # Order within a partition follows the produce order of committed records.
    for partition in (0, 1):
        values = [m.value() for m in committed_view if m.partition() == partition]
        assert values == [v for v in committed if v in set(values)]
    everything = consume(dev_broker.bootstrap, "txn", total, isolation="read_uncommitted", timeout=20)
    assert len(everything) == total


def test_send_offsets_to_transaction_commits_only_with_the_transaction(dev_broker):
    create_topic(dev_broker.bootstrap, "in", partitions=1)
    create_topic(dev_broker.bootstrap, "out", partitions=1)
    source = Producer({"bootstrap.servers": dev_broker.bootstrap})
    for i in range(10):
        source.produce("in", value=str(i).encode())
    source.flush(10)
    group = f"eos-{uuid.uuid4()}"
    consumer = Consumer({"bootstrap.servers": dev_broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "isolation.level": "read_committed"})
    consumer.subscribe(["in"])
    messages = []
    while len(messages) < 10:
        m = consumer.poll(1)
        if m is not None and not m.error():
            messages.append(m)
    producer = transactional_producer(dev_broker.bootstrap, "eos-copier")

    def committed_offset():
        return consumer.committed([TopicPartition("in", 0)], timeout=10)[0].offset

    producer.begin_transaction()
    producer.produce("out", value=b"aborted")
    producer.send_offsets_to_transaction([TopicPartition("in", 0, 5)], consumer.consumer_group_metadata(), 15)
    producer.abort_transaction(15)
    assert committed_offset() < 0, "an aborted transaction moved the group's offset"

    producer.begin_transaction()
    producer.produce("out", value=b"committed")
    producer.send_offsets_to_transaction([TopicPartition("in", 0, 10)], consumer.consumer_group_metadata(), 15)
    producer.commit_transaction(15)
    assert committed_offset() == 10
    consumer.close()
    assert [m.value() for m in consume(dev_broker.bootstrap, "out", 1, isolation="read_committed")] == [b"committed"]


def test_second_producer_with_same_transactional_id_fences_the_first(dev_broker):
    create_topic(dev_broker.bootstrap, "fenced")
    first = transactional_producer(dev_broker.bootstrap, "same-id")
    first.begin_transaction()
    first.produce("fenced", value=b"zombie")
    first.flush(10)
    second = transactional_producer(dev_broker.bootstrap, "same-id")
    with pytest.raises(KafkaException) as raised:
        first.commit_transaction(15)
    assert raised.value.args[0].fatal() or raised.value.args[0].txn_requires_abort() is False
    second.begin_transaction()
    second.produce("fenced", value=b"live")
    second.commit_transaction(15)
    seen = [m.value() for m in consume(dev_broker.bootstrap, "fenced", 1, isolation="read_committed", timeout=10)]
    assert seen == [b"live"]
