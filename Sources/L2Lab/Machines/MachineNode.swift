import L2Wire

/// One machine of a lab across machines: where its part of every shared segment leaves through
/// VXLAN (its underlay address, in the root namespace or `underlay_namespace`), and how a
/// coordinator on another machine reaches its daemons (`control`: a Unix socket, on real machines an
/// `ssh -L` forward of `/run/l2motion/<lab>-<machine>/machine.sock`).
public struct MachineNode: Codable, Sendable, Equatable {
    public var name: String
    /// The address its VXLAN ports send from and listen on.
    public var underlay: IPv4Address
    /// The network namespace that holds `underlay` (nil: the root namespace, the usual case on a real machine).
    public var underlayNamespace: String?
    /// The socket through which other machines' coordinators reach this machine's daemons (nil:
    /// give it with `migrate --remote NAME=PATH`).
    public var control: String?

    public init(name: String, underlay: IPv4Address, underlayNamespace: String? = nil, control: String? = nil) {
        self.name = name
        self.underlay = underlay
        self.underlayNamespace = underlayNamespace
        self.control = control
    }

    enum CodingKeys: String, CodingKey {
        case name, underlay, control
        case underlayNamespace = "underlay_namespace"
    }
}
