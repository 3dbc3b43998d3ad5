"""The dev broker's limits and refusals, judged from raw sockets and librdkafka.

- a request frame over `--max-request-size` closes only its own connection;
- connections over `--max-connections` are closed on accept, and a slot frees when one closes;
- a client that stalls mid-frame is disconnected after `--connections-max-idle-ms`;
- a replication factor above 1 is refused with INVALID_REPLICATION_FACTOR.
In every case a well-behaved librdkafka client keeps working alongside.
"""
import socket
import struct
import time
import uuid

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from test_dev_broker_clients import consume, create_topic


def api_versions_frame(correlation_id):
    """ApiVersions v0: the smallest request every Kafka broker answers."""
    body = struct.pack(">hhih", 18, 0, correlation_id, -1)  # api key, version, correlation id, null client id
    return struct.pack(">i", len(body)) + body


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed by the broker")
        data += chunk
    return data


def response_correlation_id(sock):
    """Reads one whole response frame and returns its correlation id."""
    (length,) = struct.unpack(">i", read_exactly(sock, 4))
    return struct.unpack(">i", read_exactly(sock, length)[:4])[0]


def closed_by_peer(sock, timeout):
    """True when the broker closes `sock` within `timeout` seconds (EOF or reset)."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def answers_api_versions(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(api_versions_frame(7))
        return response_correlation_id(s) == 7


def produce_and_read_back(bootstrap, topic, values):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(15) == 0
    assert [m.value() for m in consume(bootstrap, topic, len(values))][-len(values):] == values


def test_oversized_frame_closes_only_its_connection(dev_broker_factory):
    broker = dev_broker_factory(["--max-request-size", "4096"])
    create_topic(broker.bootstrap, "limits", partitions=1)
    bystander = socket.create_connection(("127.0.0.1", broker.port), timeout=5)

    # A frame that announces more than the limit is refused before its body arrives ...
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        s.sendall(struct.pack(">i", 50_000_000))
        assert closed_by_peer(s, 10)
    # ... and so is one that sends it all.
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        body = struct.pack(">hhih", 18, 0, 1, -1) + b"\x00" * 8000
        try:
            s.sendall(struct.pack(">i", len(body)) + body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed_by_peer(s, 10)
    # A frame just under the limit is served.
    assert answers_api_versions(broker.port)

    # The connection opened before is untouched, and librdkafka works.
    bystander.sendall(api_versions_frame(3))
    assert response_correlation_id(bystander) == 3
    bystander.close()
    produce_and_read_back(broker.bootstrap, "limits", [b"a", b"b"])
    assert broker.alive()


def test_connections_over_the_limit_are_closed_and_slots_free_up(dev_broker_factory):
    broker = dev_broker_factory(["--max-connections", "3"])
    # Three connections, each really being served. The broker frees a slot only once it has seen
    # a close, so the fixture's own port probe may still hold one for a moment: retry until served.
    held = []
    deadline = time.time() + 10
    while len(held) < 3:
        s = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
        try:
            s.sendall(api_versions_frame(11))
            assert response_correlation_id(s) == 11
            held.append(s)
        except (OSError, ConnectionError):
            s.close()
            assert time.time() < deadline, "three connections were never served"
            time.sleep(0.1)
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as extra:
        assert closed_by_peer(extra, 10), "a fourth connection was kept open"
    # The three held connections still work.
    held[0].sendall(api_versions_frame(12))
    assert response_correlation_id(held[0]) == 12

    for s in held:
        s.close()
    # Slots free up once the broker sees the closes; then a fresh connection is served.
    deadline = time.time() + 10
    while True:
        try:
            if answers_api_versions(broker.port):
                break
        except (OSError, ConnectionError):
            pass
        assert time.time() < deadline, "no connection served after the held ones closed"
        time.sleep(0.1)
    create_topic(broker.bootstrap, "after-limit", partitions=1)
    produce_and_read_back(broker.bootstrap, "after-limit", [b"x"])
    assert broker.alive()


def test_client_stalled_mid_frame_is_disconnected(dev_broker_factory):
    broker = dev_broker_factory(["--connections-max-idle-ms", "1500"])
    stalled = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
    frame = api_versions_frame(5)
    stalled.sendall(frame[:7])  # the length and part of the header, then nothing
    started = time.time()
    assert closed_by_peer(stalled, 15), "the stalled connection was never closed"
    waited = time.time() - started
    stalled.close()
    assert waited >= 1.0, f"closed after {waited:.2f}s, before the idle timeout"
    create_topic(broker.bootstrap, "after-stall", partitions=1)
    produce_and_read_back(broker.bootstrap, "after-stall", [b"still", b"serving"])


def test_replication_factor_above_one_is_refused(dev_broker):
    admin = AdminClient({"bootstrap.servers": dev_broker.bootstrap})
    name = f"replicated-{uuid.uuid4().hex[:6]}"
    futures = admin.create_topics([NewTopic(name, 3, 3)])
    try:
        futures[name].result(timeout=15)
        raise AssertionError("a topic with replication factor 3 was created on a single node")
    except KafkaException as error:
        assert error.args[0].code() == KafkaError.INVALID_REPLICATION_FACTOR, error
    assert name not in admin.list_topics(timeout=10).topics
    # Replication factor 1 (and the broker default, -1) work.
    futures = admin.create_topics([NewTopic(name, 3, 1)])
    futures[name].result(timeout=15)
    assert len(admin.list_topics(timeout=10).topics[name].partitions) == 3
