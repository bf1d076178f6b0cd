/// How a switch port's endpoint is doing, beyond the switch's own counters: whether a QEMU is
/// connected to a `qemu=` port, which interface an `attach=` port holds, what a VXLAN port refused.
/// `status` on the switch's control socket answers one per port; `lab status` prints them.
public struct PortEndpointState: Codable, Sendable, Equatable {
    /// The port's name (p1, client01, ...).
    public var port: String
    /// tap, attach, qemu or vxlan (`PortEndpoint.kind`).
    public var kind: String
    /// A word for the endpoint's state: "up", "listening" (a QEMU port with no QEMU), "connected",
    /// "attached", "down" (carrier off).
    public var state: String
    /// What the counters count, by name (connections, disconnects, invalid_lengths, foreign, ...),
    /// only those the kind keeps.
    public var counters: [String: UInt64]

    public init(port: String, kind: String, state: String, counters: [String: UInt64] = [:]) {
        self.port = port
        self.kind = kind
        self.state = state
        self.counters = counters
    }

    /// `client01 qemu connected (connections 2, disconnects 1)`.
    public var summary: String {
        let counts = counters.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        return "\(port) \(kind) \(state)" + (counts.isEmpty ? "" : " (" + counts.joined(separator: ", ") + ")")
    }
}
