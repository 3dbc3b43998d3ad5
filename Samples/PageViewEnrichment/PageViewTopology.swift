import Rivulet

/// A page view, as the web servers write it (key: user id).
struct PageView: Codable, Sendable, Equatable {
    var page: String
    var durationMs: Int
}

/// What is known about a user (key: user id); the latest profile per user is a table.
struct UserProfile: Codable, Sendable, Equatable {
    var name: String
    var region: String
}

/// A page view with its user's profile at the time of the view; `region` is nil for a user
/// without a profile yet.
struct EnrichedPageView: Codable, Sendable, Equatable {
    var user: String
    var page: String
    var durationMs: Int
    var name: String?
    var region: String?
}

enum PageViewTopology {
    /// Page views joined with the user-profile table on the user id. Both topics are keyed by
    /// user id and must have the same partition count (co-partitioned): partition `i` of each
    /// is read by task `0_i`, which holds the profiles of exactly the users whose views it sees.
    static func build(pageViews: String, profiles: String, output: String) throws -> Topology {
        let builder = StreamsBuilder()
        let users = builder.table(profiles, Consumed.with(.string, .json(UserProfile.self)), Materialized.as("user-profiles"))
        builder.stream(pageViews, Consumed.with(.string, .json(PageView.self)))
            .leftJoin(users) { user, view, profile in
                EnrichedPageView(user: user, page: view.page, durationMs: view.durationMs, name: profile?.name, region: profile?.region)
            }
            .to(output, Produced.with(.string, .json(EnrichedPageView.self)))
        return try builder.build()
    }
}
