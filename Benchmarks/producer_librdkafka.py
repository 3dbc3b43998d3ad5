"""librdkafka's side of RivuletBench's producer comparison (run by RivuletBench, group `producer`).

Sends COUNT records of SIZE bytes (no key, so librdkafka's sticky partitioning spreads them over
the topic's partitions) with acks=all, idempotence and lz4, waits until every one is acknowledged,
and prints {"seconds": ..., "records": ...} as JSON. Delivery is checked without a per-message
Python callback, which would measure Python rather than librdkafka: errors go to error_cb, and
the caller checks the topic's end offsets afterwards.
"""
import argparse
import json
import time

from confluent_kafka import Producer

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap", required=True)
parser.add_argument("--topic", required=True)
parser.add_argument("--count", type=int, default=1_000_000)
parser.add_argument("--size", type=int, default=100)
args = parser.parse_args()

errors = []
producer = Producer({
    "bootstrap.servers": args.bootstrap,
    "acks": "all",
    "enable.idempotence": True,
    "compression.type": "lz4",
    "error_cb": lambda error: errors.append(str(error)),
})
# Warm up: connections, metadata and the producer id, outside the timed part.
producer.produce(args.topic, b"warm-up")
producer.flush(30)

value = bytes((i * 7 + 13) % 26 + 97 for i in range(args.size))
produce = producer.produce
poll = producer.poll
start = time.perf_counter()
sent = 0
while sent < args.count:
    try:
        produce(args.topic, value)
        sent += 1
    except BufferError:
        # The local queue is full (queue.buffering.max.messages): let deliveries drain.
        poll(0.001)
remaining = producer.flush(120)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "records": sent - remaining, "errors": errors[:5],
                  "librdkafka": __import__("confluent_kafka").libversion()[0]}))
