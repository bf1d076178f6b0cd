// swift-tools-version: 6.1
import PackageDescription

/// Micro-benchmarks of l2motion's pure logic with ordo-one/benchmark (run with `scripts/bench-mactable`).
///
/// A separate package so the main build and the tests do not build the benchmark framework. The pure
/// modules are compiled from the main package's sources (Sources/<module> are symlinks to
/// ../../Sources/<module>), optimised as in a release build.
let package = Package(
    name: "l2motion-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(name: "L2Wire", swiftSettings: [.swiftLanguageMode(.v6)]),
        .target(name: "L2Switch", dependencies: ["L2Wire"], swiftSettings: [.swiftLanguageMode(.v6)]),
        .executableTarget(
            name: "MACTable",
            dependencies: ["L2Switch", "L2Wire", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/MACTable",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
