/// How encoders treat a value that the version being written cannot carry.
///
/// Strict by default, as Kafka's Java client is: a request that sets a field its
/// negotiated version lacks fails with `KafkaProtocolError.fieldNotSupported`
/// instead of silently losing the value. A broker answering an old client does the
/// opposite: it builds one response and lets each version carry what it can, which is
/// what `withFieldsDroppedForOlderVersions` does for the encodes inside it.
public enum KafkaEncoding {
    @TaskLocal @usableFromInline static var dropsUnsupportedFields = false

    /// Whether encoders refuse non-default values of fields absent from the version.
    @inlinable
    public static var isStrict: Bool { !dropsUnsupportedFields }

    /// Runs `body` with encoders dropping fields that the version being written lacks.
    public static func withFieldsDroppedForOlderVersions<T>(_ body: () throws -> T) rethrows -> T {
        try $dropsUnsupportedFields.withValue(true, operation: body)
    }
}
