// swift-tools-version: 6.1
import PackageDescription

/// l2motion: a vMotion-style live migration emulated with real Layer-2 frames.
///
/// Pure targets (no I/O, time passed in): L2Wire, L2Switch, L2Capture, L2Guest, L2Migration, L2Control.
/// Edge targets (syscalls, files, processes): CTap, CPcap, L2Edge, L2Daemons, L2Lab, l2motion.
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "l2motion",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "l2motion", targets: ["l2motion"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
    ],
    targets: [
        // MARK: pure logic
        .target(name: "L2Wire", swiftSettings: strict),
        .target(name: "L2Switch", dependencies: ["L2Wire"], swiftSettings: strict),
        .target(name: "L2Capture", dependencies: ["L2Wire", "L2Switch"], swiftSettings: strict),
        .target(name: "L2Guest", dependencies: ["L2Wire"], swiftSettings: strict),
        .target(name: "L2Migration", dependencies: ["L2Wire", "L2Guest", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: strict),
        .target(name: "L2Control", dependencies: ["L2Wire", "L2Switch", "L2Guest", "L2Migration"], swiftSettings: strict),

        // MARK: edges
        .target(name: "CTap", cSettings: [.define("_GNU_SOURCE")]),
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .target(
            name: "L2Edge",
            dependencies: ["CTap", "CPcap", "L2Wire", "L2Guest", "L2Control", "L2Capture", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .target(
            name: "L2Daemons",
            dependencies: ["L2Edge", "L2Switch", "L2Capture", "L2Guest", "L2Migration", "L2Control",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .target(
            name: "L2Lab",
            dependencies: ["L2Edge", "L2Control", "L2Migration", "L2Switch", "L2Capture", "L2Guest", "L2Wire",
                           .product(name: "Logging", package: "swift-log"), "Yams"],
            swiftSettings: strict),
        .executableTarget(
            name: "l2motion",
            dependencies: ["L2Daemons", "L2Lab", "L2Edge", "L2Control", "L2Wire", "L2Switch", "L2Capture",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),

        // MARK: tests
        .testTarget(name: "L2WireTests", dependencies: ["L2Wire"], swiftSettings: strict),
        .testTarget(name: "L2SwitchTests", dependencies: ["L2Switch"], swiftSettings: strict),
        .testTarget(name: "L2CaptureTests", dependencies: ["L2Capture", "L2Switch", "L2Wire"], swiftSettings: strict),
        .testTarget(name: "L2GuestTests", dependencies: ["L2Guest"], swiftSettings: strict),
        .testTarget(name: "L2MigrationTests", dependencies: ["L2Migration"], swiftSettings: strict),
        .testTarget(name: "L2ControlTests", dependencies: ["L2Control", "L2Migration", "L2Wire"], swiftSettings: strict),
        .testTarget(name: "L2EdgeTests", dependencies: ["L2Edge", "L2Control", "L2Capture"], swiftSettings: strict),
        .testTarget(name: "L2MotionCLITests", dependencies: ["l2motion", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                    swiftSettings: strict),
        .testTarget(name: "L2LabTests", dependencies: ["L2Lab", "L2Capture", "L2Edge"], swiftSettings: strict),
        .testTarget(name: "L2IntegrationTests", dependencies: ["L2Edge", "L2Control", "L2Wire", "L2Switch", "L2Lab", "L2Daemons", "L2Migration", "L2Guest", "L2Capture", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
    ]
)
