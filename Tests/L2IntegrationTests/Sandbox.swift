import Foundation
import L2Edge

/// A test's private corner of the machine: namespaces and a run folder whose names carry the test
/// process's PID and a counter, every one removed by `tearDown()` (call it in `defer`).
final class Sandbox: @unchecked Sendable {
    private static let counter = NSLock()
    nonisolated(unsafe) private static var next = 0

    let prefix: String
    let directory: String
    private(set) var namespaces: [String] = []
    private(set) var children: [ChildProcess] = []

    init() throws {
        let number = Self.counter.withLock { () -> Int in
            Self.next += 1
            return Self.next
        }
        prefix = "l2t\(getpid() % 100_000)\(number)"
        directory = NSTemporaryDirectory() + "l2motion-\(prefix)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Creates namespace `<prefix>-<suffix>` and returns its name.
    func namespace(_ suffix: String) throws -> String {
        let name = "\(prefix)-\(suffix)"
        try NetworkNamespace.create(name)
        namespaces.append(name)
        return name
    }

    /// Starts `l2motion ARGS` in the background, output to a log in the sandbox.
    func l2motion(_ arguments: [String], log: String) throws -> ChildProcess {
        let child = try ChildProcess([RootEnvironment.binary] + arguments, logPath: "\(directory)/\(log).log")
        children.append(child)
        return child
    }

    /// Starts any program in the background (e.g. `ip netns exec NS iperf3 -s`), output to a log.
    func spawn(_ arguments: [String], log: String) throws -> ChildProcess {
        let child = try ChildProcess(arguments, logPath: "\(directory)/\(log).log")
        children.append(child)
        return child
    }

    /// Runs `l2motion ARGS` to completion and returns stdout.
    func run(_ arguments: [String]) throws -> String {
        try CommandRunner.run([RootEnvironment.binary] + arguments)
    }

    func logText(_ log: String) -> String {
        (try? String(contentsOfFile: "\(directory)/\(log).log", encoding: .utf8)) ?? ""
    }

    /// How many echo replies the kernel's `ping` has written to the log at `path` so far.
    static func pingReplies(in path: String) -> Int {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").components(separatedBy: "bytes from").count - 1
    }

    /// Waits until `condition` holds, up to `seconds`.
    func waitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    func tearDown() {
        for child in children.reversed() { child.terminate() }
        for name in namespaces.reversed() { try? NetworkNamespace.delete(name) }
        try? FileManager.default.removeItem(atPath: "/run/l2motion/\(prefix)")
        // Leave no empty /run/l2motion behind (another lab's folder keeps it).
        if (try? FileManager.default.contentsOfDirectory(atPath: "/run/l2motion"))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: "/run/l2motion")
        }
        if ProcessInfo.processInfo.environment["L2MOTION_KEEP_TEST_FILES"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
