/// Where a control request goes: a daemon's own socket, or a machine's relay socket and the daemon
/// behind it (`host-esx02`, `switch-pswitch`) when that daemon runs on another machine of a lab
/// across machines. On real machines the relay socket is an SSH-forwarded copy of the remote
/// machine's `/run/l2motion/<lab>-<machine>/machine.sock`.
public struct ControlRoute: Sendable, Hashable, CustomStringConvertible {
    /// The Unix socket the client connects to.
    public var socket: String
    /// The daemon behind a relay socket; nil: `socket` is the daemon's own.
    public var relayTarget: String?

    public init(socket: String, relayTarget: String? = nil) {
        self.socket = socket
        self.relayTarget = relayTarget
    }

    /// A daemon's own socket.
    public static func direct(_ socket: String) -> ControlRoute { ControlRoute(socket: socket) }

    public var description: String { relayTarget.map { "\($0) via \(socket)" } ?? socket }

    /// The name a relay serves a host daemon under.
    public static func hostTarget(_ name: String) -> String { "host-\(name)" }
    /// The name a relay serves a switch daemon under.
    public static func switchTarget(_ name: String) -> String { "switch-\(name)" }
}
