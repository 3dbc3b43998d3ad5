"""The dev broker judged by third-party clients: librdkafka (confluent-kafka), kafka-python and kcat."""
import subprocess
import time
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def create_topic(bootstrap, name, partitions=1, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    futures[name].result(timeout=15)


def consume(bootstrap, topic, count, *, isolation="read_uncommitted", timeout=30, group=None, partitions=None):
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group or f"reader-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": isolation,
    }
    consumer = Consumer(conf)
    if partitions is None:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = list(metadata.topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    records = []
    deadline = time.time() + timeout
    while len(records) < count and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            if message.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise KafkaException(message.error())
        records.append(message)
    consumer.close()
    return records


def consume_to_end(bootstrap, topic, *, isolation="read_uncommitted", timeout=30):
    """Every record of every partition, read until each partition reports its end."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4()}", "enable.auto.commit": False,
        "isolation.level": isolation, "enable.partition.eof": True,
    })
    partitions = list(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    records, at_end = [], set()
    deadline = time.time() + timeout
    while at_end != set(partitions):
        assert time.time() < deadline, f"partitions {set(partitions) - at_end} never reached their end"
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            if message.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition())
                continue
            raise KafkaException(message.error())
        records.append(message)
    consumer.close()
    return records


@pytest.mark.parametrize("codec", CODECS)
def test_librdkafka_round_trip_every_codec(dev_broker, codec):
    topic = f"codec-{codec}"
    create_topic(dev_broker.bootstrap, topic, partitions=3)
    producer = Producer({"bootstrap.servers": dev_broker.bootstrap, "compression.type": codec, "linger.ms": 5})
    sent = []
    for i in range(500):
        key = f"key-{i}".encode()
        value = (f"value-{i}-" + "x" * (i % 50)).encode()
        headers = [("h", f"{i}".encode())]
        producer.produce(topic, key=key, value=value, headers=headers, timestamp=1_700_000_000_000 + i)
        sent.append((key, value, headers, 1_700_000_000_000 + i))
    assert producer.flush(30) == 0
    received = consume(dev_broker.bootstrap, topic, len(sent))
    got = sorted((m.key(), m.value(), m.headers(), m.timestamp()[1]) for m in received)
    assert got == sorted(sent)


def test_kafka_python_round_trip(dev_broker):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic as KPNewTopic

    admin = KafkaAdminClient(bootstrap_servers=dev_broker.bootstrap)
    admin.create_topics([KPNewTopic("kp", num_partitions=2, replication_factor=1)])
    admin.close()
    for codec in ["gzip", "snappy", "lz4", "zstd", None]:
        producer = KafkaProducer(bootstrap_servers=dev_broker.bootstrap, compression_type=codec)
        for i in range(50):
            producer.send("kp", key=f"{codec}-{i}".encode(), value=f"v{i}".encode(), headers=[("c", str(codec).encode())])
        producer.flush(30)
        producer.close()
    consumer = KafkaConsumer("kp", bootstrap_servers=dev_broker.bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=10_000, group_id=None)
    keys = sorted(m.key.decode() for m in consumer)
    consumer.close()
    expected = sorted(f"{codec}-{i}" for codec in ["gzip", "snappy", "lz4", "zstd", None] for i in range(50))
    assert keys == expected


@pytest.mark.parametrize("codec", CODECS)
def test_kcat_produce_and_consume(dev_broker, codec):
    topic = f"kcat-{codec}"
    create_topic(dev_broker.bootstrap, topic)
    lines = "\n".join(f"k{i}:v{i}" for i in range(100)) + "\n"
    subprocess.run(["kcat", "-b", dev_broker.bootstrap, "-P", "-t", topic, "-K", ":", "-z", codec],
                   input=lines.encode(), check=True, timeout=30)
    out = subprocess.run(["kcat", "-b", dev_broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                          "-f", "%k=%s\n"], capture_output=True, check=True, timeout=30)
    assert out.stdout.decode().splitlines() == [f"k{i}=v{i}" for i in range(100)]
    metadata = subprocess.run(["kcat", "-b", dev_broker.bootstrap, "-L", "-t", topic],
                              capture_output=True, check=True, timeout=30)
    assert topic in metadata.stdout.decode()


def test_idempotent_producer_writes_each_record_once(dev_broker):
    create_topic(dev_broker.bootstrap, "idem", partitions=2)
    producer = Producer({"bootstrap.servers": dev_broker.bootstrap, "enable.idempotence": True, "linger.ms": 2})
    for i in range(5000):
        producer.produce("idem", key=str(i % 7).encode(), value=str(i).encode())
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    received = consume(dev_broker.bootstrap, "idem", 5000)
    values = [int(m.value()) for m in received]
    assert sorted(values) == list(range(5000))
    per_key = {}
    for m in received:
        per_key.setdefault(m.key(), []).append(int(m.value()))
    for key, seq in per_key.items():
        assert seq == sorted(seq), f"records of key {key} out of order"
