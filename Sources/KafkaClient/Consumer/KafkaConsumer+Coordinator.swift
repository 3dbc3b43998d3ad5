import KafkaProtocol

extension KafkaConsumer {
    /// The group id; callers have checked it exists.
    var groupId: String { configuration.groupId! }

    /// The dedicated connection to the group coordinator, found (FindCoordinator) and opened as needed.
    func coordinator() async throws -> KafkaConnection {
        if let connection = coordinatorConnection, connection.isActive { return connection }
        let node = try await cluster.coordinator(for: groupId, type: .group)
        let connection = try await cluster.dedicatedConnection(toNode: node)
        // Another task may have connected while this one waited.
        if let existing = coordinatorConnection, existing.isActive {
            await connection.close()
            return existing
        }
        if closed {
            await connection.close()
            throw KafkaConsumerError.closed
        }
        coordinatorConnection = connection
        logger.debug("group coordinator for '\(groupId)' is node \(node) at \(connection.broker)")
        return connection
    }

    /// Forgets the coordinator after NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or a broken
    /// connection; the next request looks it up again.
    func coordinatorUnavailable() async {
        await cluster.invalidateCoordinator(for: groupId, type: .group)
        if let connection = coordinatorConnection {
            coordinatorConnection = nil
            await connection.close()
        }
    }

    /// Sends a request to the coordinator; a broken connection makes it look the coordinator up again.
    func sendToCoordinator<R: KafkaRequestMessage>(_ request: R, timeout: Duration? = nil) async throws -> R.Response {
        let connection = try await coordinator()
        do {
            return try await connection.send(request, timeout: timeout)
        } catch let error as KafkaClientError where error.isConnectionFailure {
            if coordinatorConnection === connection { await coordinatorUnavailable() }
            throw error
        }
    }

    /// Whether a group error code means "find the coordinator again".
    static func isCoordinatorError(_ code: KafkaErrorCode) -> Bool {
        code == .notCoordinator || code == .coordinatorNotAvailable
    }
}
