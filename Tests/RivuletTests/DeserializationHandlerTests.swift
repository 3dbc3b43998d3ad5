import Rivulet
import RivuletTestDriver
import Synchronization
import Testing

@Suite struct DeserializationHandlerTests {
    private func topology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("in", Consumed.with(.string, .int64)).mapValues { $0 * 2 }.to("out")
        return try builder.build()
    }

    @Test func logAndContinueSkipsTheRecord() throws {
        let config = StreamsConfig(applicationId: "app", deserializationExceptionHandler: .logAndContinue)
        let driver = try TopologyTestDriver(try topology(), config: config)
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .int64)
        try input.pipeInput("a", 1)
        try input.pipeRawInput(key: Array("b".utf8), value: [1, 2, 3])   // three bytes are no Int64
        try input.pipeRawInput(key: nil, value: [0, 0, 0, 0, 0, 0, 0, 1]) // null key for a String key
        try input.pipeInput("c", 21)
        #expect(try driver.createOutputTopic("out", keySerde: .string, valueSerde: .int64).readKeyValuesToList()
                == [KeyValue("a", 2), KeyValue("c", 42)])
    }

    @Test func logAndFailStopsProcessing() throws {
        let driver = try TopologyTestDriver(try topology())   // the default handler fails
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .int64)
        try input.pipeInput("a", 1)
        do {
            try input.pipeRawInput(key: Array("b".utf8), value: [1, 2, 3])
            Issue.record("expected a deserialization failure")
        } catch StreamsError.deserialization(let source, let record, let underlying) {
            #expect(source == "KSTREAM-SOURCE-0000000000")
            #expect(record.offset == 1)
            #expect(underlying as? SerdeError == .wrongSize(type: "Int64", expected: 8, actual: 3))
        }
    }

    @Test func customHandlersSeeTheFailure() throws {
        let seen = Mutex<[Int64]>([])
        let handler = DeserializationExceptionHandler { failure in
            seen.withLock { $0.append(failure.record.offset) }
            return .continue
        }
        let driver = try TopologyTestDriver(try topology(), config: StreamsConfig(applicationId: "app", deserializationExceptionHandler: handler))
        defer { try? driver.close() }
        let input = driver.createInputTopic("in", keySerde: .string, valueSerde: .int64)
        try input.pipeInput("a", 1)
        try input.pipeRawInput(key: Array("x".utf8), value: [])
        try input.pipeInput("b", 2)
        try input.pipeRawInput(key: Array("y".utf8), value: [9])
        #expect(seen.withLock { $0 } == [1, 3])
    }
}
