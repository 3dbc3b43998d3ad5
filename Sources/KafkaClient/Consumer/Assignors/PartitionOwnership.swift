import KafkaProtocol

/// Who currently owns each partition, from the members' own claims.
///
/// A member that missed a rebalance (a zombie, or one slow to notice) may still claim
/// partitions that have since moved. Each claim carries the generation it was made in: the
/// newest claim wins, and when two members claim a partition in the same newest generation
/// neither is believed (the partition is treated as unowned).
enum PartitionOwnership {
    struct Claim {
        var memberId: String
        var partitions: [TopicPartition]
        var generationId: Int32
    }

    static func resolve(_ claims: [Claim]) -> [TopicPartition: String] {
        var best: [TopicPartition: (memberId: String, generation: Int32, contested: Bool)] = [:]
        for claim in claims {
            for partition in claim.partitions {
                guard let current = best[partition] else {
                    best[partition] = (claim.memberId, claim.generationId, false)
                    continue
                }
                if current.memberId == claim.memberId { continue }
                if claim.generationId > current.generation {
                    best[partition] = (claim.memberId, claim.generationId, false)
                } else if claim.generationId == current.generation {
                    best[partition]!.contested = true
                }
            }
        }
        var owners: [TopicPartition: String] = [:]
        for (partition, entry) in best where !entry.contested {
            owners[partition] = entry.memberId
        }
        return owners
    }
}
