// KafkaProtocolFuzz: random and mutated frames against every decoder.
//
//   KafkaProtocolFuzz --seed S --iterations N
//
// Valid frames (record batches in every codec, control batches, legacy message sets,
// compressed blocks, and protocol messages from the registry) are generated from a
// seeded PRNG, mutated, and decoded. Any run replays exactly from its seed. Exit 0 with
// a summary line when nothing went wrong; 1 with the failures otherwise. A crash is a
// failure by itself.
import Foundation
import KafkaProtocol

var seed: UInt64 = 1
var iterations = 10_000
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--seed": seed = UInt64(arguments.popFirst() ?? "") ?? seed
    case "--iterations": iterations = Int(arguments.popFirst() ?? "") ?? iterations
    default:
        FileHandle.standardError.write(Data("usage: KafkaProtocolFuzz --seed S --iterations N\n".utf8))
        exit(2)
    }
}

let start = Date()
var fuzzer = Fuzzer(seed: seed, messageTypes: KafkaMessageRegistry.allMessageTypes)
for _ in 0..<iterations {
    fuzzer.iterate()
}
let seconds = Date().timeIntervalSince(start)

let targets = fuzzer.runs.keys.sorted().map { "\($0) \(fuzzer.runs[$0]!)/\(fuzzer.accepted[$0, default: 0]) ok" }
print("targets: " + targets.joined(separator: ", "))
print("messages: \(KafkaMessageRegistry.allMessageTypes.count) types, \(fuzzer.messageCases) type-versions, "
      + "\(fuzzer.messagesDecoded) decoded, \(fuzzer.messageRoundTripMismatches) round-trip mismatches")
for failure in fuzzer.failures {
    print("FAILURE: \(failure)")
}
print(String(format: "fuzz: seed %llu, %d iterations in %.1f s, %d failures", seed, iterations, seconds, fuzzer.failures.count))
exit(fuzzer.failures.isEmpty ? 0 : 1)
