"""Log compaction on the dev broker, as librdkafka consumers see it."""
import time
import uuid

from confluent_kafka import Producer

from test_dev_broker_clients import consume_to_end, create_topic


def produce_and_track(bootstrap, topic, records, **config):
    """Produces (key, value) pairs; returns {(key, value): offset} from the delivery reports."""
    written = {}

    def delivered(error, message):
        assert error is None, error
        written[(message.key(), message.value())] = message.offset()

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, "batch.num.messages": 7, **config})
    for key, value in records:
        producer.produce(topic, key=key, value=value, on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(30) == 0
    return written


def test_consumer_of_a_compacted_topic_sees_only_the_latest_value_of_each_key(dev_broker):
    topic = f"compacted-{uuid.uuid4().hex[:8]}"
    create_topic(dev_broker.bootstrap, topic, config={
        "cleanup.policy": "compact", "segment.bytes": "1024", "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": "0",
    })
    keys = [f"key-{k}".encode() for k in range(40)]
    records = [(key, f"{key.decode()}-round-{r}".encode()) for r in range(25) for key in keys]
    # The last round deletes five keys.
    records += [(keys[k], None) for k in range(5)]
    written = produce_and_track(dev_broker.bootstrap, topic, records, **{"enable.idempotence": True, "compression.type": "lz4"})
    # Then, in a batch of its own, a record too large to share a segment: it closes the segment
    # holding the last data records, so that all of them become cleanable.
    closer = [(b"closer", b"c" * 1000)]
    written.update(produce_and_track(dev_broker.bootstrap, topic, closer))
    records += closer

    latest = {}
    for key, value in records:
        latest[key] = value
    expected = {key: (value, written[(key, value)]) for key, value in latest.items() if value is not None}

    want = sorted(((k, v, o) for k, (v, o) in expected.items()), key=lambda r: r[2])
    # The cleaner runs in the background: read the whole partition until it has caught up.
    deadline = time.time() + 20
    seen = read_to_end(dev_broker.bootstrap, topic)
    while seen != want and time.time() < deadline:
        time.sleep(0.5)
        seen = read_to_end(dev_broker.bootstrap, topic)
    assert len(seen) < len(records)
    assert seen == want


def read_to_end(bootstrap, topic):
    """(key, value, offset) of every record, in offset order."""
    return sorted(((m.key(), m.value(), m.offset()) for m in consume_to_end(bootstrap, topic)), key=lambda r: r[2])

