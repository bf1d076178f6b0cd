/// The daemon a machine relay forwards a connection to, as a relay line names it: `host-esx02`,
/// `switch-pswitch` (`ControlRoute.hostTarget`, `.switchTarget`). Parsing admits only
/// `^(host|switch)-[A-Za-z0-9_-]{1,32}$`, so the socket it maps to, `<run folder>/<target>.sock`,
/// is always a plain file of the relay's own run folder (no `/`, no `..`).
public struct RelayTarget: Sendable, Hashable, CustomStringConvertible {
    /// The kind of daemon behind the relay.
    public enum Kind: String, Sendable, CaseIterable {
        case host
        case `switch`
    }

    /// The longest daemon name a target may carry (the switch's and host's own limit).
    public static let maximumNameLength = 32

    public let kind: Kind
    /// The host's or switch's name: 1-32 ASCII letters, digits, `-` or `_`.
    public let name: String

    /// Parses `host-NAME` or `switch-NAME`; the error quotes the text and says what a target looks like.
    public init(parsing text: String) throws(ControlError) {
        guard let dash = text.firstIndex(of: "-"), let kind = Kind(rawValue: String(text[..<dash])) else {
            throw Self.invalid(text, "it must start with host- or switch-")
        }
        let name = text[text.index(after: dash)...]
        guard (1...Self.maximumNameLength).contains(name.utf8.count) else {
            throw Self.invalid(text, "the daemon's name must be 1-\(Self.maximumNameLength) characters, got \(name.utf8.count)")
        }
        guard name.utf8.allSatisfy(Self.isNameByte) else {
            throw Self.invalid(text, "the daemon's name may hold only ASCII letters, digits, - and _")
        }
        self.kind = kind
        self.name = String(name)
    }

    public init(_ kind: Kind, name: String) throws(ControlError) {
        try self.init(parsing: "\(kind.rawValue)-\(name)")
    }

    /// `host-esx02`: what a relay line carries and the daemon's socket is named after.
    public var description: String { "\(kind.rawValue)-\(name)" }

    /// The daemon's control socket in `folder` (a run folder's path): `<folder>/<target>.sock`, as
    /// `RunFolder.hostSocket` and `.switchSocket` name them.
    public func socket(in folder: String) -> String { "\(folder)/\(description).sock" }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }

    private static func invalid(_ text: String, _ reason: String) -> ControlError {
        let shown = text.utf8.count > 64 ? String(decoding: text.utf8.prefix(64), as: UTF8.self) + "…" : text
        return ControlError(.badRequest, "relay target \"\(shown)\" is not a daemon name: \(reason) (host-NAME or switch-NAME)")
    }
}
