import NIOCore

extension Serde {
    /// A serde of `Wrapped?` where `nil` is null: keyless records, tombstones. Use it where null
    /// is a legitimate value, e.g. `Consumed.with(.optional(.string), .string)` for a topic whose
    /// records have no key.
    public static func optional<Wrapped>(_ wrapped: Serde<Wrapped>) -> Serde<Wrapped?> where T == Wrapped? {
        let writer = wrapped.writer
        let reader = wrapped.reader
        return Serde<Wrapped?>(
            writer: { value, buffer in
                guard let value else { return false }
                return try writer(value, &buffer)
            },
            reader: { bytes in try reader(bytes) },
            nullValue: { nil }
        )
    }
}
