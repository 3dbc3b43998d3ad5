import KafkaProtocol

extension KafkaConsumer {
    /// Takes the assignment SyncGroup returned. Under the cooperative protocol partitions no
    /// longer assigned are revoked now, and a follow-up rebalance is requested so the group can
    /// hand them to their new owners.
    func applyAssignment(_ assignment: PartitionAssignment) async {
        let generation = membership.generationId
        if let name = membership.protocolName, let assignor = configuration.assignors.first(where: { $0.name == name }) {
            assignor.onAssignment(assignment, generationId: generation)
        }
        membership.phase = .stable
        membership.previousAssignment = assignment.partitions
        membership.previousGenerationId = generation
        let assigned = Set(assignment.partitions)
        let owned = Set(partitions.keys)
        let added = assigned.subtracting(owned).sorted()
        logger.info("group '\(groupId)' generation \(generation): assigned \(assignment.partitions.sorted())")
        if rebalanceProtocol == .cooperative {
            let revoked = owned.subtracting(assigned)
            if !revoked.isEmpty {
                await revoke(revoked, lost: false)
                membership.requestRejoin("revoked \(revoked.count) partitions for reassignment")
                groupSignal.signal()
            }
        } else {
            // Everything was revoked before joining; whatever is left is stale.
            for partition in owned.subtracting(assigned) { removePartition(partition) }
        }
        for partition in added { addPartition(partition, start: .committed) }
        rebalanceEventSink.yield(.assigned(added))
        if let onAssigned = listener?.onAssigned { await onAssigned(added) }
        resolvePositions()
        scheduleFetches()
        dataSignal.signal()
    }

    /// Gives partitions up: stops handing out their records, commits their positions (auto
    /// commit, unless lost), runs the listener, then forgets them.
    func revoke(_ targets: Set<TopicPartition>, lost: Bool) async {
        let present = targets.filter { partitions[$0] != nil }
        guard !present.isEmpty else { return }
        for partition in present { partitions[partition]?.revoking = true }
        let sorted = present.sorted()
        if lost {
            logger.info("group '\(configuration.groupId ?? "")': lost \(sorted)")
            rebalanceEventSink.yield(.lost(sorted))
            if let callback = listener?.onLost ?? listener?.onRevoked { await callback(sorted) }
        } else {
            await autoCommit(present)
            logger.info("group '\(configuration.groupId ?? "")': revoking \(sorted)")
            rebalanceEventSink.yield(.revoked(sorted))
            if let callback = listener?.onRevoked { await callback(sorted) }
        }
        for partition in present { removePartition(partition) }
        dataSignal.signal()
    }
}
