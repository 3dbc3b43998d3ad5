// KafkaCodecProbe: drives Rivulet's codecs from the Python interop tests.
// Usage: KafkaCodecProbe <probe> [arguments...]; each probe documents its own protocol.
import Foundation

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: KafkaCodecProbe batch", status: 2) }
do {
    switch arguments[1] {
    case "batch":
        try BatchProbe.run(Array(arguments.dropFirst(2)))
    default:
        fail("unknown probe \(arguments[1])", status: 2)
    }
} catch {
    fail("KafkaCodecProbe: \(error)", status: 1)
}
