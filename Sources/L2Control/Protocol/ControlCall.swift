/// The request enum of one daemon's control socket: it names the daemon (for error messages) and
/// lists its command names (from its coding keys, so the list cannot drift from what it decodes).
public protocol ControlRequestKind: Codable, Sendable {
    /// "switch" or "host".
    static var daemon: String { get }
    /// Every command this daemon serves, as they appear on the wire.
    static var commands: [String] { get }
    /// This request's command name, as on the wire.
    var command: String { get }
}

/// One request together with the type of its reply, so a client cannot decode an answer as the wrong
/// type: `SwitchCall.events(since: 4)` is a `ControlCall<SwitchRequest, SwitchEventPageSnapshot>`.
public struct ControlCall<Request: ControlRequestKind, Reply: Decodable & Sendable>: Sendable {
    public let request: Request
    public init(_ request: Request) { self.request = request }
}
