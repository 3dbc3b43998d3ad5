import ArgumentParser
import KafkaClient
import KafkaProtocol

/// `rivulet topics create|list|describe|delete`.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create, list, describe and delete topics.",
        subcommands: [Create.self, List.self, Describe.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Topic name.") var topic: String
        @Option(help: "Number of partitions (-1: the broker's default).") var partitions: Int32 = -1
        @Option(help: "Replication factor (-1: the broker's default).") var replicationFactor: Int16 = -1
        @Option(name: .customLong("config"), help: "A topic config, name=value; repeatable.") var configs: [String] = []
        @Flag(help: "Succeed when the topic already exists.") var ifNotExists = false

        func run() async throws {
            var parsed: [String: String] = [:]
            for entry in configs {
                guard let equals = entry.firstIndex(of: "=") else { throw ValidationError("--config expects name=value, got '\(entry)'") }
                parsed[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            }
            let cluster = try client.makeCluster()
            try await KafkaAdmin(cluster: cluster).createTopics(
                [NewTopic(name: topic, partitions: partitions, replicationFactor: replicationFactor, configs: parsed)], ifNotExists: ifNotExists)
            print("created topic \(topic)")
            await cluster.close()
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topic names.")
        @OptionGroup var client: ClientOptions
        @Flag(help: "Include internal topics such as __consumer_offsets.") var includeInternal = false

        func run() async throws {
            let cluster = try client.makeCluster()
            for name in try await KafkaAdmin(cluster: cluster).listTopics(includeInternal: includeInternal) { print(name) }
            await cluster.close()
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show partitions, leaders, replicas and configs.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Topic names.") var topics: [String]

        func run() async throws {
            let cluster = try client.makeCluster()
            let admin = KafkaAdmin(cluster: cluster)
            for topic in try await admin.describeTopics(topics) {
                print("topic \(topic.name)  id \(topic.id)  partitions \(topic.partitions.count)\(topic.isInternal ? "  internal" : "")")
                for p in topic.partitions {
                    print("  partition \(p.partition)  leader \(p.leader)  replicas \(p.replicas.map(String.init).joined(separator: ","))  isr \(p.inSyncReplicas.map(String.init).joined(separator: ","))")
                }
                let configs = try await admin.describeTopicConfigs(topic.name)
                for (name, value) in configs.sorted(by: { $0.key < $1.key }) { print("  config \(name)=\(value)") }
            }
            await cluster.close()
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete topics.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Topic names.") var topics: [String]

        func run() async throws {
            let cluster = try client.makeCluster()
            try await KafkaAdmin(cluster: cluster).deleteTopics(topics)
            for topic in topics { print("deleted topic \(topic)") }
            await cluster.close()
        }
    }
}
