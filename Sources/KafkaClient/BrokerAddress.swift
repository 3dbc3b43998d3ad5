/// A broker's host and port, as given in bootstrap servers or advertised in metadata.
public struct BrokerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[ipv6]:port`, or `host` (port 9092).
    public init(parsing text: String) throws {
        var rest = Substring(text.trimmingPrefix("tcp://"))
        var host: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw KafkaClientError.invalidAddress(text) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            rest = rest[rest.index(after: close)...]
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            rest = rest[colon...]
        } else {
            host = rest
            rest = ""
        }
        var port = 9092
        if !rest.isEmpty {
            guard rest.hasPrefix(":"), let parsed = Int(rest.dropFirst()), (1...65535).contains(parsed) else {
                throw KafkaClientError.invalidAddress(text)
            }
            port = parsed
        }
        guard !host.isEmpty else { throw KafkaClientError.invalidAddress(text) }
        self.init(host: String(host), port: port)
    }

    /// Parses a comma-separated bootstrap list.
    public static func parseList(_ text: String) throws -> [BrokerAddress] {
        let addresses = try text.split(separator: ",").map { try BrokerAddress(parsing: String($0).trimmingWhitespace()) }
        guard !addresses.isEmpty else { throw KafkaClientError.invalidAddress(text) }
        return addresses
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension String {
    func trimmingWhitespace() -> String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
