// RivuletInteropProbe: lets the Python interop tests (Tests/interop/test_client_producer.py)
// drive Rivulet's producer against real brokers, with librdkafka as the independent peer.
//
//   RivuletInteropProbe produce --bootstrap HOST:PORT [options] < records.jsonl > results.jsonl
//   RivuletInteropProbe stream --bootstrap HOST:PORT --topic T --count N [options]
//   RivuletInteropProbe transact --bootstrap HOST:PORT --transactional-id ID < commands.jsonl > results.jsonl
import ArgumentParser

@main
struct RivuletInteropProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "RivuletInteropProbe",
        abstract: "Test support: Rivulet's producer driven from JSON lines.",
        subcommands: [ProduceProbe.self, StreamProbe.self, TransactionProbe.self]
    )
}
