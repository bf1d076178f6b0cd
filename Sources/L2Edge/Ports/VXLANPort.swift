import L2Control
import L2Wire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A switch port that carries its segment to another switch over UDP (VXLAN, RFC 7348:
/// `vxlan=REMOTE,vni=N[,local=ADDR][,dstport=4789][,underlay=NS]`). The UDP socket is made in the
/// underlay namespace and bound to the tunnel's port (and local address when given), so a Linux vxlan
/// device (`ip link add … type vxlan id N remote … dstport 4789`) or another l2motion VXLAN port
/// reaches it. Frames carry no virtio-net header: a super-frame bound here is segmented by the switch.
/// Datagrams go out without DF, as a Linux vxlan device sends them by default.
///
/// Carrier is only recorded; the switch's admin state stops frames.
public final class VXLANPort: SwitchPort, EndpointReporting {
    public let tunnelSpec: VXLANTunnelSpec
    public let socket: OwnedDescriptor
    public let tunnel: VXLANTunnel
    private let carrier = Atomic<Bool>(true)

    public init(_ spec: VXLANTunnelSpec) throws {
        let opened = try NetworkNamespace.perform(in: spec.underlay ?? "") { () throws(SystemError) -> OpenedSocket in
            let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw SystemError("socket(AF_INET, SOCK_DGRAM)") }
            var local = Self.address(spec.local, port: spec.port)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let error = SystemError("bind UDP port \(spec.port) for a VXLAN tunnel", spec.local?.description ?? "")
                Glibc.close(fd)
                throw error
            }
            var dontFragment = IP_PMTUDISC_DONT
            _ = setsockopt(fd, Int32(IPPROTO_IP), IP_MTU_DISCOVER, &dontFragment, socklen_t(MemoryLayout<Int32>.size))
            var size: Int32 = 4 << 20
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
            return OpenedSocket(descriptor: fd)
        }
        socket = OwnedDescriptor(taking: opened.descriptor)
        tunnelSpec = spec
        tunnel = VXLANTunnel(socket: opened.descriptor, vni: spec.vni, remote: Self.address(spec.remote, port: spec.port))
    }

    static func address(_ address: IPv4Address?, port: UInt16) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        result.sin_addr.s_addr = (address?.rawValue ?? 0).bigEndian
        return result
    }

    public var name: String { "vxlan \(tunnelSpec.vni) to \(tunnelSpec.remote)" }

    public var channel: FrameChannel {
        FrameChannel(descriptor: socket.rawValue, framing: .tunnel(Unmanaged.passUnretained(tunnel)), acceptsOffloads: false)
    }

    public var hasCarrier: Bool { carrier.load(ordering: .relaxed) }

    public func setCarrier(_ on: Bool) throws(SystemError) { carrier.store(on, ordering: .relaxed) }

    public var endpointState: String { hasCarrier ? "up" : "down" }

    public var endpointCounters: [String: UInt64] {
        ["foreign": tunnel.foreign.load(ordering: .relaxed), "wrong_vni": tunnel.wrongVNI.load(ordering: .relaxed),
         "malformed": tunnel.malformed.load(ordering: .relaxed)]
    }

    public func close() { socket.close() }
}
