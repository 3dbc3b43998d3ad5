import KafkaProtocol

/// Why DescribeGroups could not turn a member's assignment bytes into partitions.
///
/// The bytes themselves are kept in `GroupDescription.Member.rawAssignment`: nothing the
/// coordinator reported is dropped.
public enum MemberAssignmentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The group runs a protocol other than "consumer" (Kafka Connect's "connect", a custom one):
    /// its assignment bytes have a format only that protocol's members know.
    case notConsumerProtocol(protocolType: String)
    /// The group says "consumer" but the bytes are not a consumer protocol assignment.
    case malformed(KafkaProtocolError)

    public var description: String {
        switch self {
        case .notConsumerProtocol(let protocolType):
            return "not a consumer protocol assignment (the group's protocol type is '\(protocolType)')"
        case .malformed(let error):
            return "malformed consumer protocol assignment: \(error)"
        }
    }
}
