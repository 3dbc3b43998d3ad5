// KafkaProtocolFuzz: random and mutated frames against every decoder.
//
//   KafkaProtocolFuzz --seed S --iterations N [--sample-messages]
//
// --sample-messages adds a small built-in message type to the registry's, to exercise
// the message path while the generated registry is empty.
// Valid frames (record batches in every codec, control batches, legacy message sets,
// compressed blocks, and protocol messages from the registry) are generated from a
// seeded PRNG, mutated, and decoded. Any run replays exactly from its seed. Exit 0 with
// a summary line when nothing went wrong; 1 with the failures otherwise. A crash is a
// failure by itself.
import Foundation
import KafkaProtocol

var seed: UInt64 = 1
var iterations = 10_000
var sampleMessages = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--seed": seed = UInt64(arguments.popFirst() ?? "") ?? seed
    case "--iterations": iterations = Int(arguments.popFirst() ?? "") ?? iterations
    case "--sample-messages": sampleMessages = true
    default:
        FileHandle.standardError.write(Data("usage: KafkaProtocolFuzz --seed S --iterations N [--sample-messages]\n".utf8))
        exit(2)
    }
}

let start = Date()
let messageTypes = KafkaMessageRegistry.allMessageTypes + (sampleMessages ? [SampleMessage.self] : [])
var fuzzer = Fuzzer(seed: seed, messageTypes: messageTypes)
for _ in 0..<iterations {
    fuzzer.iterate()
}
let seconds = Date().timeIntervalSince(start)

let targets = fuzzer.runs.keys.sorted().map { "\($0) \(fuzzer.runs[$0]!)/\(fuzzer.accepted[$0, default: 0]) ok" }
print("targets: " + targets.joined(separator: ", "))
print("messages: \(messageTypes.count) types, \(fuzzer.messageCases) type-versions, "
      + "\(fuzzer.messagesDecoded) decoded, \(fuzzer.messageRoundTripMismatches) round-trip mismatches")
for failure in fuzzer.failures {
    print("FAILURE: \(failure)")
}
print(String(format: "fuzz: seed %llu, %d iterations in %.1f s, %d failures", seed, iterations, seconds, fuzzer.failures.count))
exit(fuzzer.failures.isEmpty ? 0 : 1)
