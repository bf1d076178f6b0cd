import L2Wire

/// One piece of output a service queues on a connection, in order.
public enum TCPServiceOutput: Hashable, Sendable {
    /// Literal bytes (at most `TCPServiceLimits.maximumReply` per reply in total).
    case bytes([UInt8])
    /// `count` bytes of `PatternStream` from stream offset `offset`, generated as the send window
    /// opens (a download of any size costs no more guest memory than the send ring).
    case pattern(offset: UInt64, count: UInt64)
}

/// What a service did with the start of a connection's unread input.
public struct TCPServiceReply: Hashable, Sendable {
    /// Input bytes used; 0 with no output means "wait for more input".
    public var consumed: Int
    public var output: [TCPServiceOutput]
    /// Close the connection (send FIN) once the output is sent.
    public var close: Bool

    public init(consumed: Int, output: [TCPServiceOutput] = [], close: Bool = false) {
        self.consumed = consumed
        self.output = output
        self.close = close
    }

    /// Nothing to do until more input arrives.
    public static let needMoreInput = TCPServiceReply(consumed: 0)
}

/// Bounds every service and the TCP stack agree on.
public enum TCPServiceLimits {
    /// The most literal output one `serve` call may queue; the stack calls `serve` only when its
    /// send ring has this much room and no pattern output is still pending.
    public static let maximumReply = 16_384
    /// The most unread input a connection holds (its receive buffer). A request that does not fit
    /// must be answered with the protocol's own error and `close`.
    public static let receiveBuffer = 16_384
}

/// What a service may show about the VM it runs in (`GET /` shows them).
public struct ServiceContext: Hashable, Sendable {
    public var vmName: String
    /// The host the VM runs on now.
    public var hostName: String
    /// Guest running time since power-on, nanoseconds (carried by migrations).
    public var uptimeNanoseconds: UInt64
    public var migrationCount: UInt32

    public init(vmName: String, hostName: String, uptimeNanoseconds: UInt64, migrationCount: UInt32) {
        self.vmName = vmName
        self.hostName = hostName
        self.uptimeNanoseconds = uptimeNanoseconds
        self.migrationCount = migrationCount
    }
}

/// The services' data area in guest memory (`NetworkRegion.servicePages`): byte offsets in guest
/// memory; every service keeps its state here so a migration carries it.
public struct ServiceStore: @unchecked Sendable {
    public let memory: GuestMemory
    /// Guest byte offsets the services may use.
    public let bytes: Range<Int>

    public init(memory: GuestMemory, bytes: Range<Int>) {
        self.memory = memory
        self.bytes = bytes
    }
}

/// A server on one TCP port of the VM. Pure: every piece of state it keeps is in the `ServiceStore`
/// (guest memory); the connection's unread input is the TCP stack's receive buffer.
public protocol TCPService: Sendable {
    /// Short name shown in listings: `http`, `redis`, `echo`.
    var name: String { get }
    var port: UInt16 { get }
    /// Serves at most one request from the start of `input`, the connection's unread bytes.
    func serve(_ input: ArraySlice<UInt8>, store: ServiceStore, context: ServiceContext) -> TCPServiceReply
}
