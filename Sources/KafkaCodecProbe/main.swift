import Foundation

// KafkaCodecProbe: lets the Python interop tests drive Rivulet's codecs.
//   KafkaCodecProbe message ...   protocol messages (MessageProbe.swift)
//   KafkaCodecProbe batch ...     record batches (BatchProbe.swift)

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "message":
        try MessageProbe.run(Array(arguments.dropFirst()))
    case "batch":
        try BatchProbe.run(Array(arguments.dropFirst()))
    default:
        FileHandle.standardError.write(Data("usage: KafkaCodecProbe message|batch [arguments]\n".utf8))
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("KafkaCodecProbe: \(error)\n".utf8))
    exit(1)
}
