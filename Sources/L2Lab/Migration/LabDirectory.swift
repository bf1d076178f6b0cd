import Foundation
import L2Control
import L2Edge

/// Finds a running lab's daemons by their control sockets in its run folder, and calls them with
/// typed requests.
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

    public func host<Reply>(_ name: String, _ call: ControlCall<HostRequest, Reply>, timeoutSeconds: Int = 30) throws(ControlError) -> Reply {
        try ControlClient.call(folder.hostSocket(name), call, timeoutSeconds: timeoutSeconds)
    }

    public func switchCall<Reply>(_ name: String, _ call: ControlCall<SwitchRequest, Reply>) throws(ControlError) -> Reply {
        try ControlClient.call(folder.switchSocket(name), call)
    }
}

/// Who may talk to a lab: its run folder and control sockets belong to root (mode 0700 and 0600), so
/// every verb that talks to a lab refuses other users up front with one clear message instead of
/// failing later in ways that look like an empty lab.
public enum LabAccess {
    public static func require() throws(ControlError) {
        guard geteuid() == 0 else { throw ControlError.permissionDenied }
    }
}
