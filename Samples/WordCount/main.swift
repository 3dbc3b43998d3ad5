// Word count, the "hello world" of stream processing, run in-process by the test driver:
// `swift run WordCount`. docs/streams.md walks through it.
import Rivulet
import RivuletTestDriver

let builder = StreamsBuilder()
builder.stream("text-lines", Consumed.with(.optional(.string), .string))
    .flatMapValues { line in line.lowercased().split(separator: " ").map(String.init) }
    .groupBy(Grouped.with(.string, .string)) { _, word in word }
    .count(Materialized.as("counts"))
    .toStream()
    .to("word-counts", Produced.with(.string, .int64))
let topology = try builder.build()
print(topology.describe())

let driver = try TopologyTestDriver(topology, config: StreamsConfig(applicationId: "wordcount"))
let lines = driver.createInputTopic("text-lines", keySerde: .optional(.string), valueSerde: .string)
let counts = driver.createOutputTopic("word-counts", keySerde: .string, valueSerde: .int64)

for line in ["all streams lead to kafka", "hello kafka streams", "join kafka summit"] {
    try lines.pipeInput(line)
}
for record in try counts.readKeyValuesToList() {
    print("\(record.key)\t\(record.value)")
}
let store = driver.getKeyValueStore("counts", keyType: String.self, valueType: Int64.self)
print("kafka was seen \(try store?.get("kafka") ?? 0) times")
try driver.close()
