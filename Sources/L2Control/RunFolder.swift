/// Where a lab keeps its runtime files: `/run/l2motion/<lab>/` (root-owned, mode 0700) holding
/// the daemons' control sockets, their logs and the lab's state file.
public struct RunFolder: Sendable, Hashable {
    public static let root = "/run/l2motion"
    public let lab: String

    public init(lab: String) { self.lab = lab }

    public var path: String { "\(Self.root)/\(lab)" }
    public func switchSocket(_ name: String) -> String { "\(path)/switch-\(name).sock" }
    public func hostSocket(_ name: String) -> String { "\(path)/host-\(name).sock" }
    public func log(_ daemon: String) -> String { "\(path)/\(daemon).log" }
    public var stateFile: String { "\(path)/lab.json" }
    /// The relay socket of one machine's part of a lab across machines: other machines' coordinators
    /// reach this machine's hosts and switches through it (`ControlRoute`).
    public var machineSocket: String { "\(path)/machine.sock" }
}
