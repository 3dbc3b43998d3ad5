import ArgumentParser

@main
struct Rivulet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rivulet",
        abstract: "Rivulet: stream processing for Kafka in Swift. Dev broker and console tools.",
        subcommands: [
            BrokerCommand.self,
            TopicsCommand.self,
            GroupsCommand.self,
            ProduceCommand.self,
            ConsumeCommand.self,
        ]
    )
}
