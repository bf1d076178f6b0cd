import L2Wire

/// A segment the stack sends: the whole TCP header, options and payload with the checksum filled in
/// for the family's pseudo-header; the caller wraps it in an IP packet from `local` to `remote`.
public struct TCPOutgoingSegment: Hashable, Sendable {
    public var local: IPAddress
    public var remote: IPAddress
    public var segment: [UInt8]

    public init(local: IPAddress, remote: IPAddress, segment: [UInt8]) {
        self.local = local
        self.remote = remote
        self.segment = segment
    }
}
