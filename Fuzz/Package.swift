// swift-tools-version: 6.1
import PackageDescription

/// libFuzzer targets for l2motion's parsers (see docs/FUZZING.md; run with `scripts/fuzz`).
///
/// The pure modules are compiled from the main package's sources (Sources/<module> are symlinks to
/// ../../Sources/<module>) with libFuzzer's coverage instrumentation and AddressSanitizer, which a
/// dependency on the main package could not give them. swift-crypto is an ordinary dependency and is
/// not instrumented.
let sanitize = ["-sanitize=fuzzer,address"]
let library: [SwiftSetting] = [.swiftLanguageMode(.v6), .unsafeFlags(sanitize)]
let fuzzer: [SwiftSetting] = [.swiftLanguageMode(.v6), .unsafeFlags(sanitize + ["-parse-as-library"])]
let link: [LinkerSetting] = [.unsafeFlags(sanitize)]

let package = Package(
    name: "l2motion-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
    ],
    targets: [
        .target(name: "L2Wire", swiftSettings: library),
        .target(name: "L2Switch", dependencies: ["L2Wire"], swiftSettings: library),
        .target(name: "L2Guest", dependencies: ["L2Wire"], swiftSettings: library),
        .target(name: "L2Migration", dependencies: ["L2Wire", "L2Guest", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: library),
        .target(name: "FuzzSupport", dependencies: ["L2Wire", "L2Guest", "L2Migration"], swiftSettings: library),
        .executableTarget(name: "FuzzWire", dependencies: ["L2Wire", "FuzzSupport"], swiftSettings: fuzzer, linkerSettings: link),
        .executableTarget(name: "FuzzDecoder", dependencies: ["L2Migration", "FuzzSupport"], swiftSettings: fuzzer, linkerSettings: link),
        .executableTarget(name: "FuzzDestination", dependencies: ["L2Migration", "L2Guest", "FuzzSupport"], swiftSettings: fuzzer, linkerSettings: link),
        .executableTarget(name: "FuzzChannel", dependencies: ["L2Migration", "FuzzSupport"], swiftSettings: fuzzer, linkerSettings: link),
        .executableTarget(name: "FuzzSwitch", dependencies: ["L2Switch", "L2Wire", "FuzzSupport"], swiftSettings: fuzzer, linkerSettings: link),
        .executableTarget(name: "FuzzTCP", dependencies: ["L2Guest", "L2Wire", "FuzzSupport"], swiftSettings: fuzzer, linkerSettings: link),
    ]
)
