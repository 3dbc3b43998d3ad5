import Foundation

// Placeholder: the record-batch probe is built on another branch and replaces this file in the merge.
enum BatchProbe {
    static func run(_ args: [String]) throws {
        FileHandle.standardError.write(Data("KafkaCodecProbe batch: not built on this branch\n".utf8))
        exit(2)
    }
}
