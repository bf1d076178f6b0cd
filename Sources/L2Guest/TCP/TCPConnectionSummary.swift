import L2Wire

/// One open connection as read back from guest memory, for status listings.
public struct TCPConnectionSummary: Hashable, Sendable {
    public var slot: Int
    public var state: TCPConnectionState
    public var local: IPAddress
    public var localPort: UInt16
    public var remote: IPAddress
    public var remotePort: UInt16
    /// Payload bytes received in order / sent and acknowledged.
    public var bytesIn: UInt64
    public var bytesOut: UInt64
    /// Guest clock when the SYN arrived, nanoseconds.
    public var created: UInt64

    public init(slot: Int, state: TCPConnectionState, local: IPAddress, localPort: UInt16, remote: IPAddress,
                remotePort: UInt16, bytesIn: UInt64, bytesOut: UInt64, created: UInt64) {
        self.slot = slot
        self.state = state
        self.local = local
        self.localPort = localPort
        self.remote = remote
        self.remotePort = remotePort
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.created = created
    }
}
