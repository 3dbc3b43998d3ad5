"""Random and truncated frames against the dev broker: it stays up and serves everyone else."""
import random
import socket
import struct

from confluent_kafka import Producer

from test_dev_broker_clients import consume, create_topic


def send_garbage(port, payload, read=True):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(payload)
            if read:
                s.settimeout(0.3)
                try:
                    s.recv(65536)
                except OSError:
                    pass
    except OSError:
        pass


def test_fuzzed_frames_do_not_disturb_a_well_behaved_client(dev_broker):
    create_topic(dev_broker.bootstrap, "steady")
    producer = Producer({"bootstrap.servers": dev_broker.bootstrap})
    rng = random.Random(1234)
    valid_api_versions = struct.pack(">ihhi", 10, 18, 3, 1) + b"\x00\x00"  # a header cut short
    for round_ in range(300):
        kind = rng.randrange(5)
        if kind == 0:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
            payload = struct.pack(">i", len(body)) + body
        elif kind == 1:
            payload = struct.pack(">i", rng.choice([-5, 2**31 - 1, 500_000_000]))
        elif kind == 2:
            key, version = rng.randrange(-2, 80), rng.randrange(-1, 20)
            body = struct.pack(">hhi", key, version, round_) + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
            payload = struct.pack(">i", len(body)) + body
        elif kind == 3:
            payload = valid_api_versions[: rng.randrange(1, len(valid_api_versions))]
        else:
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        send_garbage(dev_broker.port, payload, read=kind != 3)
        if round_ % 50 == 0:
            producer.produce("steady", value=str(round_).encode())
            assert producer.flush(10) == 0
            assert dev_broker.alive()
    assert dev_broker.alive()
    assert len(consume(dev_broker.bootstrap, "steady", 6)) == 6
