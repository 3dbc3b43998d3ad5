import ArgumentParser
import KafkaClient

/// Options every client command takes.
struct ClientOptions: ParsableArguments {
    @Option(help: "Bootstrap brokers, host:port[,host:port...].")
    var bootstrap = "localhost:9092"

    @Option(help: "Client id sent to the brokers.")
    var clientId = "rivulet-cli"

    func makeCluster() throws -> KafkaCluster {
        var configuration = try ClientConfiguration(bootstrap: bootstrap)
        configuration.clientId = clientId
        return KafkaCluster(configuration: configuration)
    }
}
