import KafkaProtocol
import NIOCore

/// A request frame ready to send: header and body already encoded off the event loop,
/// with the correlation id left for the handler to fill in.
struct OutboundKafkaRequest {
    /// Size prefix, request header and body. The correlation id is patched at `correlationIdOffset`.
    var frame: ByteBuffer
    var apiName: String
    /// `false` for Produce with acks=0, the one request a broker never answers.
    var expectsResponse: Bool
    var timeout: TimeAmount
    /// Completed with the response frame (response header and body), or with an empty
    /// buffer once written when no response is expected.
    var promise: EventLoopPromise<ByteBuffer>

    /// Frame size (4), api key (2), api version (2): the correlation id follows.
    static let correlationIdOffset = 8
}

/// Matches responses to requests by correlation id on one connection.
///
/// Kafka answers requests on a connection in order, so any number may be in flight
/// (pipelining); the handler still looks responses up by id so that a broker answering
/// out of order is detected instead of mis-delivered. All state lives on the channel's
/// event loop.
final class KafkaRequestHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundKafkaRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var apiName: String
        var promise: EventLoopPromise<ByteBuffer>
        var timeoutTask: Scheduled<Void>?
    }

    private let broker: BrokerAddress
    private var nextCorrelationId: Int32 = 1
    private var pending: [Int32: Pending] = [:]
    private var closedError: KafkaClientError?

    init(broker: BrokerAddress) {
        self.broker = broker
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise writePromise: EventLoopPromise<Void>?) {
        var request = unwrapOutboundIn(data)
        if let closedError {
            request.promise.fail(closedError)
            writePromise?.fail(closedError)
            return
        }
        let correlationId = nextCorrelationId
        nextCorrelationId = nextCorrelationId == Int32.max ? 1 : nextCorrelationId + 1
        request.frame.setInteger(correlationId, at: request.frame.readerIndex + OutboundKafkaRequest.correlationIdOffset, endianness: .big)

        if request.expectsResponse {
            let timeoutMs = Int64(request.timeout.nanoseconds / 1_000_000)
            let apiName = request.apiName
            let broker = self.broker
            let timeoutTask = context.eventLoop.assumeIsolated().scheduleTask(in: request.timeout) { [weak self] in
                guard let self, let entry = self.pending.removeValue(forKey: correlationId) else { return }
                entry.promise.fail(KafkaClientError.requestTimedOut(broker: broker, api: apiName, timeoutMs: timeoutMs))
            }
            pending[correlationId] = Pending(apiName: request.apiName, promise: request.promise, timeoutTask: timeoutTask)
            context.write(wrapOutboundOut(request.frame), promise: writePromise)
        } else {
            let responsePromise = request.promise
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { result in
                switch result {
                case .success: responsePromise.succeed(ByteBuffer())
                case .failure(let error): responsePromise.fail(error)
                }
            }
            written.futureResult.cascade(to: writePromise)
            context.write(wrapOutboundOut(request.frame), promise: written)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let correlationId = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int32.self),
              let entry = pending.removeValue(forKey: correlationId)
        else {
            let received = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int32.self) ?? -1
            failAll(KafkaClientError.unexpectedCorrelationId(broker: broker, received: received))
            context.close(promise: nil)
            return
        }
        entry.timeoutTask?.cancel()
        entry.promise.succeed(frame)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(KafkaClientError.connectionClosed(broker: broker))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let protocolError = error as? KafkaProtocolError {
            failAll(KafkaClientError.malformedResponse(broker: broker, api: "frame", error: protocolError))
        } else {
            failAll(KafkaClientError.connectionClosed(broker: broker))
        }
        context.close(promise: nil)
    }

    private func failAll(_ error: KafkaClientError) {
        if closedError == nil { closedError = error }
        let entries = pending
        pending.removeAll()
        for entry in entries.values {
            entry.timeoutTask?.cancel()
            entry.promise.fail(error)
        }
    }
}
