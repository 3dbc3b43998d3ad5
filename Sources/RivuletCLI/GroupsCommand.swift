import ArgumentParser
import KafkaClient
import KafkaProtocol

/// `rivulet groups list|describe`.
struct GroupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groups",
        abstract: "List and describe consumer groups.",
        subcommands: [List.self, Describe.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List consumer groups.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let cluster = try client.makeCluster()
            for group in try await KafkaAdmin(cluster: cluster).listGroups() {
                print("\(group.groupId)\t\(group.protocolType)\t\(group.state ?? "")")
            }
            await cluster.close()
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Members, assignment, committed offsets and lag of a group.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Group id.") var group: String

        func run() async throws {
            let cluster = try client.makeCluster()
            let admin = KafkaAdmin(cluster: cluster)
            let description = try await admin.describeGroup(group)
            print("group \(description.groupId)  state \(description.state)  protocol \(description.protocolType)/\(description.protocolName)")
            for member in description.members {
                print("  member \(member.memberId)  client \(member.clientId)  host \(member.clientHost)\(member.groupInstanceId.map { "  instance \($0)" } ?? "")  assigned \(Self.describeAssignment(of: member))")
            }
            let committed = try await admin.committedOffsets(group: group)
            let ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: committed.keys.map { ($0, OffsetSpec.latest) }))
            print("  TOPIC-PARTITION\tCOMMITTED\tEND\tLAG")
            for partition in committed.keys.sorted() {
                let offset = committed[partition]!
                let end = ends[partition]?.offset ?? -1
                print("  \(partition)\t\(offset)\t\(end)\t\(end >= 0 ? String(max(0, end - offset)) : "?")")
            }
            await cluster.close()
        }

        /// The partitions, or, when the bytes are not a consumer assignment, why not and the bytes themselves.
        static func describeAssignment(of member: GroupDescription.Member) -> String {
            switch member.assignment {
            case .success(let partitions):
                return partitions.isEmpty ? "-" : partitions.map(\.description).joined(separator: ",")
            case .failure(let error):
                let hex = member.rawAssignment.map { byte in
                    let digits = String(byte, radix: 16)
                    return digits.count == 1 ? "0" + digits : digits
                }.joined()
                return "? (\(error); \(member.rawAssignment.count) bytes: 0x\(hex))"
            }
        }
    }
}
