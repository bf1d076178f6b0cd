import Foundation

/// A command that exited non-zero (or could not start), with what it printed on stderr.
public struct CommandError: Error, Sendable, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let standardError: String

    public var description: String {
        let trimmed = standardError.trimmingCharacters(in: .whitespacesAndNewlines)
        return "`\(command.joined(separator: " "))` failed (exit \(status))" + (trimmed.isEmpty ? "" : ": \(trimmed)")
    }
}

/// Runs short external commands (iproute2, sysctl) to completion and returns their output.
/// Long-running children (daemons, ping) are started with `ChildProcess` instead.
public enum CommandRunner {
    /// Runs `arguments[0]` found on PATH with the rest as arguments; throws `CommandError` unless it exits 0.
    @discardableResult
    public static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CommandError(command: arguments, status: -1, standardError: "\(error)")
        }
        // Read both pipes before waiting so a chatty command cannot fill a pipe and block.
        let errorData = LockedData()
        let errorReader = Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        errorReader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(200) }
        let text = String(decoding: outputData, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw CommandError(command: arguments, status: process.terminationStatus,
                               standardError: String(decoding: errorData.value, as: UTF8.self))
        }
        return text
    }

    /// Runs the command and reports only whether it exited 0.
    public static func succeeds(_ arguments: [String]) -> Bool {
        (try? run(arguments)) != nil
    }

    /// Runs a command inside a network namespace (`ip netns exec NS ...`).
    @discardableResult
    public static func run(inNamespace namespace: String, _ arguments: [String]) throws -> String {
        try run(["ip", "netns", "exec", namespace] + arguments)
    }
}

private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
}
