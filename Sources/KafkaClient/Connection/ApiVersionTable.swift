import KafkaProtocol

/// The API versions a broker offers, as learned from ApiVersions when connecting.
public struct ApiVersionTable: Sendable, Equatable {
    public private(set) var ranges: [Int16: ClosedRange<Int16>]

    public init(ranges: [Int16: ClosedRange<Int16>]) {
        self.ranges = ranges
    }

    init(_ response: ApiVersionsResponse) {
        var ranges: [Int16: ClosedRange<Int16>] = [:]
        for api in response.apiKeys where api.minVersion <= api.maxVersion {
            ranges[api.apiKey] = api.minVersion...api.maxVersion
        }
        self.init(ranges: ranges)
    }

    /// The broker's range for an API, or `nil` when it does not offer it.
    public func range(for apiKey: KafkaApiKey) -> ClosedRange<Int16>? {
        ranges[apiKey.rawValue]
    }

    /// The highest version both sides support, or `nil` when the ranges do not overlap.
    public func highestCommonVersion<M: KafkaApiMessage>(for message: M.Type) -> Int16? {
        guard let broker = ranges[M.apiKey.rawValue] else { return nil }
        let low = max(broker.lowerBound, M.validVersions.lowerBound)
        let high = min(broker.upperBound, M.validVersions.upperBound)
        return low <= high ? high : nil
    }
}
