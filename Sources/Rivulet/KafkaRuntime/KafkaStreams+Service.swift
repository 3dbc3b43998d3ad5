import ServiceLifecycle

extension KafkaStreams: Service {
    /// Starts the application and runs it until graceful shutdown (SIGTERM, SIGINT through a
    /// `ServiceGroup`) or cancellation, then closes it. Throws what stopped it if a stream thread
    /// failed, or what `start()` threw.
    public func run() async throws {
        try await start()
        await withTaskCancellationOrGracefulShutdownHandler {
            await self.awaitThreads()
        } onCancelOrGracefulShutdown: {
            for thread in self.currentThreads { thread.requestStop() }
        }
        await close()
        if state == .error, let failure { throw failure }
    }
}
