import Rivulet

/// Word count: lines of text in, the running count of every word out, keyed by word.
enum WordCountTopology {
    /// The topology of docs/streams.md, reading `input` and writing `output`.
    static func build(input: String, output: String) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream(input, Consumed.with(.optional(.string), .string))
            // Split on the space scalar: splitting the String itself on the Character " " walks
            // grapheme clusters, about three times the work per line.
            .flatMapValues { line in line.lowercased().unicodeScalars.split(separator: " ").map(String.init) }
            .groupBy(Grouped.with(.string, .string)) { _, word in word }
            .count(Materialized.as("counts"))
            .toStream()
            .to(output, Produced.with(.string, .int64))
        return try builder.build()
    }
}
