import Foundation
import L2Control
import L2Edge

/// Makes a switch's ports from their specs, each of its kind (`PortEndpoint`): TAPs it creates,
/// interfaces it attaches, QEMU sockets it listens on, VXLAN tunnels. Everything that can be checked
/// is checked for every port before the first is made; making them is all-or-nothing (a failure half
/// way closes what was made, which removes those TAPs and socket files and releases those claims).
enum SwitchPortFactory {
    /// Refuses, with what to fix, any port that cannot be made: a missing namespace, a TAP name that is
    /// taken, an interface to attach that does not exist or is taken, a socket path that exists, a
    /// tunnel that cannot bind its UDP port (tried, then closed).
    static func preflight(_ specs: [PortSpec]) throws {
        try validatePorts(specs)
        for spec in specs {
            switch spec.endpoint {
            case .tap: try TapPorts.preflight(spec)
            case .attach: try preflightAttach(spec)
            case let .qemu(path): try preflightSocket(path, port: spec.name)
            case let .vxlan(tunnel):
                if let underlay = tunnel.underlay, !NetworkNamespace.exists(underlay) {
                    throw ConfigurationError("port \(spec.name): underlay namespace \(underlay) does not exist; the tunnel's UDP socket lives there (create it, give it an address, or leave underlay= out)")
                }
                // A trial bind: an address the underlay lacks or a port taken there is refused now,
                // before any TAP is made, rather than halfway through making the ports.
                try openTunnel(spec, tunnel).close()
            }
        }
    }

    /// The tunnel's port, a refusal naming the switch port.
    private static func openTunnel(_ spec: PortSpec, _ tunnel: VXLANTunnelSpec) throws -> VXLANPort {
        do {
            return try VXLANPort(tunnel, frameMTU: spec.switchMTU)
        } catch let error as ConfigurationError {
            throw ConfigurationError("port \(spec.name): \(error.message)")
        }
    }

    private static func preflightAttach(_ spec: PortSpec) throws {
        let namespace = spec.namespace
        let place = namespace.isEmpty ? "the root namespace" : "namespace \(namespace)"
        if !namespace.isEmpty, !NetworkNamespace.exists(namespace) {
            throw ConfigurationError("port \(spec.name): network namespace \(namespace) does not exist; netns= names the namespace the interface lives in (`ip netns list`)")
        }
        let show = (namespace.isEmpty ? ["ip"] : ["ip", "-n", namespace]) + ["-o", "link", "show", "dev", spec.interface]
        guard let line = try? CommandRunner.run(show) else {
            throw ConfigurationError("port \(spec.name): there is no interface \(spec.interface) in \(place); attach= joins an interface that exists (`ip\(namespace.isEmpty ? "" : " -n \(namespace)") link` lists them)")
        }
        if let master = line.range(of: " master ") {
            let bridge = line[master.upperBound...].split(separator: " ").first.map(String.init) ?? "?"
            throw ConfigurationError("port \(spec.name): \(spec.interface) in \(place) is already a port of \(bridge); take it out first (`ip link set dev \(spec.interface) nomaster`)")
        }
    }

    private static func preflightSocket(_ path: String, port: String) throws {
        if FileManager.default.fileExists(atPath: path) {
            throw ConfigurationError("port \(port): \(path) exists; a qemu= port listens on a new socket there (remove it if no switch uses it, or choose another path)")
        }
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        if !directory.isEmpty, !(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue) {
            throw ConfigurationError("port \(port): the directory of \(path) does not exist; create it first")
        }
    }

    /// Makes every port, in spec order. TAPs are named `tapPrefix` + the port's index.
    static func make(_ specs: [PortSpec], tapPrefix: String, offloads: Bool) throws -> [any SwitchPort] {
        var made: [any SwitchPort] = []
        do {
            for (index, spec) in specs.enumerated() {
                made.append(try make(spec, tapName: "\(tapPrefix)\(index)", offloads: offloads))
            }
        } catch {
            for port in made { port.close() }
            throw error
        }
        return made
    }

    private static func make(_ spec: PortSpec, tapName: String, offloads: Bool) throws -> any SwitchPort {
        switch spec.endpoint {
        case .tap:
            return TapPort(try TapPorts.make(spec, name: tapName, offloads: offloads))
        case .attach:
            return try AttachedPort(interface: spec.interface, namespace: spec.namespace)
        case let .qemu(path):
            return try QEMUStreamPort(path: path, frameLimit: spec.switchMTU + 18)
        case let .vxlan(tunnel):
            return try openTunnel(spec, tunnel)
        }
    }
}
