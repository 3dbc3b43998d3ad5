"""The streams runtime in real processes: the WordCount and PageViewEnrichment samples run as
workers of one application against the dev broker (`rivulet broker`), fed and read with
librdkafka (confluent-kafka), and compared with what a plain computation in the test gives.

Workers write their state and tasks to a JSON file on every state change (`--report-tasks`),
which is how the tests see who owns which task.
"""
import collections
import json
import random
import signal
import struct
import subprocess
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import bin_path
from test_dev_broker_clients import create_topic

SESSION_TIMEOUT_MS = 6000


class Worker:
    """One sample process, a member of the application's group."""

    def __init__(self, binary, tmp_path, name, args):
        self.name = name
        self.report = tmp_path / f"{name}.json"
        self.log_path = tmp_path / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(bin_path() / binary), *args,
             "--state-dir", str(tmp_path / f"state-{name}"),
             "--commit-interval-ms", "200",
             "--session-timeout-ms", str(SESSION_TIMEOUT_MS),
             "--report-tasks", str(self.report)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    def status(self):
        """(state, tasks) from the last report, or (None, None) before the first."""
        try:
            report = json.loads(self.report.read_text())
        except (OSError, ValueError):
            return None, None
        return report["state"], report["tasks"]

    def alive(self):
        return self.process.poll() is None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        """SIGTERM: commit, close the tasks, leave the group; returns the exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def tail(self):
        return self.log_path.read_bytes()[-3000:].decode(errors="replace")


def wait_for(condition, timeout, describe):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    assert condition(), describe()


def produce(bootstrap, topic, records):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "queue.buffering.max.messages": 1_000_000})
    for key, value in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0


def read_topic(bootstrap, topic):
    """Every record of a topic, from the beginning to the end offsets of now."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions if ends[p] > 0])
    remaining = {p for p in partitions if ends[p] > 0}
    records = []
    deadline = time.time() + 60
    while remaining and time.time() < deadline:
        for message in consumer.consume(10_000, timeout=0.5):
            if message.error():
                continue
            if message.offset() < ends[message.partition()]:
                records.append(message)
            if message.offset() >= ends[message.partition()] - 1:
                remaining.discard(message.partition())
    consumer.close()
    assert not remaining, f"could not read {topic} to its end"
    return records


def final_counts(bootstrap, topic):
    """The last value per key of a topic of word counts (value: 64-bit big-endian)."""
    counts = {}
    for message in read_topic(bootstrap, topic):
        counts[message.key().decode()] = struct.unpack(">q", message.value())[0]
    return counts


def caught_up(bootstrap, group, topics):
    """Whether the group's committed offsets are at the end of every partition of `topics`."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        for topic in topics:
            partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
            committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
            for tp in committed:
                end = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
                if end > 0 and tp.offset < end:
                    return False
        return True
    finally:
        consumer.close()


def committed_total(bootstrap, group, topic):
    """The sum over a topic's partitions of the group's committed offsets."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return sum(max(0, tp.offset) for tp in committed)
    finally:
        consumer.close()


def word_lines(count, seed):
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(300)] + ["kafka", "streams", "swift", "rivulet"]
    return [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 8))) for _ in range(count)]


def count_words(lines):
    counts = collections.Counter()
    for line in lines:
        counts.update(line.lower().split(" "))
    return dict(counts)


def test_wordcount_in_three_workers_survives_a_sigkill_and_a_new_worker(dev_broker, tmp_path):
    bootstrap = dev_broker.bootstrap
    app = "wordcount-interop"
    create_topic(bootstrap, "text-lines", 4)
    create_topic(bootstrap, "word-counts", 4)
    lines = word_lines(100_000, seed=2026)
    first, second = lines[:50_000], lines[50_000:]
    produce(bootstrap, "text-lines", [(None, line.encode()) for line in first])

    args = ["--bootstrap", bootstrap, "--application-id", app, "--input", "text-lines", "--output", "word-counts"]
    workers = [Worker("WordCount", tmp_path, f"worker-{i}", args) for i in range(3)]
    try:
        def all_running(group):
            return all(w.alive() and w.status()[0] == "running" for w in group)
        wait_for(lambda: all_running(workers) and sum(len(w.status()[1]) for w in workers) == 8, 60,
                 lambda: [(w.name, w.status(), w.tail()) for w in workers])
        # 8 tasks (2 sub-topologies x 4 partitions) over 3 workers: 3, 3 and 2.
        assert sorted(len(w.status()[1]) for w in workers) == [2, 3, 3]
        owned = [task for w in workers for task in w.status()[1]]
        assert sorted(owned) == sorted(f"{s}_{p}" for s in range(2) for p in range(4))

        expected = count_words(first)
        repartition = f"{app}-counts-repartition"
        # Everything processed and committed: the kill below loses nothing that is not redone.
        wait_for(lambda: caught_up(bootstrap, app, ["text-lines", repartition]), 180,
                 lambda: [(w.name, w.status(), w.tail()) for w in workers])
        assert final_counts(bootstrap, "word-counts") == expected

        victim = workers[0]
        victim_tasks = victim.status()[1]
        assert victim_tasks
        victim.kill()
        newcomer = Worker("WordCount", tmp_path, "worker-3", args)
        workers = workers[1:] + [newcomer]
        produce(bootstrap, "text-lines", [(None, line.encode()) for line in second])

        # The group notices the dead member after the session timeout, and the new member takes
        # tasks over (restoring their counts from the changelog, its state directory is empty).
        wait_for(lambda: all_running(workers) and sorted(len(w.status()[1]) for w in workers) == [2, 3, 3], 90,
                 lambda: [(w.name, w.status(), w.tail()) for w in workers])
        wait_for(lambda: caught_up(bootstrap, app, ["text-lines", repartition]), 180,
                 lambda: [(w.name, w.status(), w.tail()) for w in workers])
        assert final_counts(bootstrap, "word-counts") == count_words(lines)

        # At least once: a worker killed while processing loses nothing. Its uncommitted work is
        # redone by the worker that takes its tasks over, so counts may come out higher, never lower.
        third = word_lines(20_000, seed=7)
        before = committed_total(bootstrap, app, "text-lines")
        produce(bootstrap, "text-lines", [(None, line.encode()) for line in third])
        # Kill once part of the new lines is processed and committed (or all of it, on a fast machine).
        wait_for(lambda: committed_total(bootstrap, app, "text-lines") > before, 60,
                 lambda: [(w.name, w.status(), w.tail()) for w in workers])
        victim = next(w for w in workers if w.status()[1])
        victim.kill()
        replacement = Worker("WordCount", tmp_path, "worker-4", args)
        workers = [w for w in workers if w is not victim] + [replacement]
        wait_for(lambda: all_running(workers) and sorted(len(w.status()[1]) for w in workers) == [2, 3, 3], 90,
                 lambda: [(w.name, w.status(), w.tail()) for w in workers])
        wait_for(lambda: caught_up(bootstrap, app, ["text-lines", repartition]), 180,
                 lambda: [(w.name, w.status(), w.tail()) for w in workers])
        counts = final_counts(bootstrap, "word-counts")
        expected = count_words(lines + third)
        assert counts.keys() == expected.keys()
        assert all(counts[word] >= expected[word] for word in expected), \
            {word: (counts[word], expected[word]) for word in expected if counts[word] < expected[word]}
    finally:
        codes = [w.stop() for w in workers]
    assert codes == [0, 0, 0], [w.tail() for w in workers]


def test_pageview_tasks_spread_over_one_to_seven_workers(dev_broker, tmp_path):
    bootstrap = dev_broker.bootstrap
    app = "pageviews-interop"
    for topic in ("page-views", "user-profiles", "enriched-page-views"):
        create_topic(bootstrap, topic, 6)
    args = ["--bootstrap", bootstrap, "--application-id", app]
    all_tasks = sorted(f"0_{p}" for p in range(6))
    workers = []

    def settled(expected_counts):
        def check():
            statuses = [w.status() for w in workers]
            if not all(w.alive() for w in workers) or any(state != "running" for state, _ in statuses):
                return False
            owned = [task for _, tasks in statuses for task in tasks]
            return sorted(owned) == all_tasks and sorted(len(t) for _, t in statuses) == sorted(expected_counts)
        return check

    def describe():
        return [(w.name, w.status(), w.tail()[-800:]) for w in workers]

    try:
        # 1, 2, 3 and 6 workers each own 6/N tasks (one sub-topology: the join).
        for total in (1, 2, 3, 6):
            while len(workers) < total:
                workers.append(Worker("PageViewEnrichment", tmp_path, f"worker-{len(workers)}", args))
            wait_for(settled([6 // total] * total), 90, describe)

        # A seventh owns nothing...
        seventh = Worker("PageViewEnrichment", tmp_path, "worker-6", args)
        workers.append(seventh)
        wait_for(settled([1] * 6 + [0]), 90, describe)
        assert seventh.status()[1] == []

        # ...until another leaves: then it takes the task over.
        leaving = workers[2]
        leaving_tasks = leaving.status()[1]
        assert leaving.stop() == 0
        workers.remove(leaving)
        wait_for(settled([1] * 6), 90, describe)
        assert seventh.status()[1] == leaving_tasks

        # And the joins are right: profiles first, then views of known and unknown users.
        produce(bootstrap, "user-profiles", [
            (f"user-{u}".encode(), json.dumps({"name": f"name-{u}", "region": ["eu", "us", "apac"][u % 3]}).encode())
            for u in range(30)])
        wait_for(lambda: caught_up(bootstrap, app, ["user-profiles"]), 60, describe)
        views = [(f"user-{i % 40}", {"page": f"/page/{i}", "durationMs": i}) for i in range(400)]
        produce(bootstrap, "page-views", [(user.encode(), json.dumps(view).encode()) for user, view in views])
        wait_for(lambda: caught_up(bootstrap, app, ["page-views"]), 60, describe)
        enriched = read_topic(bootstrap, "enriched-page-views")
        got = sorted((m.key().decode(), json.loads(m.value())["page"], json.loads(m.value()).get("region")) for m in enriched)
        want = sorted((user, view["page"], ["eu", "us", "apac"][int(user[5:]) % 3] if int(user[5:]) < 30 else None)
                      for user, view in views)
        assert got == want
    finally:
        codes = [w.stop() for w in workers]
    assert all(code == 0 for code in codes), describe()
