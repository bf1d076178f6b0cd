/// A connection's state (RFC 9293 section 3.3.2). `closed` marks a free slot; there is no per-slot
/// LISTEN: every service port listens on every address of the VM.
public enum TCPConnectionState: UInt8, Hashable, Sendable, Codable, CustomStringConvertible {
    case closed = 0
    case synReceived = 1
    case established = 2
    case finWait1 = 3
    case finWait2 = 4
    case closeWait = 5
    case closing = 6
    case lastAck = 7
    case timeWait = 8

    /// The name `ss` and RFC 9293 use: `ESTABLISHED`, `TIME-WAIT`.
    public var description: String {
        switch self {
        case .closed: "CLOSED"
        case .synReceived: "SYN-RECEIVED"
        case .established: "ESTABLISHED"
        case .finWait1: "FIN-WAIT-1"
        case .finWait2: "FIN-WAIT-2"
        case .closeWait: "CLOSE-WAIT"
        case .closing: "CLOSING"
        case .lastAck: "LAST-ACK"
        case .timeWait: "TIME-WAIT"
        }
    }

    /// States in which the receive side still accepts data (RFC 9293 3.10.7.4, seventh step).
    var acceptsData: Bool { self == .established || self == .finWait1 || self == .finWait2 }

    /// States in which the service still runs: the peer may still send requests or we still answer.
    var servesInput: Bool { self == .established || self == .closeWait }
}
