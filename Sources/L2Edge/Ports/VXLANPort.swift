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
public final class VXLANPort: SwitchPort {
    public let tunnelSpec: VXLANTunnelSpec
    public let socket: OwnedDescriptor
    public let tunnel: VXLANTunnel
    private let carrier = Atomic<Bool>(true)

    /// Opens and binds the tunnel's socket. A place it cannot bind (an address the underlay does not
    /// have, a port taken there) is a `ConfigurationError` saying what to change.
    /// `frameMTU`: the port's MTU, which tells a Linux sender's TCP super-frame from a frame.
    public init(_ spec: VXLANTunnelSpec, frameMTU: Int) throws {
        let opened: OpenedSocket
        do {
            opened = try Self.open(spec)
        } catch let error as SystemError where error.call == Self.bindCall {
            throw ConfigurationError(Self.bindRefusal(error.errno, spec))
        }
        socket = OwnedDescriptor(taking: opened.descriptor)
        tunnelSpec = spec
        tunnel = VXLANTunnel(socket: opened.descriptor, vni: spec.vni, remote: Self.address(spec.remote, port: spec.port), frameMTU: frameMTU)
    }

    private static let bindCall = "bind UDP port for a VXLAN tunnel"

    private static func open(_ spec: VXLANTunnelSpec) throws -> OpenedSocket {
        try NetworkNamespace.perform(in: spec.underlay ?? "") { () throws(SystemError) -> OpenedSocket in
            let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw SystemError("socket(AF_INET, SOCK_DGRAM)") }
            var local = Self.address(spec.local, port: spec.port)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let error = SystemError(bindCall)
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
    }

    /// Why the tunnel's socket could not be bound, and what to change.
    static func bindRefusal(_ code: Int32, _ spec: VXLANTunnelSpec) -> String {
        let place = spec.underlay.map { "namespace \($0)" } ?? "the root namespace"
        let list = spec.underlay.map { "ip -n \($0) -br addr" } ?? "ip -br addr"
        switch code {
        case EADDRNOTAVAIL:
            return "local=\(spec.local?.description ?? "") is not an address of \(place); give local= one it has (`\(list)`), or leave local= out"
        case EADDRINUSE:
            return "UDP port \(spec.port) is taken in \(place) (a kernel vxlan device or another tunnel receives there); remove that one, or use another dstport= at both ends"
        default:
            return "cannot bind UDP \(spec.local?.description ?? "*"):\(spec.port) in \(place): \(String(cString: strerror(code)))"
        }
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
        FrameChannel(descriptor: socket.rawValue, framing: .tunnel(Unmanaged.passUnretained(tunnel)), acceptsOffloads: false,
                     readsHeader: true)
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
