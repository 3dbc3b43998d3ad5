import Foundation
import KafkaBroker
import KafkaProtocol
import NIOCore
import Testing
@testable import KafkaClient

/// Reconnecting to an unreachable broker backs off exponentially (with ±20 % jitter) up to
/// `reconnectBackoffMax`, and the first success resets the backoff.
@Suite struct ReconnectBackoffTests {
    @Test func attemptsToAnUnreachableBrokerBackOffExponentiallyUpToTheCap() async throws {
        let port = try await freePort()
        var configuration = try ClientConfiguration(bootstrap: "127.0.0.1:\(port)")
        configuration.reconnectBackoff = .milliseconds(200)
        configuration.reconnectBackoffMax = .milliseconds(800)
        let cluster = KafkaCluster(configuration: configuration)
        let address = try BrokerAddress(parsing: "127.0.0.1:\(port)")

        var waits: [Duration] = []
        for _ in 0..<5 {
            let started = ContinuousClock.now
            await #expect(throws: KafkaClientError.self) { _ = try await cluster.connection(to: address) }
            waits.append(ContinuousClock.now - started)
        }
        // Before attempt n (n ≥ 2) the cluster waits 200 ms · 2^(n-2), capped at 800 ms, ±20 %.
        // The waits are at least that (a busy machine can only make them longer, so the exact
        // schedule and its cap are checked on the computation itself, below); the loose upper
        // bound only shows that no attempt hangs.
        for (index, expected) in [(1, 200), (2, 400), (3, 800), (4, 800)] {
            #expect(waits[index] >= .milliseconds(Int64(Double(expected) * 0.8) - 5), "attempt \(index + 1) waited \(waits[index])")
            #expect(waits[index] < .seconds(15), "attempt \(index + 1) waited \(waits[index])")
        }

        // Once the broker is there, the next attempt connects (after the pending backoff) and resets it.
        var brokerConfiguration = BrokerConfiguration(dataDirectory: NSTemporaryDirectory() + "rivulet-backoff-" + UUID().uuidString)
        brokerConfiguration.port = port
        let broker = try await EmbeddedBroker.start(brokerConfiguration)
        let connection = try await cluster.connection(to: address)
        #expect(connection.isActive)
        await cluster.close()
        await broker.shutdown()
        try? FileManager.default.removeItem(atPath: brokerConfiguration.dataDirectory)
    }

    @Test func theScheduleDoublesFromTheBaseUpToTheCapAndJitterScalesIt() {
        let schedule = (0...6).map {
            KafkaCluster.reconnectBackoff(afterFailures: $0, base: .milliseconds(200), max: .milliseconds(800), jitter: 1)
        }
        #expect(schedule == [.zero, .milliseconds(200), .milliseconds(400), .milliseconds(800),
                             .milliseconds(800), .milliseconds(800), .milliseconds(800)])
        #expect(KafkaCluster.reconnectBackoff(afterFailures: 2, base: .milliseconds(200), max: .seconds(1), jitter: 0.8)
                == .milliseconds(320))
        #expect(KafkaCluster.reconnectBackoff(afterFailures: 9, base: .milliseconds(200), max: .seconds(1), jitter: 1.2)
                == .milliseconds(1200))
        // A long outage does not overflow the doubling.
        #expect(KafkaCluster.reconnectBackoff(afterFailures: 10_000, base: .milliseconds(50), max: .seconds(30), jitter: 1)
                == .seconds(30))
    }

    /// A port nothing listens on: bound by a throwaway dev broker, which is then stopped.
    private func freePort() async throws -> Int {
        var configuration = BrokerConfiguration(dataDirectory: NSTemporaryDirectory() + "rivulet-port-" + UUID().uuidString)
        configuration.port = 0
        let broker = try await EmbeddedBroker.start(configuration)
        let port = broker.port
        await broker.shutdown()
        try? FileManager.default.removeItem(atPath: configuration.dataDirectory)
        return port
    }
}
