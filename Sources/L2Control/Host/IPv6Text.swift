import L2Wire

/// How the CLI and status tables show a node's IPv6 addresses.
public enum IPv6Text {
    /// Routable ones with their prefix, then link-local ones bare (their /64 says nothing):
    /// `fd00:10:10::10/64, fe80::250:56ff:fe00:10`; `-` for none.
    public static func compact(_ interfaces: [IPv6Interface]) -> String {
        let routable = interfaces.filter { !$0.address.isLinkLocal }.map(\.description)
        let linkLocal = interfaces.filter { $0.address.isLinkLocal }.map(\.address.description)
        let all = routable + linkLocal
        return all.isEmpty ? "-" : all.joined(separator: ", ")
    }
}
