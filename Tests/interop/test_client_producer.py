"""Rivulet's producer judged by librdkafka (confluent-kafka), against tansu and the dev broker.

Rivulet produces through the RivuletInteropProbe executable; librdkafka reads back what landed,
and produces the same keys for the partitioner comparison.
"""
import base64
import json
import random
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Producer

from conftest import DevBroker, bin_path, free_port
from test_dev_broker_clients import CODECS, consume, create_topic


@pytest.fixture(params=["dev", "tansu"])
def broker(request):
    """A bootstrap address: the dev broker, or tansu."""
    if request.param == "dev":
        return request.getfixturevalue("dev_broker").bootstrap
    return request.getfixturevalue("tansu")


def b64(data):
    return None if data is None else base64.b64encode(data).decode()


def record(topic, *, key=None, value=None, headers=(), timestamp=None, partition=None):
    entry = {"topic": topic, "key": b64(key), "value": b64(value),
             "headers": [{"key": k, "value": b64(v)} for k, v in headers]}
    if timestamp is not None:
        entry["timestamp"] = timestamp
    if partition is not None:
        entry["partition"] = partition
    return entry


def probe(bootstrap, records, *options, timeout=120):
    """Sends JSON-line records through Rivulet's producer; returns one outcome per record."""
    lines = "".join(json.dumps(r) + "\n" for r in records)
    result = subprocess.run(
        [str(bin_path() / "RivuletInteropProbe"), "produce", "--bootstrap", bootstrap, *options],
        input=lines.encode(), capture_output=True, timeout=timeout)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    outcomes = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(outcomes) == len(records)
    return outcomes


class InteractiveProbe:
    """The produce probe kept running: one record in, its outcome out, then the next."""

    def __init__(self, bootstrap, *options):
        self.process = subprocess.Popen(
            [str(bin_path() / "RivuletInteropProbe"), "produce", "--bootstrap", bootstrap, "--sequential", *options],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def send(self, entry):
        self.process.stdin.write((json.dumps(entry) + "\n").encode())
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read().decode()[-2000:]
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0


@pytest.mark.parametrize("codec", CODECS)
def test_every_codec_is_read_back_by_librdkafka(broker, codec):
    topic = f"rivulet-{codec}-{uuid.uuid4().hex[:6]}"
    create_topic(broker, topic, partitions=3)
    sent = []
    for i in range(600):
        key = None if i % 7 == 0 else f"key-{i}".encode()
        value = None if i % 50 == 3 else (f"value-{i}-" + "xyz" * (i % 40)).encode()
        headers = [] if i % 4 == 0 else [("trace", f"{i}".encode()), ("empty", b""), ("null", None)][: 1 + i % 3]
        sent.append(record(topic, key=key, value=value, headers=headers, timestamp=1_700_000_000_000 + i * 13))
    outcomes = probe(broker, sent, "--compression", codec)
    assert all("error" not in o for o in outcomes), outcomes[:3]

    received = consume(broker, topic, len(sent))
    assert len(received) == len(sent)
    by_position = {(m.partition(), m.offset()): m for m in received}
    for entry, outcome in zip(sent, outcomes):
        message = by_position[(outcome["partition"], outcome["offset"])]
        assert message.key() == (None if entry["key"] is None else base64.b64decode(entry["key"]))
        assert message.value() == (None if entry["value"] is None else base64.b64decode(entry["value"]))
        expected_headers = [(h["key"], None if h["value"] is None else base64.b64decode(h["value"])) for h in entry["headers"]]
        assert (message.headers() or []) == expected_headers
        assert message.timestamp()[1] == entry["timestamp"] == outcome["timestamp"]


def test_default_partitioner_places_keys_where_librdkafka_murmur2_random_does(broker):
    rng = random.Random(20261122)
    keys = [f"user-{i}-{rng.getrandbits(48):012x}".encode() for i in range(10_000)]
    ours, theirs = f"rivulet-keys-{uuid.uuid4().hex[:6]}", f"librdkafka-keys-{uuid.uuid4().hex[:6]}"
    create_topic(broker, ours, partitions=6)
    create_topic(broker, theirs, partitions=6)

    outcomes = probe(broker, [record(ours, key=k, value=b"v") for k in keys], "--compression", "lz4")
    assert all("error" not in o for o in outcomes)
    # Where the records actually landed, read back by librdkafka.
    landed = {m.key(): m.partition() for m in consume(broker, ours, len(keys), timeout=60)}
    assert len(landed) == len(keys)

    placed = {}
    producer = Producer({"bootstrap.servers": broker, "partitioner": "murmur2_random", "linger.ms": 20})

    def delivered(error, message):
        assert error is None, error
        placed[message.key()] = message.partition()

    for key in keys:
        producer.produce(theirs, key=key, value=b"v", on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(60) == 0
    assert len(placed) == len(keys)
    mismatches = [k for k in keys if landed[k] != placed[k]]
    assert not mismatches, f"{len(mismatches)} keys placed differently, e.g. {mismatches[:3]}"
    # Every partition got some keys: the comparison is not trivially all-zero.
    assert len(set(placed.values())) == 6


def test_unknown_topic_is_a_typed_error_and_the_client_stays_usable(broker):
    topic = f"exists-{uuid.uuid4().hex[:6]}"
    create_topic(broker, topic, partitions=1)
    outcomes = probe(broker, [record(f"missing-{uuid.uuid4().hex[:6]}", value=b"x"), record(topic, value=b"ok")],
                     "--sequential", "--no-auto-create", "--delivery-timeout-ms", "10000")
    assert outcomes[0]["error"] == "unknownTopic"
    assert outcomes[1] == {"partition": 0, "offset": 0, "timestamp": outcomes[1]["timestamp"]}


def test_oversized_record_is_a_typed_error_and_the_client_stays_usable(broker):
    topic = f"sizes-{uuid.uuid4().hex[:6]}"
    create_topic(broker, topic, partitions=1)
    outcomes = probe(broker, [record(topic, value=b"a"), record(topic, value=b"x" * 200_000), record(topic, value=b"b")],
                     "--sequential", "--max-request-size", "100000")
    assert outcomes[1]["error"] == "recordTooLarge"
    assert [o.get("offset") for o in (outcomes[0], outcomes[2])] == [0, 1]
    assert [m.value() for m in consume(broker, topic, 2)] == [b"a", b"b"]


def test_message_too_large_from_the_dev_broker_is_a_typed_error_and_the_client_stays_usable(dev_broker):
    topic = "small-messages"
    create_topic(dev_broker.bootstrap, topic, partitions=1, config={"max.message.bytes": "10000"})
    outcomes = probe(dev_broker.bootstrap,
                     [record(topic, value=b"a"), record(topic, value=b"x" * 50_000), record(topic, value=b"b"), record(topic, value=b"c")],
                     "--sequential")
    assert outcomes[1]["error"] == "messageTooLarge"
    # Idempotent sequences continue past the refused batch.
    assert [o.get("offset") for o in (outcomes[0], outcomes[2], outcomes[3])] == [0, 1, 2]
    assert [m.value() for m in consume(dev_broker.bootstrap, topic, 3)] == [b"a", b"b", b"c"]


def test_unreachable_broker_is_a_typed_error_and_the_client_recovers(tmp_path):
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    rivulet = InteractiveProbe(bootstrap, "--delivery-timeout-ms", "2000")
    started = time.time()
    assert rivulet.send(record("later", value=b"lost"))["error"] == "brokerUnreachable"
    assert time.time() - started < 15
    data = tmp_path / "data"
    data.mkdir()
    broker = DevBroker(str(data), port).start()
    try:
        outcome = rivulet.send(record("later", value=b"delivered"))
        assert outcome.get("offset") == 0, outcome
        rivulet.close()
        assert [m.value() for m in consume(bootstrap, "later", 1)] == [b"delivered"]
    finally:
        broker.stop()


def test_dev_broker_sigkill_mid_produce_loses_no_acknowledged_record(dev_broker):
    topic = "survives-sigkill"
    create_topic(dev_broker.bootstrap, topic, partitions=3)
    count = 30_000
    process = subprocess.Popen(
        [str(bin_path() / "RivuletInteropProbe"), "stream", "--bootstrap", dev_broker.bootstrap, "--topic", topic,
         "--count", str(count), "--pause-ms", "10", "--compression", "lz4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    assert process.poll() is None, "the probe finished before the broker was killed"
    dev_broker.kill()
    time.sleep(1.5)
    dev_broker.start()
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err.decode()[-2000:]
    lines = out.decode().splitlines()
    assert lines[-1] == "done"
    acked = {}
    errors = [line for line in lines if line.startswith("error")]
    for line in lines:
        if line.startswith("ack "):
            _, value, partition, offset = line.split()
            acked[int(value)] = (int(partition), int(offset))
    # The producer reconnected by itself: everything was eventually acknowledged.
    assert not errors, errors[:5]
    assert len(acked) == count

    stored = consume(dev_broker.bootstrap, topic, count, timeout=60)
    values = [int(m.value()) for m in stored]
    assert len(values) == len(set(values)), "duplicates stored"
    assert set(values) == set(acked), f"{len(set(acked) - set(values))} acknowledged records lost"
    for message in stored:
        assert acked[int(message.value())] == (message.partition(), message.offset())
    # Per partition, records are stored in the order they were sent.
    for partition in range(3):
        in_partition = [int(m.value()) for m in sorted(stored, key=lambda m: m.offset()) if m.partition() == partition]
        assert in_partition == sorted(in_partition)


def test_rivulet_produce_command_sends_stdin_lines(broker):
    topic = f"cli-{uuid.uuid4().hex[:6]}"
    create_topic(broker, topic, partitions=1)
    lines = "user-1\tlogged in\nuser-2\tlogged out\nno key here\n"
    result = subprocess.run(
        [str(bin_path() / "rivulet"), "produce", topic, "--bootstrap", broker, "--key-separator", "\t", "--compression", "snappy"],
        input=lines.encode(), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert [(m.key(), m.value()) for m in consume(broker, topic, 3)] == [
        (b"user-1", b"logged in"), (b"user-2", b"logged out"), (None, b"no key here")]
