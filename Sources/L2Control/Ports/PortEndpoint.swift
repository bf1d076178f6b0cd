import L2Wire

/// What a switch port leads to. Every kind forwards, learns, counts and captures alike; they differ
/// in how frames reach the switch and in what the switch creates:
///
/// - `tap`: a TAP device the switch creates; its kernel side moves into the port's namespace under
///   the port's interface name (`netns=`, `ifname=`). The switch's own kind, and the default.
/// - `attach`: an interface that already exists (`attach=IFNAME[,netns=NS]`): a QEMU or libvirt TAP
///   such as `vnet0`, a container's veth, a dummy, a NIC. The switch reads and writes it through an
///   AF_PACKET socket and leaves it where it is.
/// - `qemu`: a unix stream socket the switch listens on, for one QEMU's
///   `-netdev stream,server=off,addr.type=unix,addr.path=PATH` (`qemu=PATH`).
/// - `vxlan`: a VXLAN tunnel (RFC 7348) over UDP to another switch or a Linux vxlan device
///   (`vxlan=REMOTE,vni=N[,local=ADDR][,dstport=4789][,underlay=NS]`).
public enum PortEndpoint: Hashable, Sendable {
    case tap
    case attach
    case qemu(path: String)
    case vxlan(VXLANTunnelSpec)

    /// The kind's name, as in `lab status` and the docs: tap, attach, qemu, vxlan.
    public var kind: String {
        switch self {
        case .tap: "tap"
        case .attach: "attach"
        case .qemu: "qemu"
        case .vxlan: "vxlan"
        }
    }

    /// Whether the switch creates the interface (a TAP) rather than joining something that exists.
    public var createsInterface: Bool { self == .tap }
}

/// One end of a VXLAN tunnel: the UDP socket the switch opens in the underlay namespace and the
/// remote tunnel end it sends to and accepts frames from.
public struct VXLANTunnelSpec: Hashable, Sendable, Codable {
    /// The remote tunnel end (another switch's VXLAN port, a Linux vxlan device).
    public var remote: IPv4Address
    /// The VXLAN network identifier, 1...16777215.
    public var vni: UInt32
    /// The local address to bind; nil: any address of the underlay namespace.
    public var local: IPv4Address?
    /// The UDP port both ends use: the IANA port 4789 by default (Linux's own default is 8472; give
    /// `dstport 4789` to `ip link add ... type vxlan`).
    public var port: UInt16
    /// The namespace the UDP socket lives in; nil: the switch's own (the root namespace, which the lab
    /// never gives an address, so a tunnel there reaches nothing the lab made).
    public var underlay: String?

    public static let ianaPort: UInt16 = 4789
    public static let validVNIs: ClosedRange<UInt32> = 1...16_777_215
    /// Bytes VXLAN adds around a frame on the underlay: outer IPv4 (20), UDP (8), VXLAN (8) and the
    /// outer Ethernet header (14).
    public static let overhead = 50

    public init(remote: IPv4Address, vni: UInt32, local: IPv4Address? = nil, port: UInt16 = ianaPort, underlay: String? = nil) {
        self.remote = remote
        self.vni = vni
        self.local = local
        self.port = port
        self.underlay = underlay
    }

    enum CodingKeys: String, CodingKey {
        case remote, vni, local, underlay
        case port = "dstport"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        remote = try container.decode(IPv4Address.self, forKey: .remote)
        vni = try container.decode(UInt32.self, forKey: .vni)
        local = try container.decodeIfPresent(IPv4Address.self, forKey: .local)
        port = try container.decodeIfPresent(UInt16.self, forKey: .port) ?? Self.ianaPort
        underlay = try container.decodeIfPresent(String.self, forKey: .underlay)
    }

    /// Where this end receives: the underlay namespace, the local address (or any), the port. Two
    /// tunnels of one switch must not share it (the second could not bind).
    public var bindingPlace: String { "\(underlay ?? "-")/\(local?.description ?? "*"):\(port)" }

    /// The `vxlan=…,vni=…[,local=…][,dstport=…][,underlay=…]` keys.
    public var keyText: String {
        "vxlan=\(remote),vni=\(vni)" + (local.map { ",local=\($0)" } ?? "") + (port == Self.ianaPort ? "" : ",dstport=\(port)")
            + (underlay.map { ",underlay=\($0)" } ?? "")
    }
}
