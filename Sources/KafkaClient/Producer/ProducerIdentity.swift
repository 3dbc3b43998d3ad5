/// The producer id and epoch a broker assigned with InitProducerId: the identity under which
/// an idempotent (or transactional) producer's sequence numbers count.
public struct ProducerIdentity: Sendable, Hashable, CustomStringConvertible {
    public var producerId: Int64
    public var epoch: Int16

    public init(producerId: Int64, epoch: Int16) {
        self.producerId = producerId
        self.epoch = epoch
    }

    public var description: String { "producer \(producerId) epoch \(epoch)" }
}
