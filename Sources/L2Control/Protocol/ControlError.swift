/// Why a daemon refused a request, or why a client got no usable answer: a stable code that programs
/// branch on (never the message's wording) plus a message a person can act on.
public struct ControlError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var code: ControlErrorCode
    public var message: String

    public init(_ code: ControlErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The message every verb prints when the lab's root-only control sockets refuse the caller.
    public static let permissionDenied = ControlError(
        .permissionDenied, "permission denied: run as root (the lab's control sockets are root-only)")
}

/// The stable codes of `ControlError`, as they appear on the wire (`"code":"not-found"`). An open set:
/// a code this build does not know still decodes and prints.
public struct ControlErrorCode: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The line was not JSON, or not one object with one command.
    public static let badRequest = ControlErrorCode(rawValue: "bad-request")
    /// The command is not one this daemon serves.
    public static let unknownCommand = ControlErrorCode(rawValue: "unknown-command")
    /// An argument is missing, of the wrong type or out of range.
    public static let invalidArgument = ControlErrorCode(rawValue: "invalid-argument")
    /// A named thing (VM, port, datastore, migration) does not exist here.
    public static let notFound = ControlErrorCode(rawValue: "not-found")
    /// The request is valid but the daemon's state refuses it (VM already running, nothing to decide…).
    public static let refused = ControlErrorCode(rawValue: "refused")
    /// The daemon failed while carrying it out.
    public static let failed = ControlErrorCode(rawValue: "failed")
    /// Client side: no daemon listens on the socket (the process is gone or the lab is down).
    public static let unreachable = ControlErrorCode(rawValue: "unreachable")
    /// Client side: the socket exists but the caller may not connect (not root).
    public static let permissionDenied = ControlErrorCode(rawValue: "permission-denied")
    /// Client side: connected, but no answer came (timeout, or the daemon closed the connection).
    public static let noAnswer = ControlErrorCode(rawValue: "no-answer")

    public var description: String { rawValue }
}

extension ControlError {
    /// `error` as a control error: a `ControlError` as it is, a configuration mistake as
    /// `invalid-argument`, anything else as `failed`.
    public init(wrapping error: any Error) {
        switch error {
        case let error as ControlError: self = error
        case let error as ConfigurationError: self.init(.invalidArgument, error.message)
        default: self.init(.failed, "\(error)")
        }
    }
}
