"""ListOffsets by timestamp: the first record whose own timestamp reaches the target."""
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition

from test_dev_broker_clients import create_topic

BASE = 1_700_000_000_000


def produce_timestamps(bootstrap, topic, count):
    # One linger window: the records share a few large batches, so the answer lies inside a batch.
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 200, "compression.type": "lz4"})
    for i in range(count):
        producer.produce(topic, key=str(i).encode(), value=str(i).encode(), partition=0, timestamp=BASE + 10 * i)
    assert producer.flush(30) == 0


def test_librdkafka_offsets_for_times_finds_the_exact_record(dev_broker):
    topic = f"times-{uuid.uuid4().hex[:8]}"
    create_topic(dev_broker.bootstrap, topic)
    produce_timestamps(dev_broker.bootstrap, topic, 500)
    consumer = Consumer({"bootstrap.servers": dev_broker.bootstrap, "group.id": f"t-{uuid.uuid4()}"})
    cases = {BASE + 55: 6, BASE + 60: 6, BASE: 0, BASE - 1000: 0, BASE + 10 * 377 - 9: 377, BASE + 4990: 499}
    for target, expected in cases.items():
        result = consumer.offsets_for_times([TopicPartition(topic, 0, target)], timeout=10)
        assert result[0].error is None
        assert result[0].offset == expected, f"timestamp {target - BASE}: offset {result[0].offset}, expected {expected}"
    # Past the last record: no offset (librdkafka reports the end offset as -1).
    result = consumer.offsets_for_times([TopicPartition(topic, 0, BASE + 5000)], timeout=10)
    assert result[0].offset == -1
    consumer.close()


def test_kafka_python_offsets_for_times_reports_the_records_timestamp(dev_broker):
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition as KPTopicPartition

    topic = f"times-kp-{uuid.uuid4().hex[:8]}"
    create_topic(dev_broker.bootstrap, topic)
    produce_timestamps(dev_broker.bootstrap, topic, 200)
    consumer = KafkaConsumer(bootstrap_servers=dev_broker.bootstrap)
    tp = KPTopicPartition(topic, 0)
    found = consumer.offsets_for_times({tp: BASE + 1234})[tp]
    assert (found.offset, found.timestamp) == (124, BASE + 1240)
    assert consumer.offsets_for_times({tp: BASE + 5000})[tp] is None
    consumer.close()
