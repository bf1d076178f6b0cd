import Foundation
import L2Control
import L2Edge

/// Finds a running lab's daemons by their control sockets in its run folder.
public struct LabDirectory: Sendable {
    public let folder: RunFolder

    public init(lab: String) { folder = RunFolder(lab: lab) }

    private func names(prefix: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return entries.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".sock") }
            .map { String($0.dropFirst(prefix.count).dropLast(5)) }.sorted()
    }

    public var hosts: [String] { names(prefix: "host-") }
    public var switches: [String] { names(prefix: "switch-") }

    public func host<T: Decodable>(_ name: String, _ command: String, _ arguments: [String: String] = [:],
                                   as type: T.Type = T.self, timeoutSeconds: Int = 30) throws -> T {
        try ControlClient.call(folder.hostSocket(name), ControlRequest(command, arguments), as: type, timeoutSeconds: timeoutSeconds)
    }

    public func switchCall<T: Decodable>(_ name: String, _ command: String, _ arguments: [String: String] = [:],
                                         as type: T.Type = T.self) throws -> T {
        try ControlClient.call(folder.switchSocket(name), ControlRequest(command, arguments), as: type)
    }
}
