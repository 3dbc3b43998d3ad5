"""Word count with Quix Streams, the peer of Rivulet's WordCount sample in
streams_wordcount.py: split lines into words, re-key by word (a repartition topic), count
per word in state (RocksDB, with a changelog topic), write every count to the output topic.

    python quix_wordcount.py BOOTSTRAP APPLICATION_ID INPUT OUTPUT STATE_DIR
"""
import sys

from quixstreams import Application


def main():
    bootstrap, application_id, input_topic, output_topic, state_dir = sys.argv[1:6]
    app = Application(
        broker_address=bootstrap, consumer_group=application_id, auto_offset_reset="earliest",
        state_dir=state_dir, commit_interval=1.0, processing_guarantee="at-least-once", loglevel="WARNING",
    )
    lines = app.topic(input_topic, key_deserializer="bytes", value_deserializer="str")
    counts = app.topic(output_topic, key_serializer="str", value_serializer="json")
    sdf = app.dataframe(lines)
    sdf = sdf.apply(lambda line: line.lower().split(" "), expand=True)
    sdf = sdf.group_by(lambda word: word, name="word")

    def count(word, state):
        total = state.get("count", 0) + 1
        state.set("count", total)
        return total

    sdf = sdf.apply(count, stateful=True)
    sdf.to_topic(counts)
    app.run()


if __name__ == "__main__":
    main()
