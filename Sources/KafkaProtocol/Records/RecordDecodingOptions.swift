/// How strictly and how far record decoders go.
public struct RecordDecodingOptions: Sendable, Hashable {
    /// Check batch CRC-32C (magic 2) and message CRC-32 (magic 0/1). Turning it off
    /// only makes sense for data already verified, for example by the broker on produce.
    public var verifyChecksums: Bool
    /// The largest decompressed size accepted for one batch; larger is `tooLarge`.
    public var maxDecompressedBytes: Int
    /// Whether a partial batch at the end of a record set is expected. Fetch responses
    /// end with one whenever the broker cut at its byte limit, so readers of fetched
    /// data allow it and report its size; a broker validating a produce request does not.
    public var allowsIncompleteTail: Bool

    public init(verifyChecksums: Bool = true,
                maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes,
                allowsIncompleteTail: Bool = true) {
        self.verifyChecksums = verifyChecksums
        self.maxDecompressedBytes = maxDecompressedBytes
        self.allowsIncompleteTail = allowsIncompleteTail
    }

    public static let `default` = RecordDecodingOptions()
}
