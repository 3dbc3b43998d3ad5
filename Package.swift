// swift-tools-version:6.0
// Rivulet: a Swift-native stream-processing framework for Apache Kafka.
// Layers (a lower one never imports a higher one):
//   C system libraries → KafkaProtocol → KafkaClient / KafkaBroker → Rivulet → executables.
import PackageDescription

/// A system library found through pkg-config, with the Debian package that provides it.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let package = Package(
    name: "Rivulet",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        .library(name: "KafkaClient", targets: ["KafkaClient"]),
        .library(name: "KafkaBroker", targets: ["KafkaBroker"]),
        .library(name: "Rivulet", targets: ["Rivulet"]),
        .library(name: "RivuletTestDriver", targets: ["RivuletTestDriver"]),
        .executable(name: "rivulet", targets: ["RivuletCLI"]),
        .executable(name: "kafka-protocol-generator", targets: ["KafkaProtocolGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        systemLibrary("CZlib", pkgConfig: "zlib", apt: "zlib1g-dev"),
        systemLibrary("CLZ4", pkgConfig: "liblz4", apt: "liblz4-dev"),
        systemLibrary("CZstd", pkgConfig: "libzstd", apt: "libzstd-dev"),
        systemLibrary("CSnappy", pkgConfig: "snappy", apt: "libsnappy-dev"),
        systemLibrary("CRocksDB", pkgConfig: "rocksdb", apt: "librocksdb-dev"),
        // CRC-32C (Castagnoli): the SSE4.2 crc32 instruction where the CPU has it, a table elsewhere.
        .target(name: "CCRC32C", path: "Sources/CCRC32C"),

        .target(
            name: "KafkaProtocol",
            dependencies: [
                "CZlib", "CLZ4", "CZstd", "CSnappy", "CCRC32C",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "KafkaProtocolGenerator"),

        .target(
            name: "KafkaClient",
            dependencies: [
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "KafkaBroker",
            dependencies: [
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Streams: DSL, topology, tasks, state stores.
        .target(
            name: "Rivulet",
            dependencies: [
                "KafkaProtocol", "KafkaClient", "CRocksDB",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Runs a topology in-process, with no broker (Kafka Streams' TopologyTestDriver).
        .target(
            name: "RivuletTestDriver",
            dependencies: [
                "Rivulet", "KafkaProtocol", "KafkaClient",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // The `rivulet` command: dev broker and console tools.
        .executableTarget(
            name: "RivuletCLI",
            dependencies: [
                "KafkaBroker", "KafkaClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Test support: lets the Python interop tests drive Rivulet's codecs.
        .executableTarget(
            name: "KafkaCodecProbe",
            dependencies: ["KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // Test support: lets the Python interop tests drive Rivulet's producer.
        .executableTarget(
            name: "RivuletInteropProbe",
            dependencies: [
                "KafkaClient", "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Random and mutated frames against every decoder (`make test` runs a fixed seed, `make fuzz` a long run).
        .executableTarget(
            name: "KafkaProtocolFuzz",
            dependencies: ["KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // `make bench`: throughput figures written to docs/benchmarks.md.
        .executableTarget(
            name: "RivuletBench",
            dependencies: ["KafkaProtocol", "KafkaClient", "KafkaBroker", .product(name: "NIOCore", package: "swift-nio")]
        ),

        .executableTarget(
            name: "ProtocolRoundTrip",
            dependencies: ["KafkaBroker", "KafkaClient", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")],
            path: "Samples/ProtocolRoundTrip"
        ),

        // Consume-transform-produce, exactly once: copies a topic, upper-casing every value.
        .executableTarget(
            name: "ExactlyOnceCopy",
            dependencies: [
                "KafkaClient", "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Samples/ExactlyOnceCopy"
        ),

        // Samples: streams apps run against a broker (`--demo` starts a dev broker in-process).
        // What every sample worker shares: its common flags, how it runs under a ServiceGroup, its task report.
        .target(
            name: "SampleSupport",
            dependencies: [
                "Rivulet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Samples/SampleSupport"
        ),
        .executableTarget(
            name: "WordCount",
            dependencies: [
                "Rivulet", "SampleSupport", "KafkaClient", "KafkaBroker", "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Samples/WordCount",
            exclude: ["README.md"]
        ),

        .executableTarget(
            name: "PageViewEnrichment",
            dependencies: [
                "Rivulet", "SampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Samples/PageViewEnrichment",
            exclude: ["README.md"]
        ),
        .testTarget(
            name: "RivuletTests",
            dependencies: [
                "Rivulet", "RivuletTestDriver", "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The streams runtime against an in-process dev broker: group, assignor, restoration.
        .testTarget(
            name: "RivuletRuntimeTests",
            dependencies: [
                "Rivulet", "KafkaBroker", "KafkaClient", "KafkaProtocol", "WordCount",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "KafkaProtocolTests",
            dependencies: ["KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "KafkaClientTests",
            dependencies: ["KafkaClient", "KafkaBroker", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(
            name: "KafkaBrokerTests",
            dependencies: ["KafkaBroker", "KafkaClient", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
    ]
)
