/// One scheduled punctuator. Times are aligned to the first one, so a punctuator every 10 ms
/// scheduled at 0 fires at the first check at or after 0, 10, 20, ... and skips the points a
/// slow or idle clock jumped over (it fires once, not once per missed interval).
final class PunctuationSchedule: Cancellable {
    let nodeName: String
    let interval: Int64
    private(set) var next: Int64
    let sequence: Int
    let punctuator: (Int64) throws -> Void
    private(set) var isCancelled = false

    init(nodeName: String, first: Int64, interval: Int64, sequence: Int, punctuator: @escaping (Int64) throws -> Void) {
        self.nodeName = nodeName
        self.next = first
        self.interval = interval
        self.sequence = sequence
        self.punctuator = punctuator
    }

    func cancel() { isCancelled = true }

    /// Moves `next` to the first aligned point after `now`.
    func advance(past now: Int64) {
        next = now - ((now - next) % interval) + interval
    }
}

/// The punctuators of one task on one clock.
struct PunctuationQueue {
    private var schedules: [PunctuationSchedule] = []
    private var sequence = 0

    mutating func add(nodeName: String, first: Int64, interval: Int64, punctuator: @escaping (Int64) throws -> Void) -> PunctuationSchedule {
        sequence += 1
        let schedule = PunctuationSchedule(nodeName: nodeName, first: first, interval: interval, sequence: sequence, punctuator: punctuator)
        schedules.append(schedule)
        return schedule
    }

    /// The schedules due at `now`, earliest first (ties in the order they were scheduled), each
    /// already moved to its next time; cancelled ones are dropped.
    mutating func due(at now: Int64) -> [PunctuationSchedule] {
        schedules.removeAll { $0.isCancelled }
        let due = schedules.filter { $0.next <= now }.sorted { ($0.next, $0.sequence) < ($1.next, $1.sequence) }
        for schedule in due { schedule.advance(past: now) }
        return due
    }

    var isEmpty: Bool { schedules.isEmpty }
}
