"""SIGKILL the dev broker mid-produce; every acknowledged record, committed offset and transaction survives."""
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from test_dev_broker_clients import consume, consume_to_end, create_topic


def test_acknowledged_records_survive_sigkill(dev_broker):
    create_topic(dev_broker.bootstrap, "durable", partitions=3)
    acked = []
    lock = threading.Lock()

    def on_delivery(error, message):
        if error is None:
            with lock:
                acked.append(message.value())

    producer = Producer({"bootstrap.servers": dev_broker.bootstrap, "acks": "all", "linger.ms": 1,
                         "message.timeout.ms": 5000, "enable.idempotence": True})
    i = 0
    deadline = time.time() + 2.0
    killed = False
    while time.time() < deadline + 3:
        try:
            producer.produce("durable", value=str(i).encode(), on_delivery=on_delivery)
        except BufferError:
            producer.poll(0.05)  # the local queue is full: let deliveries drain
            continue
        i += 1
        producer.poll(0)
        if not killed and time.time() > deadline:
            dev_broker.kill()
            killed = True
        if i % 100 == 0:
            time.sleep(0.001)
    producer.flush(10)
    assert killed and len(acked) > 100

    # Offsets and transactions committed before the kill must survive too.
    dev_broker.start()
    consumer = Consumer({"bootstrap.servers": dev_broker.bootstrap, "group.id": "durable-group", "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition("durable", 0, 7)], asynchronous=False)
    consumer.close()
    txn = Producer({"bootstrap.servers": dev_broker.bootstrap, "transactional.id": "durable-txn"})
    txn.init_transactions(15)
    txn.begin_transaction()
    txn.produce("durable", value=b"in-txn", partition=1)
    txn.commit_transaction(15)
    dev_broker.kill()
    dev_broker.start()

    # Read to the end: records written but not acknowledged before the kill may be there too,
    # so a count would stop short of some acknowledged ones.
    stored = consume_to_end(dev_broker.bootstrap, "durable")
    values = {m.value() for m in stored}
    missing = [v for v in acked if v not in values]
    assert not missing, f"{len(missing)} acknowledged records lost"
    assert b"in-txn" in {m.value() for m in consume(dev_broker.bootstrap, "durable", len(values), isolation="read_committed")}
    consumer = Consumer({"bootstrap.servers": dev_broker.bootstrap, "group.id": "durable-group"})
    assert consumer.committed([TopicPartition("durable", 0)], timeout=10)[0].offset == 7
    consumer.close()
    # The transactional id still maps to its producer: a new incarnation gets a bumped epoch and works.
    again = Producer({"bootstrap.servers": dev_broker.bootstrap, "transactional.id": "durable-txn"})
    again.init_transactions(15)


def test_group_offsets_and_transaction_state_survive_a_sigkill_mid_produce(dev_broker):
    """Offsets and transactions in place before the kill: a committed group offset, a committed
    transaction and one still open. After the restart the offset and the committed transaction are
    there, the open transaction stays invisible to read_committed, and the next producer with its
    transactional id aborts it and goes on."""
    create_topic(dev_broker.bootstrap, "state", partitions=2)
    committer = Consumer({"bootstrap.servers": dev_broker.bootstrap, "group.id": "state-group", "enable.auto.commit": False})
    committer.commit(offsets=[TopicPartition("state", 0, 3), TopicPartition("state", 1, 5)], asynchronous=False)
    committer.close()
    done = Producer({"bootstrap.servers": dev_broker.bootstrap, "transactional.id": "state-committed"})
    done.init_transactions(15)
    done.begin_transaction()
    done.produce("state", value=b"committed-txn", partition=0)
    done.commit_transaction(15)
    pending = Producer({"bootstrap.servers": dev_broker.bootstrap, "transactional.id": "state-open",
                        "transaction.timeout.ms": 60000})
    pending.init_transactions(15)
    pending.begin_transaction()
    pending.produce("state", value=b"open-txn", partition=1)
    assert pending.flush(10) == 0

    # An acks=all producer is sending when the broker is killed.
    acked = []
    producer = Producer({"bootstrap.servers": dev_broker.bootstrap, "acks": "all", "linger.ms": 1, "message.timeout.ms": 5000})
    stop_at = time.time() + 1.5
    i = 0
    while time.time() < stop_at:
        producer.produce("state", value=f"plain-{i}".encode(), partition=i % 2,
                         on_delivery=lambda e, m: acked.append(m.value()) if e is None else None)
        producer.poll(0)
        i += 1
        if i % 200 == 0:
            time.sleep(0.005)
    dev_broker.kill()
    producer.flush(8)
    assert len(acked) > 100
    dev_broker.start()

    checker = Consumer({"bootstrap.servers": dev_broker.bootstrap, "group.id": "state-group"})
    offsets = checker.committed([TopicPartition("state", 0), TopicPartition("state", 1)], timeout=10)
    checker.close()
    assert [tp.offset for tp in offsets] == [3, 5]

    everything = {m.value() for m in consume_to_end(dev_broker.bootstrap, "state")}
    assert set(acked) <= everything
    assert {b"committed-txn", b"open-txn"} <= everything

    # The open transaction is still open after the restart: read_committed stops before it on
    # partition 1 and cannot see it. A new incarnation of its producer aborts it.
    successor = Producer({"bootstrap.servers": dev_broker.bootstrap, "transactional.id": "state-open"})
    successor.init_transactions(15)
    committed_view = {m.value() for m in consume_to_end(dev_broker.bootstrap, "state", isolation="read_committed")}
    assert b"committed-txn" in committed_view
    assert b"open-txn" not in committed_view
    assert set(acked) <= committed_view
    # The old incarnation is fenced.
    try:
        pending.commit_transaction(10)
        raise AssertionError("a fenced producer committed after the restart")
    except KafkaException:
        pass
