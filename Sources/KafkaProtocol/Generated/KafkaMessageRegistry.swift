// PLACEHOLDER: replaced by the generator's output.
public enum KafkaMessageRegistry {
    public static let allMessageTypes: [any KafkaMessage.Type] = []
}
