"""Rivulet's generated protocol codecs against kio, an independent Python implementation.

Both directions, field for field:
  kio builds a value and encodes it -> Rivulet decodes it -> every field is compared;
  the same value goes to Rivulet as JSON -> Rivulet encodes it -> kio decodes it -> every
  field is compared, and the two encodings must be byte-identical.

kio follows a newer Kafka release than Rivulet's schemas, so only versions both have
are compared. kio's field names differ in a few places (it drops the "Ms" suffix of
durations and timestamps), so fields are matched by position, and names, types,
nullability and tags are checked along the way.

Rivulet is driven through `KafkaCodecProbe message`, one process for the whole module,
speaking JSON lines (see Sources/KafkaCodecProbe/MessageProbe.swift).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import importlib
import io
import json
import os
import random
import re
import subprocess
import types
import typing
import uuid
import zlib

import pytest

from kio.serial import entity_reader, entity_writer
from kio.static.primitive import Records, TZAware, i32Timedelta, i64Timedelta
from kio.serial.readers import tz_aware_from_i64

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MILLISECOND = datetime.timedelta(milliseconds=1)

# The APIs the protocol layer must agree on first; every version both sides have is checked.
REQUIRED_APIS = [
    "ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets", "FindCoordinator",
    "JoinGroup", "SyncGroup", "Heartbeat", "OffsetCommit", "OffsetFetch", "InitProducerId",
    "AddPartitionsToTxn", "EndTxn", "TxnOffsetCommit", "CreateTopics",
]

# Fields newer Kafka renamed; position, type and wire format are unchanged.
RENAMED = {
    ("replica_id", "CandidateId"),
    ("replica_epoch", "CandidateEpoch"),
    ("replica_directory_id", "CandidateDirectoryId"),
}

# Versions whose layout kio's (newer) schema changed after Rivulet's schema snapshot: both were
# early-access APIs at the time ("latestVersionUnstable"), so they are not comparable.
DIVERGENT = {("ReadShareGroupStateSummaryResponse", 0)}

FLAVOURS = ["minimal", "nulls", "rich", "random1", "random2"]


# --------------------------------------------------------------------------- probe


class Probe:
    """One long-lived `KafkaCodecProbe message` process."""

    def __init__(self) -> None:
        bin_path = os.environ.get("RIVULET_BIN_PATH")
        if not bin_path:
            pytest.skip("RIVULET_BIN_PATH is not set (make interop-test sets it)")
        executable = os.path.join(bin_path, "KafkaCodecProbe")
        if not os.path.exists(executable):
            pytest.fail(f"{executable} is missing: run swift build first")
        self.process = subprocess.Popen(
            [executable, "message"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )

    def call(self, **request: object) -> dict:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"probe exited with {self.process.wait()}")
        return json.loads(line)

    def ok(self, **request: object) -> dict:
        answer = self.call(**request)
        assert answer["ok"], f"{request.get('op')} {request.get('message')} v{request.get('version')}: {answer}"
        return answer

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def probe():
    p = Probe()
    yield p
    p.close()


_catalogue: dict | None = None


def catalogue() -> dict[str, dict]:
    """Every Rivulet message with its versions (one short-lived probe at collection time)."""
    global _catalogue
    if _catalogue is None:
        bin_path = os.environ.get("RIVULET_BIN_PATH")
        if not bin_path or not os.path.exists(os.path.join(bin_path, "KafkaCodecProbe")):
            _catalogue = {}
        else:
            out = subprocess.run(
                [os.path.join(bin_path, "KafkaCodecProbe"), "message", "list"],
                check=True, capture_output=True, text=True,
            ).stdout
            _catalogue = {m["name"]: m for m in json.loads(out)["messages"]}
    return _catalogue


# --------------------------------------------------------------------------- kio lookup


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


def kio_class(message: str, version: int):
    """kio's dataclass for a Rivulet message name at a version, or None when kio lacks it."""
    if message in ("RequestHeader", "ResponseHeader"):
        module, leaf = snake(message), "header"
    elif message.endswith("Request"):
        module, leaf = snake(message[: -len("Request")]), "request"
    elif message.endswith("Response"):
        module, leaf = snake(message[: -len("Response")]), "response"
    else:
        module, leaf = snake(message), "data"
    try:
        mod = importlib.import_module(f"kio.schema.{module}.v{version}.{leaf}")
    except ModuleNotFoundError:
        return None
    return getattr(mod, message, None)


def common_versions(message: str) -> list[int]:
    info = catalogue().get(message)
    if info is None:
        return []
    low, high = info["versions"]
    return [v for v in range(low, high + 1) if (message, v) not in DIVERGENT and kio_class(message, v) is not None]


def kio_encode(value) -> bytes:
    buffer = io.BytesIO()
    entity_writer(type(value))(buffer, value)
    return buffer.getvalue()


def kio_decode(cls, data: bytes):
    value, size = entity_reader(cls)(data, 0)
    assert size == len(data), f"kio consumed {size} of {len(data)} bytes"
    return value


# --------------------------------------------------------------------------- value building


def unwrap_optional(hint):
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and type(None) in typing.get_args(hint):
            return args[0], True
    return hint, False


STRINGS = ["", "a", "topic-1", "ünïcødé ✓ 日本語 🎉", "quote \" backslash \\ newline \n tab \t", "x" * 300]
FLOATS = [0.0, -1.5, 3.141592653589793, 1e300, -2.5e-300, 123456789.125]
TIMESTAMPS = [0, 1, 1_700_000_000_123, 253_402_300_799_000]


class Builder:
    """Builds kio values of any schema class. The flavour decides the values:
    minimal  - defaults, empty arrays, empty strings, zeros;
    nulls    - null wherever the type allows, otherwise like minimal;
    rich     - two-element arrays, non-default tagged fields, edge values (negative extremes, unicode);
    randomN  - seeded mixture of all of the above."""

    def __init__(self, flavour: str, seed: int) -> None:
        self.flavour = flavour
        self.rng = random.Random(seed)

    def pick(self, choices):
        return self.rng.choice(choices)

    def entity(self, cls):
        hints = typing.get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            has_default = f.default is not dataclasses.MISSING
            if self.flavour == "minimal" and has_default:
                continue
            values[f.name] = self.value(hints[f.name], f, has_default)
        return cls(**values)

    def value(self, hint, field=None, has_default=False):
        inner, optional = unwrap_optional(hint)
        if optional:
            if self.flavour == "nulls":
                return None
            if self.flavour == "minimal":
                return field.default if field is not None and has_default else None
            if self.flavour.startswith("random") and self.rng.random() < 0.3:
                return None
        if typing.get_origin(inner) is tuple:
            (element,) = typing.get_args(inner)[:1]
            count = {"minimal": 0, "nulls": 0, "rich": 2}.get(self.flavour, self.rng.randint(0, 3))
            return tuple(self.value(element) for _ in range(count))
        if dataclasses.is_dataclass(inner):
            return self.entity(inner)
        return self.primitive(inner)

    def primitive(self, t):
        minimal = self.flavour in ("minimal", "nulls")
        rich = self.flavour == "rich"
        if t is bool:
            return rich or (not minimal and self.rng.random() < 0.5)
        if isinstance(t, type) and issubclass(t, enum.Enum):
            members = list(t)
            return members[0] if minimal else self.pick(members)
        if t is i32Timedelta or t is i64Timedelta:
            low, high = (-(2**31), 2**31 - 1) if t is i32Timedelta else (-(10**15), 10**15)
            ms = 0 if minimal else (low if rich else self.pick([low, high, -1, 0, 1, 30_000]))
            return t.parse(datetime.timedelta(milliseconds=ms))
        if t is TZAware:
            return tz_aware_from_i64(0 if minimal else self.pick(TIMESTAMPS))
        if isinstance(t, type) and issubclass(t, bool):
            return not minimal
        if isinstance(t, type) and issubclass(t, int):
            low, high = t.__low__, t.__high__
            if minimal:
                return t(0) if low <= 0 <= high else t(low)
            if rich:
                return t(low)  # the most negative value (0 for unsigned), the classic sign bug
            edges = [v for v in (low, high, -1, 0, 1, 42) if low <= v <= high]
            return t(self.pick(edges) if self.rng.random() < 0.6 else self.rng.randint(low, high))
        if isinstance(t, type) and issubclass(t, float):
            return t(0.0) if minimal else t(self.pick(FLOATS))
        if isinstance(t, type) and issubclass(t, str):
            if minimal:
                return ""
            return STRINGS[3] if rich else self.pick(STRINGS)
        if isinstance(t, type) and issubclass(t, bytes):
            size = 0 if minimal else (5 if rich else self.rng.randint(0, 40))
            raw = bytes(self.rng.getrandbits(8) for _ in range(size))
            return Records(raw) if issubclass(t, Records) else raw
        if t is uuid.UUID:
            if minimal:
                return uuid.UUID(int=0)
            return uuid.UUID(int=self.rng.getrandbits(128))
        raise TypeError(f"no builder for {t!r}")


# --------------------------------------------------------------------------- comparison

KIO_TYPES = {
    "error_code": "int16", "timedelta_i32": "int32", "timedelta_i64": "int64", "datetime_i64": "int64",
}


def plain(value, schema_type: str):
    """A kio primitive in the form the probe uses in JSON."""
    if schema_type == "uuid":
        return ZERO_UUID if value is None else str(value)
    if value is None:
        # kio maps a nullable timestamp's -1 to None.
        return -1 if schema_type == "int64" else None
    if isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.datetime):
        return (value - EPOCH) // MILLISECOND
    if isinstance(value, datetime.timedelta):
        return value // MILLISECOND
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    raise TypeError(f"unexpected kio value {value!r}")


def names_match(kio_name: str, schema_name: str) -> bool:
    a, b = kio_name.replace("_", "").lower(), schema_name.lower()
    return a == b or a + "ms" == b or (kio_name, schema_name) in RENAMED


def pair_fields(obj_or_cls, schema_fields: list[dict], path: str):
    kio_fields = dataclasses.fields(obj_or_cls)
    names = [f["name"] for f in schema_fields]
    assert len(kio_fields) == len(schema_fields), f"{path}: kio has {[f.name for f in kio_fields]}, Rivulet {names}"
    for kf, sf in zip(kio_fields, schema_fields):
        where = f"{path}.{sf['name']}"
        assert names_match(kf.name, sf["name"]), f"{where}: kio calls it {kf.name}"
        assert kf.metadata.get("tag") == sf["tag"], f"{where}: tag kio={kf.metadata.get('tag')} rivulet={sf['tag']}"
        kio_type = kf.metadata.get("kafka_type")
        if kio_type is not None:
            base = sf["type"][2:] if sf["type"].startswith("[]") else sf["type"]
            assert KIO_TYPES.get(kio_type, kio_type) == base, f"{where}: type kio={kio_type} rivulet={sf['type']}"
    return zip(kio_fields, schema_fields)


def compare(obj, rivulet: dict, schema_fields: list[dict], path: str) -> None:
    """Every field of a kio value against Rivulet's JSON for it."""
    assert list(k for k in rivulet if k != "_unknownTaggedFields") == [f["name"] for f in schema_fields], path
    for kf, sf in pair_fields(obj, schema_fields, path):
        compare_value(getattr(obj, kf.name), rivulet[sf["name"]], sf, f"{path}.{sf['name']}")


def compare_value(kv, rv, sf: dict, path: str) -> None:
    schema_type = sf["type"]
    is_array = schema_type.startswith("[]")
    base = schema_type[2:] if is_array else schema_type
    is_struct = base[0].isupper()
    if is_array:
        if kv is None:
            assert rv is None, f"{path}: kio null, Rivulet {rv!r}"
            return
        assert isinstance(rv, list) and len(rv) == len(kv), f"{path}: lengths kio={len(kv)} rivulet={rv!r}"
        for index, (k, r) in enumerate(zip(kv, rv)):
            if is_struct:
                compare(k, r, sf["fields"], f"{path}[{index}]")
            else:
                assert plain(k, base) == r, f"{path}[{index}]: kio {plain(k, base)!r} rivulet {r!r}"
    elif is_struct:
        if kv is None:
            assert rv is None, f"{path}: kio null, Rivulet {rv!r}"
        else:
            compare(kv, rv, sf["fields"], path)
    else:
        assert plain(kv, base) == rv, f"{path}: kio {plain(kv, base)!r} rivulet {rv!r}"


def to_rivulet(obj, schema_fields: list[dict], path: str) -> dict:
    """A kio value as the JSON Rivulet's probe reads, built independently of Rivulet's decoder."""
    out = {}
    for kf, sf in pair_fields(obj, schema_fields, path):
        out[sf["name"]] = value_to_rivulet(getattr(obj, kf.name), sf, f"{path}.{sf['name']}")
    return out


def value_to_rivulet(kv, sf: dict, path: str):
    schema_type = sf["type"]
    base = schema_type[2:] if schema_type.startswith("[]") else schema_type
    is_struct = base[0].isupper()
    if schema_type.startswith("[]"):
        if kv is None:
            return None
        return [to_rivulet(k, sf["fields"], path) if is_struct else plain(k, base) for k in kv]
    if is_struct:
        return None if kv is None else to_rivulet(kv, sf["fields"], path)
    return plain(kv, base)


def snapshot(obj, schema_fields: list[dict], path: str = "") -> dict:
    """A comparable form of a kio value (kio reads a zero UUID back as None, so raw equality is too strict)."""
    return to_rivulet(obj, schema_fields, path)


# --------------------------------------------------------------------------- the checks


def check_both_directions(probe: Probe, message: str, version: int, value) -> None:
    where = f"{message} v{version}"
    schema = probe.ok(op="schema", message=message, version=version)["fields"]
    encoded = kio_encode(value)

    # kio -> Rivulet
    decoded = probe.ok(op="decode", message=message, version=version, hex=encoded.hex())
    assert decoded["remaining"] == 0, f"{where}: Rivulet left {decoded['remaining']} bytes"
    compare(value, decoded["value"], schema, where)

    # Rivulet -> kio, from JSON built out of the kio value by this test
    produced = probe.ok(op="encode", message=message, version=version, value=to_rivulet(value, schema, where))
    parsed = kio_decode(type(value), bytes.fromhex(produced["hex"]))
    assert snapshot(parsed, schema) == snapshot(value, schema), f"{where}: kio read back a different value"
    assert produced["hex"] == encoded.hex(), f"{where}: encodings differ\n kio     {encoded.hex()}\n rivulet {produced['hex']}"


def api_cases(apis: list[str]) -> list:
    cases = []
    for api in apis:
        for message in (api + "Request", api + "Response"):
            for version in common_versions(message):
                cases.append(pytest.param(message, version, id=f"{message}-v{version}"))
    return cases


@pytest.mark.parametrize("message,version", api_cases(REQUIRED_APIS))
def test_required_apis_agree_with_kio(probe, message, version):
    cls = kio_class(message, version)
    for index, flavour in enumerate(FLAVOURS):
        value = Builder(flavour, seed=zlib.crc32(f"{message}/{version}/{index}".encode())).entity(cls)
        check_both_directions(probe, message, version, value)


def all_common_messages() -> list:
    return [pytest.param(name, id=name) for name in sorted(catalogue()) if common_versions(name)]


@pytest.mark.parametrize("message", all_common_messages())
def test_every_shared_message_agrees_with_kio(probe, message):
    for version in common_versions(message):
        cls = kio_class(message, version)
        for seed, flavour in enumerate(["minimal", "rich", "random1"]):
            check_both_directions(probe, message, version, Builder(flavour, seed=seed).entity(cls))


def test_every_rivulet_message_is_known_to_the_probe(probe):
    # 186 schema files: the probe, like the registry, has one entry per schema.
    assert len(catalogue()) == 186
    assert len(probe.ok(op="list")["messages"]) == 186


# --------------------------------------------------------------------------- hand-picked values


def test_hand_picked_values(probe):
    from kio.schema.api_versions.v3.request import ApiVersionsRequest
    from kio.schema.api_versions.v3.response import ApiVersion, ApiVersionsResponse, FinalizedFeatureKey
    from kio.schema.errors import ErrorCode
    from kio.schema.fetch.v12 import response as fetch12
    from kio.schema.metadata.v0.request import MetadataRequest as Metadata0, MetadataRequestTopic as Topic0
    from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic
    from kio.schema.produce.v9.request import PartitionProduceData, ProduceRequest, TopicProduceData
    from kio.schema.request_header.v2.header import RequestHeader
    from kio.schema.find_coordinator.v4.response import Coordinator, FindCoordinatorResponse
    from kio.static.primitive import i16, i32, i64

    cases = [
        ("ApiVersionsRequest", 3, ApiVersionsRequest(client_software_name="rivulet", client_software_version="0.1.0")),
        ("ApiVersionsResponse", 3, ApiVersionsResponse(
            error_code=ErrorCode.none,
            api_keys=(ApiVersion(api_key=i16(0), min_version=i16(0), max_version=i16(11)),
                      ApiVersion(api_key=i16(18), min_version=i16(0), max_version=i16(4))),
            throttle_time=i32Timedelta.parse(datetime.timedelta(milliseconds=0)),
            finalized_features_epoch=i64(7),
            finalized_features=(FinalizedFeatureKey(name="metadata.version", max_version_level=i16(21), min_version_level=i16(1)),),
            zk_migration_ready=True,
        )),
        ("MetadataRequest", 0, Metadata0(topics=(Topic0(name="orders"), Topic0(name="pay-ments")))),
        ("MetadataRequest", 12, MetadataRequest(
            topics=(MetadataRequestTopic(topic_id=uuid.UUID("12345678-9abc-def0-1234-56789abcdef0"), name=None),
                    MetadataRequestTopic(topic_id=None, name="événements")),
            allow_auto_topic_creation=False, include_topic_authorized_operations=True)),
        ("ProduceRequest", 9, ProduceRequest(
            transactional_id=None, acks=i16(-1), timeout=i32Timedelta.parse(datetime.timedelta(seconds=30)),
            topic_data=(TopicProduceData(name="t", partition_data=(
                PartitionProduceData(index=i32(0), records=Records(bytes(range(61)))),
                PartitionProduceData(index=i32(2147483647), records=None))),))),
        ("RequestHeader", 2, RequestHeader(request_api_key=i16(18), request_api_version=i16(3), correlation_id=i32(-2147483648), client_id=None)),
        ("FindCoordinatorResponse", 4, FindCoordinatorResponse(
            throttle_time=i32Timedelta.parse(datetime.timedelta(milliseconds=5)),
            coordinators=(Coordinator(key="group-α", node_id=i32(3), host="broker-3.local", port=i32(9092),
                                      error_code=ErrorCode.coordinator_not_available, error_message="not yet"),))),
        ("FetchResponse", 12, fetch12.FetchResponse(
            throttle_time=i32Timedelta.parse(datetime.timedelta(milliseconds=1)), error_code=ErrorCode.none, session_id=i32(99),
            responses=(fetch12.FetchableTopicResponse(topic="t", partitions=(fetch12.PartitionData(
                partition_index=i32(1), error_code=ErrorCode.none, high_watermark=i64(100), last_stable_offset=i64(90),
                log_start_offset=i64(0),
                diverging_epoch=fetch12.EpochEndOffset(epoch=i32(4), end_offset=i64(77)),
                current_leader=fetch12.LeaderIdAndEpoch(leader_id=i32(2), leader_epoch=i32(9)),
                aborted_transactions=None, preferred_read_replica=i32(-1), records=Records(b"\x00\x01")),)),))),
    ]
    for message, version, value in cases:
        check_both_directions(probe, message, version, value)


# --------------------------------------------------------------------------- errors and unknown tags


def test_unknown_tagged_fields_survive_a_round_trip(probe):
    # kio itself refuses tags it does not know, so only Rivulet reads the extended bytes.
    from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic

    value = MetadataRequest(topics=(MetadataRequestTopic(topic_id=None, name="a"),),
                            allow_auto_topic_creation=True, include_topic_authorized_operations=False)
    encoded = kio_encode(value)
    assert encoded.endswith(b"\x00")
    # Replace the empty top-level tagged section with two tags Kafka does not define.
    extended = encoded[:-1] + bytes([2, 27, 2, 0xBE, 0xEF, 40, 0])
    decoded = probe.ok(op="decode", message="MetadataRequest", version=12, hex=extended.hex())
    assert decoded["value"]["_unknownTaggedFields"] == [{"tag": 27, "hex": "beef"}, {"tag": 40, "hex": ""}]
    again = probe.ok(op="reencode", message="MetadataRequest", version=12, hex=extended.hex())
    assert again["hex"] == extended.hex()
    schema = probe.ok(op="schema", message="MetadataRequest", version=12)["fields"]
    compare(value, decoded["value"], schema, "MetadataRequest v12")
    # Written back from JSON, the unknown fields land in tag order with the known ones.
    rebuilt = probe.ok(op="encode", message="MetadataRequest", version=12, value=decoded["value"])
    assert rebuilt["hex"] == extended.hex()


def test_field_not_in_version_is_refused(probe):
    answer = probe.call(op="encode", message="ProduceRequest", version=2, value={"TransactionalId": "txn"})
    assert answer["ok"] is False and answer["kind"] == "fieldNotSupported"
    # Ignorable fields are dropped silently instead.
    answer = probe.call(op="encode", message="ApiVersionsRequest", version=2, value={"ClientSoftwareName": "x"})
    assert answer == {"ok": True, "hex": ""}


def test_null_where_not_nullable_is_refused(probe):
    # MetadataRequest.Topics may be null from version 1 only.
    answer = probe.call(op="encode", message="MetadataRequest", version=0, value={"Topics": None})
    assert answer["ok"] is False and answer["kind"] == "unexpectedNull"
    assert probe.call(op="encode", message="MetadataRequest", version=1, value={"Topics": None}) == {"ok": True, "hex": "ffffffff"}
    # A classic null string (length -1) where the schema forbids null.
    answer = probe.call(op="decode", message="SaslHandshakeRequest", version=1, hex="ffff")
    assert answer["ok"] is False and answer["kind"] == "unexpectedNull"


def test_unsupported_version_is_refused(probe):
    answer = probe.call(op="decode", message="ApiVersionsRequest", version=99, hex="")
    assert answer["ok"] is False and answer["kind"] == "unsupportedVersion"


@pytest.mark.parametrize("message,version", [("FetchResponse", 12), ("ProduceRequest", 9), ("MetadataResponse", 1), ("JoinGroupRequest", 6)])
def test_every_prefix_of_a_kio_encoding_is_a_typed_error(probe, message, version):
    value = Builder("rich", seed=1).entity(kio_class(message, version))
    encoded = kio_encode(value)
    for end in range(len(encoded)):
        answer = probe.call(op="decode", message=message, version=version, hex=encoded[:end].hex())
        assert answer["ok"] is False, f"prefix of {end} bytes decoded"
        assert answer["kind"] in {"truncated", "invalidLength", "invalidCount", "malformedVarint"}, answer


def test_mutated_encodings_never_crash_the_decoder(probe):
    # Flip, drop and insert bytes in valid kio encodings: Rivulet must answer every time,
    # with a value or a typed error, and never bring the probe down.
    rng = random.Random(20261121)
    kinds = set()
    for message, version in [(p.values[0], p.values[1]) for p in api_cases(REQUIRED_APIS)]:
        encoded = bytearray(kio_encode(Builder("rich", seed=version).entity(kio_class(message, version))))
        for _ in range(12):
            mutated = bytearray(encoded)
            for _ in range(rng.randint(1, 3)):
                position = rng.randrange(len(mutated)) if mutated else 0
                action = rng.randrange(3)
                if action == 0 and mutated:
                    mutated[position] = rng.getrandbits(8)
                elif action == 1 and mutated:
                    del mutated[position]
                else:
                    mutated.insert(position, rng.choice([0x00, 0x7F, 0x80, 0xFF]))
            answer = probe.call(op="decode", message=message, version=version, hex=bytes(mutated).hex())
            if not answer["ok"]:
                assert answer["kind"] != "probe", answer
                kinds.add(answer["kind"])
    assert "truncated" in kinds
