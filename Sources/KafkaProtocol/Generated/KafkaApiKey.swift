// PLACEHOLDER: replaced by the generator's output.
public struct KafkaApiKey: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public static let apiVersions = KafkaApiKey(rawValue: 18)
    public static let controlledShutdown = KafkaApiKey(rawValue: 7)
}
