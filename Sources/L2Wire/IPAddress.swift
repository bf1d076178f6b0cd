/// An IP address of either family: what a connection's endpoint or a service's address is.
public enum IPAddress: Hashable, Sendable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// 4 or 6.
    public var family: Int {
        switch self {
        case .v4: 4
        case .v6: 6
        }
    }
}
