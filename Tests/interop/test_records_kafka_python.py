"""Record batches, legacy message sets, compression and CRC-32C: Rivulet against kafka-python.

Rivulet is driven through `KafkaCodecProbe batch`, one long-lived process per module
speaking JSON lines (see Sources/KafkaCodecProbe/BatchProbe.swift). Bytes travel as hex.
`make interop-test` sets RIVULET_BIN_PATH to the Swift build's bin directory.
"""
import json
import os
import random
import struct
import subprocess
from pathlib import Path

import pytest
import snappy
from kafka.codec import snappy_encode
from kafka.record._crc32c import crc as crc32c_pure_python
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatch, LegacyRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
LEGACY_CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4"}


def _bin_path():
    path = os.environ.get("RIVULET_BIN_PATH")
    if path:
        return Path(path)
    fallback = Path(__file__).resolve().parents[2] / ".build" / "debug"
    return fallback if (fallback / "KafkaCodecProbe").exists() else None


class Probe:
    def __init__(self, executable):
        self.process = subprocess.Popen(
            [str(executable), "batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def call(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"probe exited with {self.process.poll()}"
        return json.loads(line)

    def ok(self, **request):
        response = self.call(**request)
        assert response["ok"], response
        return response

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def probe():
    path = _bin_path()
    if path is None or not (path / "KafkaCodecProbe").exists():
        pytest.skip("KafkaCodecProbe not built (set RIVULET_BIN_PATH)")
    p = Probe(path / "KafkaCodecProbe")
    yield p
    p.close()


def hx(value):
    return None if value is None else bytes(value).hex()


def sample_records(rng, count):
    """Records with null and non-null keys and values, headers (some with null values), varied timestamps."""
    records = []
    base = 1_700_000_000_000
    for i in range(count):
        key = None if i % 3 == 0 else f"key-{i}".encode()
        value = None if i % 5 == 4 else bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        headers = [] if i % 2 == 0 else [("trace", f"t{i}".encode()), ("empty", b""), ("null", None), ("ключ", b"\x00\xff")]
        records.append({"offset": i, "timestamp": base + rng.randrange(-5000, 5000), "key": key, "value": value, "headers": headers})
    return records


def kafka_python_batch(codec, records, producer_id=-1, producer_epoch=-1, base_sequence=-1, transactional=False):
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=codec, is_transactional=int(transactional), producer_id=producer_id,
        producer_epoch=producer_epoch, base_sequence=base_sequence, batch_size=1 << 22,
    )
    for r in records:
        builder.append(r["offset"], timestamp=r["timestamp"], key=r["key"], value=r["value"], headers=r["headers"])
    return bytes(builder.build())


def as_probe_records(records):
    return [
        {"timestamp": r["timestamp"], "key": hx(r["key"]), "value": hx(r["value"]),
         "headers": [[k, hx(v)] for k, v in r["headers"]]}
        for r in records
    ]


def expected_from(records, base_offset=0):
    return [
        {"offset": base_offset + r["offset"], "timestamp": r["timestamp"], "key": hx(r["key"]), "value": hx(r["value"]),
         "headers": [[k, hx(v)] for k, v in r["headers"]]}
        for r in records
    ]


def rivulet_records(entries):
    return [
        {"offset": r["offset"], "timestamp": r["timestamp"], "key": r["key"], "value": r["value"], "headers": r["headers"]}
        for e in entries for r in e["records"]
    ]


# --- kafka-python writes, Rivulet reads -------------------------------------------------------

@pytest.mark.parametrize("codec", sorted(CODECS))
def test_rivulet_reads_kafka_python_batches(probe, codec):
    rng = random.Random(codec)
    records = sample_records(rng, 25)
    data = kafka_python_batch(codec, records, producer_id=4242, producer_epoch=3, base_sequence=17, transactional=codec % 2 == 1)
    response = probe.ok(op="decode", hex=data.hex())
    assert response["incompleteTailBytes"] == 0
    [entry] = response["entries"]
    assert entry["magic"] == 2
    assert entry["compression"] == CODECS[codec]
    assert (entry["producerId"], entry["producerEpoch"], entry["baseSequence"]) == (4242, 3, 17)
    assert entry["isTransactional"] == (codec % 2 == 1)
    assert entry["crc"] == DefaultRecordBatch(data).crc
    assert entry["recordCount"] == 25 and entry["lastOffsetDelta"] == 24
    assert rivulet_records([entry]) == expected_from(records)
    # kafka-python's own reading of its bytes agrees too.
    ours = [(r["offset"], r["timestamp"], r["key"], r["value"], r["headers"]) for r in entry["records"]]
    theirs = [(m.offset, m.timestamp, hx(m.key), hx(m.value), [[k, hx(v)] for k, v in m.headers]) for m in DefaultRecordBatch(data)]
    assert ours == theirs


def test_rivulet_reads_several_batches_with_a_cut_tail(probe):
    rng = random.Random(7)
    data = b""
    expected = []
    offset = 0
    for codec in sorted(CODECS):
        records = sample_records(rng, 4)
        batch = bytearray(kafka_python_batch(codec, records))
        struct.pack_into(">q", batch, 0, offset)  # the broker's base offset (outside the CRC)
        expected += expected_from(records, offset)
        offset += len(records)
        data += bytes(batch)
    tail = kafka_python_batch(0, sample_records(rng, 3))[:50]
    response = probe.ok(op="decode", hex=(data + tail).hex())
    assert rivulet_records(response["entries"]) == expected
    assert response["incompleteTailBytes"] == 50
    strict = probe.call(op="decode", hex=(data + tail).hex(), allowTail=False)
    assert not strict["ok"] and strict["kind"] == "truncated"


def test_log_append_time_gives_every_record_the_max_timestamp(probe):
    records = sample_records(random.Random(3), 5)
    data = bytearray(kafka_python_batch(0, records))
    # What a broker does for LogAppendTime topics: set attribute bit 3 and maxTimestamp, recompute the CRC.
    attributes = struct.unpack_from(">h", data, 21)[0] | 0x08
    struct.pack_into(">h", data, 21, attributes)
    struct.pack_into(">q", data, 35, 1_800_000_000_000)
    struct.pack_into(">I", data, 17, crc32c_pure_python(bytes(data[21:])))
    theirs = [m.timestamp for m in DefaultRecordBatch(bytes(data))]
    response = probe.ok(op="decode", hex=bytes(data).hex())
    assert [r["timestamp"] for r in response["entries"][0]["records"]] == theirs == [1_800_000_000_000] * 5


def test_corrupt_batch_is_a_typed_error(probe):
    data = bytearray(kafka_python_batch(1, sample_records(random.Random(1), 5)))
    data[70] ^= 0x20
    response = probe.call(op="decode", hex=bytes(data).hex())
    assert not response["ok"] and response["kind"] == "crcMismatch"


# --- Rivulet writes, kafka-python reads -------------------------------------------------------

@pytest.mark.parametrize("codec", sorted(CODECS))
def test_kafka_python_reads_rivulet_batches(probe, codec):
    rng = random.Random(100 + codec)
    records = sample_records(rng, 30)
    response = probe.ok(
        op="encode", compression=CODECS[codec], baseOffset=500, producerId=777, producerEpoch=5, baseSequence=1000,
        transactional=codec % 2 == 0, records=as_probe_records(records),
    )
    data = bytes.fromhex(response["hex"])
    batch = DefaultRecordBatch(data)
    assert batch.validate_crc()
    assert batch.crc == crc32c_pure_python(data[21:])
    assert batch.compression_type == codec
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (777, 5, 1000)
    assert batch.is_transactional == (codec % 2 == 0)
    assert batch.base_offset == 500 and batch.last_offset_delta == 29
    assert batch.max_timestamp == max(r["timestamp"] for r in records)
    decoded = [
        {"offset": m.offset, "timestamp": m.timestamp, "key": hx(m.key), "value": hx(m.value),
         "headers": [[k, hx(v)] for k, v in m.headers]}
        for m in batch
    ]
    assert decoded == expected_from(records, 500)
    # MemoryRecords walks it like a fetch response.
    assert MemoryRecords(data).next_batch() is not None


def test_kafka_python_reads_rivulet_control_batch(probe):
    response = probe.ok(op="control", commit=False, coordinatorEpoch=9, producerId=31, producerEpoch=2, baseOffset=40, timestamp=1_700_000_000_000)
    data = bytes.fromhex(response["hex"])
    batch = DefaultRecordBatch(data)
    assert batch.validate_crc() and batch.is_control_batch and batch.is_transactional
    assert (batch.producer_id, batch.producer_epoch) == (31, 2)
    [marker] = list(batch)
    assert marker.offset == 40 and marker.abort and marker.version == 0
    assert marker.value == struct.pack(">hi", 0, 9)
    decoded = probe.ok(op="decode", hex=data.hex())["entries"][0]
    assert decoded["isControl"] and decoded["controlRecords"] == [{"kind": "abort", "keyVersion": 0, "coordinatorEpoch": 9}]


# --- legacy message sets (magic 0 and 1) --------------------------------------------------------

@pytest.mark.parametrize("magic", [0, 1])
@pytest.mark.parametrize("codec", sorted(LEGACY_CODECS))
def test_rivulet_reads_kafka_python_legacy_message_sets(probe, magic, codec):
    builder = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 22)
    rng = random.Random(magic * 10 + codec)
    inputs = []
    for i in range(6):
        key = None if i % 2 else f"k{i}".encode()
        value = None if i == 3 else bytes(rng.randrange(256) for _ in range(rng.randrange(0, 120)))
        timestamp = 1_600_000_000_000 + i
        builder.append(i, timestamp=timestamp, key=key, value=value)
        inputs.append((i, timestamp, key, value))
    data = bytearray(builder.build())
    if codec != 0:
        # A broker stores the wrapper with the absolute offset of the last inner message (outside the CRC).
        struct.pack_into(">q", data, 0, 1005)
        base = 1000 if magic == 1 else 0
    else:
        base = 0
    data = bytes(data)
    response = probe.ok(op="decode", hex=data.hex())
    got = [(r["offset"], r["timestamp"], r["key"], r["value"]) for r in rivulet_records(response["entries"])]
    expected = [(base + i, ts if magic == 1 else -1, hx(k), hx(v)) for i, ts, k, v in inputs]
    assert got == expected
    assert {e["magic"] for e in response["entries"]} == {magic}
    # kafka-python reads the same offsets and payloads from the same bytes.
    theirs = []
    records = MemoryRecords(data)
    while records.has_next():
        for m in records.next_batch():
            theirs.append((m.offset, hx(m.key), hx(m.value)))
    assert theirs == [(o, k, v) for o, _, k, v in got]


def test_legacy_wrapper_with_corrupt_inner_crc_is_refused(probe):
    builder = LegacyRecordBatchBuilder(magic=1, compression_type=0, batch_size=1 << 20)
    builder.append(0, timestamp=1, key=None, value=b"x")
    data = bytearray(builder.build())
    data[-1] ^= 1
    response = probe.call(op="decode", hex=bytes(data).hex())
    assert not response["ok"] and response["kind"] == "crcMismatch"


# --- compression ---------------------------------------------------------------------------------

def test_xerial_snappy_from_kafka_python_and_raw_snappy_from_python_snappy(probe):
    payload = bytes(random.Random(5).randrange(64) for _ in range(100_000))
    for block_size in (1024, 32 * 1024):
        framed = snappy_encode(payload, xerial_compatible=True, xerial_blocksize=block_size)
        assert framed[:8] == b"\x82SNAPPY\x00"
        assert bytes.fromhex(probe.ok(op="decompress", codec="snappy", hex=framed.hex())["hex"]) == payload
    raw = snappy.compress(payload)
    assert bytes.fromhex(probe.ok(op="decompress", codec="snappy", hex=raw.hex())["hex"]) == payload
    # Rivulet writes raw snappy, which python-snappy reads.
    ours = bytes.fromhex(probe.ok(op="compress", codec="snappy", hex=payload.hex())["hex"])
    assert snappy.decompress(ours) == payload


def test_xerial_snappy_framed_by_hand(probe):
    payload = b"hand framed " * 500
    blocks = [payload[i:i + 700] for i in range(0, len(payload), 700)]
    # Header: marker, "SNAPPY", NUL, version 1, compat 1; then [int32 length][raw snappy block] per block.
    framed = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    for block in blocks:
        compressed = snappy.compress(block)
        framed += struct.pack(">i", len(compressed)) + compressed
    assert bytes.fromhex(probe.ok(op="decompress", codec="snappy", hex=framed.hex())["hex"]) == payload
    truncated = probe.call(op="decompress", codec="snappy", hex=framed[:-3].hex())
    assert not truncated["ok"] and truncated["kind"] == "decompressionFailed"


def test_decompression_limit_is_enforced(probe):
    import zstandard
    bomb = zstandard.ZstdCompressor().compress(bytes(10_000_000))
    response = probe.call(op="decompress", codec="zstd", hex=bomb.hex(), maxOutputBytes=1_000_000)
    assert not response["ok"] and response["kind"] == "tooLarge"


# --- CRC-32C --------------------------------------------------------------------------------------

def test_crc32c_matches_kafka_pythons_pure_python_implementation(probe):
    rng = random.Random(11)
    for size in [0, 1, 3, 8, 9, 100, 767, 768, 769, 4096, 24575, 24576, 24577, 70_000]:
        data = bytes(rng.randrange(256) for _ in range(size))
        expected = crc32c_pure_python(data)
        for implementation in ("automatic", "hardware", "software"):
            assert probe.ok(op="crc32c", hex=data.hex(), implementation=implementation)["value"] == expected, (size, implementation)
