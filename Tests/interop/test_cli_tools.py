"""The `rivulet` console tools against tansu and the dev broker, judged by librdkafka (confluent-kafka).

topics create|list|describe|delete, produce (--key-separator, --compression, --acks),
consume (--group, --from-beginning, --max-messages, --timeout-ms, --print-key, --key-separator),
groups list|describe (members, assignment, committed offsets, lag), and the --bootstrap default.
"""
import re
import socket
import struct
import subprocess
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from conftest import bin_path
from test_dev_broker_clients import consume, create_topic


@pytest.fixture(params=["dev", "tansu"])
def broker(request):
    if request.param == "dev":
        return request.getfixturevalue("dev_broker").bootstrap
    return request.getfixturevalue("tansu")


def rivulet(*args, stdin=None, timeout=60, expect_success=True):
    result = subprocess.run([str(bin_path() / "rivulet"), *args], input=stdin, capture_output=True, timeout=timeout)
    if expect_success:
        assert result.returncode == 0, f"rivulet {' '.join(args)}: {result.stderr.decode(errors='replace')[-2000:]}"
    return result


def topic_names(bootstrap):
    return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)


def test_topics_create_list_describe_delete(broker):
    topic = f"cli-topic-{uuid.uuid4().hex[:6]}"
    rivulet("topics", "create", topic, "--bootstrap", broker, "--partitions", "3", "--replication-factor", "1",
            "--config", "retention.ms=123456", "--config", "cleanup.policy=compact")

    # librdkafka sees the topic, its partition count and its configs.
    admin = AdminClient({"bootstrap.servers": broker})
    assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 3
    described = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
    configs = list(described.values())[0].result(timeout=15)
    assert configs["retention.ms"].value == "123456"
    assert configs["cleanup.policy"].value == "compact"

    assert topic in rivulet("topics", "list", "--bootstrap", broker).stdout.decode().split()

    text = rivulet("topics", "describe", topic, "--bootstrap", broker).stdout.decode()
    assert sorted(re.findall(r"partition (\d+)\s+leader", text)) == ["0", "1", "2"]
    assert "config retention.ms=123456" in text
    assert "config cleanup.policy=compact" in text

    # Creating it again is an error at the call site, unless --if-not-exists.
    again = rivulet("topics", "create", topic, "--bootstrap", broker, "--partitions", "3", expect_success=False)
    assert again.returncode != 0 and "already exists" in again.stderr.decode().lower()
    rivulet("topics", "create", topic, "--bootstrap", broker, "--partitions", "3", "--if-not-exists")

    rivulet("topics", "delete", topic, "--bootstrap", broker)
    deadline = time.time() + 15
    while topic in topic_names(broker):
        assert time.time() < deadline, "the deleted topic is still listed by librdkafka"
        time.sleep(0.2)
    assert topic not in rivulet("topics", "list", "--bootstrap", broker).stdout.decode().split()
    missing = rivulet("topics", "delete", f"never-{uuid.uuid4().hex[:6]}", "--bootstrap", broker, expect_success=False)
    assert missing.returncode != 0


@pytest.mark.parametrize("acks,compression", [("0", "gzip"), ("1", "lz4"), ("all", "zstd"), ("all", "none")])
def test_produce_with_acks_compression_and_key_separator(broker, acks, compression):
    topic = f"cli-produce-{uuid.uuid4().hex[:6]}"
    create_topic(broker, topic, partitions=1)
    lines = [f"key-{i}::value {i} with :: inside" if i % 4 else f"no key {i}" for i in range(200)]
    result = rivulet("produce", topic, "--bootstrap", broker, "--key-separator", "::", "--compression", compression,
                     "--acks", acks, stdin=("\n".join(lines) + "\n").encode())
    assert "200 of 200 records delivered" in result.stderr.decode()
    received = consume(broker, topic, len(lines))
    expected = [(f"key-{i}".encode(), f"value {i} with :: inside".encode()) if i % 4 else (None, f"no key {i}".encode())
                for i in range(200)]
    assert [(m.key(), m.value()) for m in received] == expected


def test_produce_refuses_bad_flags(broker):
    for flags in (["--acks", "2"], ["--compression", "brotli"], ["--key-separator", ""]):
        result = rivulet("produce", "anything", "--bootstrap", broker, *flags, stdin=b"x\n", expect_success=False)
        assert result.returncode != 0, flags


def test_consume_prints_keys_and_stops_at_max_messages_or_timeout(request, broker):
    topic = f"cli-consume-{uuid.uuid4().hex[:6]}"
    create_topic(broker, topic, partitions=2)
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
    expected = set()
    for i in range(40):
        key = None if i % 10 == 0 else f"k{i}".encode()
        producer.produce(topic, key=key, value=f"v{i}".encode(), partition=i % 2)
        expected.add(f"{'' if key is None else key.decode()}|v{i}")
    assert producer.flush(15) == 0

    everything = rivulet("consume", topic, "--bootstrap", broker, "--from-beginning", "--print-key", "--key-separator", "|",
                         "--max-messages", "40", "--timeout-ms", "20000")
    assert set(everything.stdout.decode().splitlines()) == expected
    assert len(everything.stdout.decode().splitlines()) == 40

    # --max-messages stops early; without --print-key only values are printed.
    five = rivulet("consume", topic, "--bootstrap", broker, "--from-beginning", "--max-messages", "5", "--timeout-ms", "20000")
    values = five.stdout.decode().splitlines()
    assert len(values) == 5 and all(re.fullmatch(r"v\d+", v) for v in values)

    # Without --from-beginning the consumer starts at the end: nothing arrives, --timeout-ms ends it.
    # (Dev broker only: tansu 0.6 answers ListOffsets "latest" with a wrong offset, as librdkafka sees too.)
    if "tansu" in request.node.name:
        return
    started = time.time()
    idle = rivulet("consume", topic, "--bootstrap", broker, "--timeout-ms", "1500")
    assert idle.stdout == b""
    assert time.time() - started >= 1.5


def test_consume_group_commits_and_groups_describe_shows_members_assignment_offsets_and_lag(request, broker):
    topic, group = f"cli-group-{uuid.uuid4().hex[:6]}", f"cli-group-{uuid.uuid4().hex[:6]}"
    create_topic(broker, topic, partitions=3)
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
    for i in range(30):
        producer.produce(topic, value=f"first-{i}".encode(), partition=i % 3)
    assert producer.flush(15) == 0

    # A short session timeout: tansu holds a new group's first join for about the session timeout.
    read = rivulet("consume", topic, "--bootstrap", broker, "--group", group, "--from-beginning", "--session-timeout-ms", "6000",
                   "--heartbeat-interval-ms", "500", "--max-messages", "30", "--timeout-ms", "20000", timeout=90)
    assert sorted(read.stdout.decode().splitlines()) == sorted(f"first-{i}" for i in range(30))

    # The group committed what it printed: librdkafka reads the same committed offsets.
    checker = Consumer({"bootstrap.servers": broker, "group.id": group})
    committed = checker.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    checker.close()
    assert [tp.offset for tp in committed] == [10, 10, 10]

    assert group in [line.split("\t")[0] for line in rivulet("groups", "list", "--bootstrap", broker).stdout.decode().splitlines()]

    # 7 more records on partition 0: describe reports committed, end and lag per partition.
    for i in range(7):
        producer.produce(topic, value=f"later-{i}".encode(), partition=0)
    assert producer.flush(15) == 0
    text = rivulet("groups", "describe", group, "--bootstrap", broker).stdout.decode()
    rows = {m[0]: tuple(map(int, m[1:])) for m in re.findall(rf"({re.escape(topic)}-\d)\t(\d+)\t(\d+)\t(\d+)", text)}
    # The end offsets as librdkafka sees them (tansu 0.6 reports its own, wrong, end offsets: the
    # comparison holds Rivulet to what the broker says, and to the true figures on the dev broker).
    watcher = Consumer({"bootstrap.servers": broker, "group.id": f"watcher-{uuid.uuid4()}"})
    ends = [watcher.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1] for p in range(3)]
    watcher.close()
    assert rows == {f"{topic}-{p}": (10, ends[p], max(0, ends[p] - 10)) for p in range(3)}
    if "tansu" not in request.node.name:
        assert ends == [17, 10, 10]

    # A live librdkafka member shows up with its client id and assignment.
    member = Consumer({"bootstrap.servers": broker, "group.id": group, "client.id": "described-member",
                       "session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "enable.auto.commit": False})
    assigned = threading.Event()
    member.subscribe([topic], on_assign=lambda c, ps: assigned.set())
    deadline = time.time() + 60
    while not assigned.is_set():
        assert time.time() < deadline, "librdkafka member never got an assignment"
        member.poll(0.2)
    try:
        deadline = time.time() + 30
        while True:
            member.poll(0.1)
            text = rivulet("groups", "describe", group, "--bootstrap", broker).stdout.decode()
            if "tansu" in request.node.name:
                # tansu 0.6 describes members without client id, host or assignment: only the member is checked.
                if re.search(r"member described-member", text):
                    break
            else:
                line = next((l for l in text.splitlines() if "client described-member" in l), None)
                if line and "assigned " + ",".join(f"{topic}-{p}" for p in range(3)) in line:
                    break
            assert time.time() < deadline, f"member or assignment missing from:\n{text}"
        assert "state Stable" in text
    finally:
        member.close()


@pytest.mark.parametrize("command", [["topics", "create"], ["topics", "list"], ["topics", "describe"], ["topics", "delete"],
                                     ["produce"], ["consume"], ["groups", "list"], ["groups", "describe"]])
def test_bootstrap_defaults_to_localhost_9092(command):
    help_text = rivulet(*command, "--help").stdout.decode()
    assert re.search(r"--bootstrap <bootstrap>[^\n]*\n?[^\n]*\(default: localhost:9092\)", help_text), help_text


def _raw_request(sock, api_key, body, correlation_id):
    """One v0/v1-header request on `sock`; returns the response body after the correlation id."""
    client_id = b"raw-member"
    header = struct.pack(">hhih", api_key, 0, correlation_id, len(client_id)) + client_id
    frame = header + body
    sock.sendall(struct.pack(">i", len(frame)) + frame)

    def read_exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "the broker closed the connection"
            data += chunk
        return data

    size = struct.unpack(">i", read_exactly(4))[0]
    response = read_exactly(size)
    assert struct.unpack(">i", response[:4])[0] == correlation_id
    return response[4:]


def _string(value):
    data = value.encode()
    return struct.pack(">h", len(data)) + data


def _read_string(data, at):
    length = struct.unpack(">h", data[at:at + 2])[0]
    return data[at + 2:at + 2 + length].decode(), at + 2 + length


def _join_and_sync(bootstrap, group, protocol_type, assignment):
    """A member that joins with JoinGroup v0 and, as leader, assigns itself `assignment` with SyncGroup v0."""
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        join = (_string(group) + struct.pack(">i", 30000) + _string("") + _string(protocol_type)
                + struct.pack(">i", 1) + _string("custom") + struct.pack(">i", 2) + b"\x00\x00")
        answer = _raw_request(sock, 11, join, 1)
        assert struct.unpack(">h", answer[:2])[0] == 0, "JoinGroup failed"
        generation = struct.unpack(">i", answer[2:6])[0]
        _, at = _read_string(answer, 6)  # protocol name
        _, at = _read_string(answer, at)  # leader
        member_id, _ = _read_string(answer, at)
        sync = (_string(group) + struct.pack(">i", generation) + _string(member_id)
                + struct.pack(">i", 1) + _string(member_id) + struct.pack(">i", len(assignment)) + assignment)
        answer = _raw_request(sock, 14, sync, 2)
        assert struct.unpack(">h", answer[:2])[0] == 0, "SyncGroup failed"
        return member_id


@pytest.mark.parametrize("protocol_type,assignment,reason", [
    ("consumer", bytes([0, 0, 0, 0, 0, 5, 0xAB]), "malformed consumer protocol assignment"),
    ("connect", b"worker-1 owns sink-a", "not a consumer protocol assignment (the group's protocol type is 'connect')"),
])
def test_groups_describe_shows_undecodable_assignments_with_their_bytes(dev_broker, protocol_type, assignment, reason):
    # The dev broker passes the leader's assignment bytes through; describe must say it cannot
    # read them and print them, rather than show the member as assigned nothing.
    group = f"raw-{protocol_type}-{uuid.uuid4().hex[:6]}"
    member_id = _join_and_sync(dev_broker.bootstrap, group, protocol_type, assignment)
    text = rivulet("groups", "describe", group, "--bootstrap", dev_broker.bootstrap).stdout.decode()
    line = next((l for l in text.splitlines() if f"member {member_id}" in l), None)
    assert line is not None, text
    assert "assigned -" not in line, line
    assert reason in line, line
    assert f"{len(assignment)} bytes: 0x{assignment.hex()}" in line, line
