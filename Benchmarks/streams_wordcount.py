"""Streams throughput: Rivulet's WordCount sample against the same word count in Quix Streams,
each with one worker and one thread, on one dev broker (`rivulet broker`), in the same run.

Run by `make bench`:

    .venv-bench/bin/python Benchmarks/streams_wordcount.py --rivulet .build/release/rivulet \
        --wordcount .build/release/WordCount --output docs/benchmarks.md

Both applications read the same lines (written before either starts) from single-partition
topics of their own, re-key by word through a repartition topic, count in a RocksDB store with
a changelog, and write counts out, at least once, committing every second. The time measured
runs from launching the application's process to the moment the output holds the final count
of every word (a librdkafka consumer keeps the latest value per key); throughput is input lines
(and words) per second. The result replaces the text between the streams-bench markers.

The input is a million lines by default, so the figure is the applications' steady pace: with
100,000 lines Rivulet's run lasts about two seconds, and start-up and the commit interval (its
cached counts are written out when a commit flushes them, once a second) decide most of it.
"""
import argparse
import collections
import json
import random
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from benchlib import free_port, machine, stop, wait_for_port, write_section

START_MARKER = "<!-- streams-bench:start -->"
END_MARKER = "<!-- streams-bench:end -->"
HERE = Path(__file__).resolve().parent


def make_lines(count, seed=42):
    rng = random.Random(seed)
    vocabulary = [f"word{i}" for i in range(1000)]
    return [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(3, 12))) for _ in range(count)]


def produce(bootstrap, topic, lines):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "queue.buffering.max.messages": 2_000_000})
    for line in lines:
        while True:
            try:
                producer.produce(topic, value=line.encode())
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(120) == 0


def run_and_time(command, bootstrap, output_topic, expected, decode, timeout, log_path):
    """Launches `command`, returns the seconds until `output_topic` holds `expected` as final values."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-reader-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([output_topic])
    latest = {}
    missing = set(expected)
    first_output = None
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            while missing:
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"{command[0]}: {len(missing)} words without their final count after {timeout}s")
                if process.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited with {process.returncode}; see {log_path}")
                for message in consumer.consume(10_000, timeout=0.2):
                    if message.error() or message.key() is None:
                        continue
                    if first_output is None:
                        first_output = time.perf_counter() - started
                    word = message.key().decode()
                    value = decode(message.value())
                    latest[word] = value
                    if value == expected.get(word):
                        missing.discard(word)
                    else:
                        missing.add(word)
            elapsed = time.perf_counter() - started
            print(f"{Path(command[0]).name}: first output after {first_output:.2f} s, every final count after {elapsed:.2f} s", flush=True)
        finally:
            stop(process, timeout=60)
            consumer.close()
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rivulet", required=True, help="the rivulet CLI (dev broker)")
    parser.add_argument("--wordcount", required=True, help="the WordCount sample")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--rivulet-only", action="store_true", help="skip Quix Streams (while working on Rivulet)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rivulet-streams-bench-"))
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = subprocess.Popen([args.rivulet, "broker", "--listen", bootstrap, "--data-dir", str(work / "broker")],
                              stdout=open(work / "broker.log", "wb"), stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, broker)
        lines = make_lines(args.lines)
        expected = dict(collections.Counter(word for line in lines for word in line.lower().split(" ")))
        words = sum(expected.values())
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topics = ["rivulet-lines", "rivulet-counts", "quix-lines", "quix-counts"]
        for future in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
            future.result(timeout=30)
        produce(bootstrap, "rivulet-lines", lines)
        produce(bootstrap, "quix-lines", lines)
        print(f"{args.lines} lines, {words} words, {len(expected)} distinct", flush=True)

        rivulet = run_and_time(
            [args.wordcount, "--bootstrap", bootstrap, "--application-id", "bench-rivulet", "--input", "rivulet-lines",
             "--output", "rivulet-counts", "--threads", "1", "--commit-interval-ms", "1000", "--state-dir", str(work / "rivulet-state")],
            bootstrap, "rivulet-counts", expected, lambda value: struct.unpack(">q", value)[0], args.timeout, work / "rivulet.log")
        print(f"Rivulet: {rivulet:.2f} s, {args.lines / rivulet:,.0f} lines/s", flush=True)
        if args.rivulet_only:
            return
        quix = run_and_time(
            [sys.executable, str(HERE / "quix_wordcount.py"), bootstrap, "bench-quix", "quix-lines", "quix-counts", str(work / "quix-state")],
            bootstrap, "quix-counts", expected, lambda value: json.loads(value), args.timeout, work / "quix.log")
        print(f"Quix Streams: {quix:.2f} s, {args.lines / quix:,.0f} lines/s", flush=True)
    finally:
        stop(broker, timeout=30)

    import quixstreams
    ratio = quix / rivulet
    text = f"""## Streams: word count against Quix Streams

{args.lines:,} lines ({words:,} words, {len(expected):,} distinct) in a one-partition topic of the dev
broker (release build); one worker process with one thread each. Both split lines, re-key by word
through a repartition topic, count in a RocksDB store backed by a changelog, write counts to a topic,
at least once, committing every second. Time: from launching the process until the output topic holds
the final count of every word (so start-up, group join and the last commit are included; Rivulet's
cached counts reach the output at the commit after the last record, up to a second later).

| application | seconds | lines/s | words/s |
| --- | ---: | ---: | ---: |
| Rivulet `WordCount` | {rivulet:.2f} | {args.lines / rivulet:,.0f} | {words / rivulet:,.0f} |
| Quix Streams {quixstreams.__version__} | {quix:.2f} | {args.lines / quix:,.0f} | {words / quix:,.0f} |

Rivulet / Quix Streams: **{ratio:.1f}x** (target ≥ 10x). Machine: {machine()}; measured
{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, with the broker, the application and the
reading consumer sharing the cores."""
    print(text)
    if args.output:
        write_section(args.output, START_MARKER, END_MARKER, text)


if __name__ == "__main__":
    main()
