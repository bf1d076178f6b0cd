import Foundation
import L2Control
import L2Edge
import L2Wire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The networks the VXLAN tests build in a sandbox: an underlay of two namespaces joined by a veth
/// (`10.251.N.1/24` and `.2/24`, the veth's MTU 1550 so a 1500-byte overlay frame fits with VXLAN's
/// 50 bytes), overlay addresses in `10.252.N.0/24`, N taken from the test process's PID. Every
/// address lives in a namespace the sandbox made.
enum VXLANNetworks {
    static let subnet = Int(getpid() % 250) + 1
    static func underlayAddress(_ host: Int) -> String { "10.251.\(subnet).\(host)" }
    static func overlayAddress(_ host: Int) -> String { "10.252.\(subnet).\(host)" }
    static let vni: UInt32 = 4242
    /// The veth of the underlay, in both of its namespaces.
    static let underlayLink = "u0"

    /// Two namespaces, `<prefix>-ua` (10.251.N.1) and `<prefix>-ub` (10.251.N.2), joined by a veth.
    struct Underlay {
        let a: String
        let b: String
        var addressA: String { VXLANNetworks.underlayAddress(1) }
        var addressB: String { VXLANNetworks.underlayAddress(2) }

        init(_ sandbox: Sandbox, mtu: Int = 1550) throws {
            a = try sandbox.namespace("ua")
            b = try sandbox.namespace("ub")
            let link = VXLANNetworks.underlayLink
            try CommandRunner.run(["ip", "-n", a, "link", "add", link, "mtu", String(mtu), "type", "veth",
                                   "peer", "name", link, "netns", b, "mtu", String(mtu)])
            for (namespace, host) in [(a, 1), (b, 2)] {
                try CommandRunner.run(["ip", "-n", namespace, "addr", "add", "\(VXLANNetworks.underlayAddress(host))/24", "dev", link])
                try CommandRunner.run(["ip", "-n", namespace, "link", "set", link, "up"])
            }
        }

        /// A Linux vxlan device `vx0` in namespace b, towards a (the l2motion end), with overlay
        /// address 10.252.N.2/24.
        func addKernelVXLAN(vni: UInt32 = VXLANNetworks.vni) throws {
            try CommandRunner.run(["ip", "-n", b, "link", "add", "vx0", "type", "vxlan", "id", String(vni), "remote", addressA,
                                   "local", addressB, "dstport", "4789", "dev", VXLANNetworks.underlayLink])
            try CommandRunner.run(["ip", "-n", b, "addr", "add", "\(VXLANNetworks.overlayAddress(2))/24", "dev", "vx0"])
            try CommandRunner.run(["ip", "-n", b, "link", "set", "vx0", "up"])
        }
    }

    /// Starts `l2motion switch NAME` with a TAP port `c` into `client` (overlay address `host`) and a
    /// VXLAN port `vx` to `remote` from `local` in `underlay`; returns its control socket once it answers.
    static func startSwitch(_ sandbox: Sandbox, name: String, client: String, host: Int, remote: String, local: String,
                            underlay: String, options: [String] = []) throws -> String {
        let arguments = ["switch", name, "--lab", sandbox.prefix, "--capture-dir", sandbox.directory + "/captures"] + options
            + ["--port", "name=c,netns=\(client),ifname=eth0,addr=\(overlayAddress(host))/24",
               "--port", "name=vx,vxlan=\(remote),vni=\(vni),local=\(local),underlay=\(underlay)"]
        _ = try sandbox.l2motion(arguments, log: name)
        let socket = "/run/l2motion/\(sandbox.prefix)/switch-\(name).sock"
        let ready = sandbox.waitUntil { (try? ControlClient.call(socket, SwitchCall.status)) != nil }
        try #require(ready, "switch \(name) did not come up: \(sandbox.logText(name))")
        return socket
    }

    static func ping(in namespace: String, _ address: String, count: Int = 3) -> Bool {
        CommandRunner.succeeds(["ip", "netns", "exec", namespace, "ping", "-c", String(count), "-i", "0.1", "-W", "2", address])
    }

    static func mac(of link: String, in namespace: String) throws -> MACAddress {
        let text = try CommandRunner.run(["ip", "-n", namespace, "-br", "link", "show", link])
        let field = text.split(separator: " ", omittingEmptySubsequences: true)[2]
        return try #require(MACAddress(String(field)))
    }

    /// The VXLAN port's endpoint state from the switch's `status` reply.
    static func tunnelState(_ socket: String) throws -> PortEndpointState {
        let status = try ControlClient.call(socket, SwitchCall.status)
        return try #require(status.endpoints?.first { $0.port == "vx" }, "status has the vx port's endpoint: \(status)")
    }

    /// Sends one UDP datagram from `source` (an address of `namespace`, any port) to `destination`:4789.
    static func sendDatagram(_ bytes: [UInt8], in namespace: String, from source: String, to destination: String) throws {
        let sourceAddress = try #require(IPv4Address(source)), destinationAddress = try #require(IPv4Address(destination))
        let (sent, error) = try NetworkNamespace.perform(in: namespace) { () -> (Int, Int32) in
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return (-1, errno) }
            defer { close(fd) }
            var from = socketAddress(sourceAddress, port: 0), to = socketAddress(destinationAddress, port: 4789)
            let bound = withUnsafePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { return (-1, errno) }
            let count = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &to) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            return (count, count < 0 ? errno : 0)
        }
        #expect(sent == bytes.count, "datagram from \(source) in \(namespace) sent: \(String(cString: strerror(error)))")
    }

    private static func socketAddress(_ address: IPv4Address, port: UInt16) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        result.sin_addr.s_addr = address.rawValue.bigEndian
        return result
    }

    /// Runs iperf3 TCP from `client` to `server`'s `address` for `seconds` (reversed: the server
    /// sends), and returns the bytes the receiver got (nil with the output when it failed).
    static func iperf(_ sandbox: Sandbox, client: String, server: String, address: String, seconds: Int = 3,
                      reverse: Bool = false) throws -> (received: Double?, output: String) {
        let serverProcess = try sandbox.spawn(["ip", "netns", "exec", server, "iperf3", "-s", "-1", "-p", "5201"],
                                              log: "iperf3-server\(reverse ? "-r" : "")")
        let listening = sandbox.waitUntil {
            (try? CommandRunner.run(["ip", "netns", "exec", server, "ss", "-ltn"]))?.contains(":5201 ") == true
        }
        try #require(listening, "iperf3 server listening")
        let output = (try? CommandRunner.run(["ip", "netns", "exec", client, "timeout", String(seconds + 20), "iperf3", "-c", address,
                                              "-p", "5201", "-t", String(seconds), "-J", "--connect-timeout", "3000"]
                                             + (reverse ? ["-R"] : []))) ?? ""
        _ = serverProcess.wait(seconds: 10)
        guard let data = output.data(using: .utf8),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let end = json["end"] as? [String: Any], let received = end["sum_received"] as? [String: Any],
              let bytes = received["bytes"] as? Double else { return (nil, output) }
        return (bytes, output)
    }
}
