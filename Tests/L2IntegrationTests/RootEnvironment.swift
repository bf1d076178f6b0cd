import Foundation
import Testing

/// What the root-only tests need: root, /dev/net/tun, iproute2 and the built `l2motion` binary.
/// Outside CI a missing piece disables those suites; under `CI=true` they run and fail loudly.
enum RootEnvironment {
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static var missing: [String] {
        var problems: [String] = []
        if getuid() != 0 { problems.append("not running as root") }
        if !FileManager.default.fileExists(atPath: "/dev/net/tun") { problems.append("no /dev/net/tun") }
        if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") && !FileManager.default.isExecutableFile(atPath: "/sbin/ip") {
            problems.append("iproute2's ip is not installed")
        }
        if !FileManager.default.isExecutableFile(atPath: binary) { problems.append("no l2motion binary at \(binary) (run swift build)") }
        return problems
    }

    /// Run the suites when everything is there, and always under CI (where `require()` then fails).
    static var shouldRun: Bool { isCI || missing.isEmpty }

    /// Fails the test with the list of what is missing.
    static func require() throws {
        let problems = missing
        guard problems.isEmpty else {
            throw RootEnvironmentError(message: "root-only test cannot run: " + problems.joined(separator: "; "))
        }
    }

    /// The l2motion executable: `L2MOTION_BIN`, else the debug build next to these sources.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["L2MOTION_BIN"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/l2motion").path
    }

    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}

struct RootEnvironmentError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
