"""SIGKILL the dev broker mid-produce; every acknowledged record, committed offset and transaction survives."""
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

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
