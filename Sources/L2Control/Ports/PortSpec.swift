import L2Switch
import L2Wire

/// One switch port as given on the command line: what it leads to (`endpoint`: a TAP the switch
/// makes, by default, or an existing interface, a QEMU socket, a VXLAN tunnel), for a TAP which
/// namespace gets its kernel side, the interface name it gets there and for client hosts an address,
/// its MTU, and how the switch treats the port: its VLAN mode, port security and its own MTU when that
/// differs from the interface's.
///
/// Written as `name=p1,netns=l2m-client01,ifname=eth0[,mtu=1500][,port-mtu=N][,vlan=N|trunk=10:20:30-40[,native=N]]
/// [,max-macs=N[,sticky=yes|no][,violation=drop|shut]][,addr=10.10.0.100/24][,addr6=fd00:10:10::100/64[+…]][,desc=TEXT]`, or with
/// `attach=IFNAME[,netns=NS]`, `qemu=PATH` or `vxlan=REMOTE,vni=N[,local=A][,dstport=P][,underlay=NS]`
/// in place of `netns=`/`ifname=` (see `init(parsing:)`).
public struct PortSpec: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// What the port leads to; `.tap` unless `attach=`, `qemu=` or `vxlan=` says otherwise.
    public var endpoint: PortEndpoint = .tap
    /// A TAP's namespace; an attached interface's (empty: the root namespace); empty for the others.
    public var namespace: String
    /// A TAP's interface name in its namespace; the attached interface; empty for the others.
    public var interface: String
    /// The interface's MTU (a TAP's kernel side, in its namespace); for the other kinds, which
    /// configure no interface, the MTU the switch checks the port's frames against.
    public var mtu: Int
    public var address: IPv4Interface?
    /// IPv6 addresses a TAP's kernel side gets (`addr6=`, several joined by `+`); with none, IPv6
    /// stays off on the interface, as on every port before.
    public var addresses6: [IPv6Interface] = []
    /// Where the port leads, for people ("vmnic0 of host esx01"): the capture's `if_description`.
    public var summary: String?
    /// Unaware (no `vlan=`/`trunk=`), access or trunk.
    public var vlanMode: PortVLANMode
    /// `max-macs=`, `sticky=`, `violation=`; nil: none.
    public var security: PortSecurity?
    /// The switch port's own MTU (`port-mtu=`) when it must differ from the interface's.
    public var portMTU: Int?

    public static let maximumMTU = 9000
    public static let minimumMTU = 68
    public static let maximumInterfaceName = 15

    public init(name: String, namespace: String, interface: String, mtu: Int = 1500, address: IPv4Interface? = nil,
                summary: String? = nil, vlanMode: PortVLANMode = .unaware, security: PortSecurity? = nil, portMTU: Int? = nil) {
        self.name = name
        self.namespace = namespace
        self.interface = interface
        self.mtu = mtu
        self.address = address
        self.summary = summary
        self.vlanMode = vlanMode
        self.security = security
        self.portMTU = portMTU
    }

    /// The MTU the switch checks this port's frames against: `port-mtu=`, else the interface's.
    public var switchMTU: Int { portMTU ?? mtu }

    /// The switch core's view of the port.
    public var portConfiguration: PortConfiguration {
        PortConfiguration(name: name, mtu: switchMTU, vlanMode: vlanMode, security: security)
    }

    /// What the capture says the port leads to: `summary`, or the endpoint in words.
    public var captureDescription: String { summary ?? endpointDescription }

    /// The endpoint in words: "eth0 in namespace l2m-client01", "attached vnet0 in the root namespace",
    /// "QEMU stream socket /run/q.sock", "VXLAN VNI 100 to 192.0.2.2:4789 (underlay ns u1)".
    public var endpointDescription: String {
        switch endpoint {
        case .tap:
            return "\(interface) in namespace \(namespace)"
        case .attach:
            return "attached \(interface) in " + (namespace.isEmpty ? "the root namespace" : "namespace \(namespace)")
        case let .qemu(path):
            return "QEMU stream socket \(path)"
        case let .vxlan(tunnel):
            return "VXLAN VNI \(tunnel.vni) to \(tunnel.remote):\(tunnel.port)" + (tunnel.underlay.map { " (underlay namespace \($0))" } ?? "")
        }
    }

    /// What must not be shared by two ports of one switch, in words for the error: a TAP's or an
    /// attached interface's namespace and name, a QEMU socket's path, a tunnel's binding.
    public var place: String {
        switch endpoint {
        case .tap, .attach: "interface \(interface) in " + (namespace.isEmpty ? "the root namespace" : "namespace \(namespace)")
        case let .qemu(path): "socket path \(path)"
        case let .vxlan(tunnel): "VXLAN binding \(tunnel.bindingPlace)"
        }
    }

    /// Checks the fields that need no system look-up.
    public func validate() throws(ConfigurationError) {
        guard !name.isEmpty, name.utf8.count <= 32, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ConfigurationError("port name \"\(name)\" must be 1-32 letters, digits, - or _")
        }
        try validateEndpoint()
        for (key, value) in [("mtu", mtu), ("port-mtu", portMTU)] {
            guard let value else { continue }
            guard (Self.minimumMTU...Self.maximumMTU).contains(value) else {
                throw ConfigurationError("port \(name): \(key) \(value) is out of range; use \(Self.minimumMTU)...\(Self.maximumMTU)")
            }
        }
        switch vlanMode {
        case .unaware:
            break
        case let .access(vlan):
            try Self.checkVLAN(vlan, key: "vlan", port: name)
        case let .trunk(allowed, native):
            if let native { try Self.checkVLAN(native, key: "native", port: name) }
            guard !allowed.isEmpty || native != nil else {
                throw ConfigurationError("port \(name): a trunk needs its allowed VLANs; write trunk=10:20:30-40")
            }
        }
        if let security {
            if case .trunk = vlanMode { throw Self.securityOnTrunk(port: name) }
            guard PortSecurity.maximumMACRange.contains(security.maximumMACs) else {
                throw ConfigurationError("port \(name): max-macs \(security.maximumMACs) is out of range; use \(PortSecurity.maximumMACRange.lowerBound)...\(PortSecurity.maximumMACRange.upperBound)")
            }
        }
        if let summary, summary.utf8.count > 200 {
            throw ConfigurationError("port \(name): desc is \(summary.utf8.count) bytes; keep it to 200")
        }
    }

    static func checkVLAN(_ vlan: UInt16, key: String, port: String) throws(ConfigurationError) {
        guard VLANSet.validIDs.contains(vlan) else {
            throw ConfigurationError("port \(port): \(key) \(vlan) is out of range; use \(VLANSet.validIDs.lowerBound)...\(VLANSet.validIDs.upperBound)")
        }
    }

    static func securityOnTrunk(port: String) -> ConfigurationError {
        ConfigurationError("port \(port): port security would stop vMotion on a host's trunk (it carries every VM the host runs and every one that migrates to it); put max-macs, sticky and violation on access ports (vlan=N) only")
    }

    public static func validateInterfaceName(_ value: String, what: String) throws(ConfigurationError) {
        guard !value.isEmpty else { throw ConfigurationError("\(what) is empty") }
        guard value.utf8.count <= maximumInterfaceName else {
            throw ConfigurationError("\(what) \"\(value)\" is \(value.utf8.count) bytes; Linux interface names are at most \(maximumInterfaceName)")
        }
        guard value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
            throw ConfigurationError("\(what) \"\(value)\" may hold only ASCII letters, digits, - _ .")
        }
    }

    /// The `key=value,...` form `init(parsing:)` reads back; new keys appear only when set, so an
    /// unaware port prints as it always did.
    public var description: String {
        var text = "name=\(name),\(endpointKeys),mtu=\(mtu)"
        if let portMTU { text += ",port-mtu=\(portMTU)" }
        switch vlanMode {
        case .unaware: break
        case let .access(vlan): text += ",vlan=\(vlan)"
        case let .trunk(allowed, native): text += ",trunk=\(allowed)" + (native.map { ",native=\($0)" } ?? "")
        }
        if let security {
            text += ",max-macs=\(security.maximumMACs),sticky=\(security.sticky ? "yes" : "no"),violation=\(security.violation.rawValue)"
        }
        return text + (address.map { ",addr=\($0)" } ?? "")
            + (addresses6.isEmpty ? "" : ",addr6=" + addresses6.map(\.description).joined(separator: "+")) + (summary.map { ",desc=\($0)" } ?? "")
    }
}

extension PortSpec: Codable {
    enum CodingKeys: String, CodingKey {
        case name, namespace, interface, mtu, address, addresses6, summary, vlan, trunk, native, security, attach, qemu, vxlan
        case portMTU = "port_mtu"
    }

    /// The fields as they always were, plus `vlan` (access), `trunk`/`native`, `security` and
    /// `port_mtu` when set, and `attach: true`, `qemu: PATH` or `vxlan: {…}` for those kinds.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        switch endpoint {
        case .tap: break
        case .attach: try container.encode(true, forKey: .attach)
        case let .qemu(path): try container.encode(path, forKey: .qemu)
        case let .vxlan(tunnel): try container.encode(tunnel, forKey: .vxlan)
        }
        try container.encode(namespace, forKey: .namespace)
        try container.encode(interface, forKey: .interface)
        try container.encode(mtu, forKey: .mtu)
        try container.encodeIfPresent(address, forKey: .address)
        if !addresses6.isEmpty { try container.encode(addresses6, forKey: .addresses6) }
        try container.encodeIfPresent(summary, forKey: .summary)
        try vlanMode.encode(to: &container, vlan: .vlan, trunk: .trunk, native: .native)
        try container.encodeIfPresent(security, forKey: .security)
        try container.encodeIfPresent(portMTU, forKey: .portMTU)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        if let tunnel = try container.decodeIfPresent(VXLANTunnelSpec.self, forKey: .vxlan) {
            endpoint = .vxlan(tunnel)
        } else if let path = try container.decodeIfPresent(String.self, forKey: .qemu) {
            endpoint = .qemu(path: path)
        } else if try container.decodeIfPresent(Bool.self, forKey: .attach) == true {
            endpoint = .attach
        }
        namespace = try container.decode(String.self, forKey: .namespace)
        interface = try container.decode(String.self, forKey: .interface)
        mtu = try container.decode(Int.self, forKey: .mtu)
        address = try container.decodeIfPresent(IPv4Interface.self, forKey: .address)
        addresses6 = try container.decodeIfPresent([IPv6Interface].self, forKey: .addresses6) ?? []
        summary = try container.decodeIfPresent(String.self, forKey: .summary)
        vlanMode = try PortVLANMode(from: container, vlan: .vlan, trunk: .trunk, native: .native)
        security = try container.decodeIfPresent(PortSecurity.self, forKey: .security)
        portMTU = try container.decodeIfPresent(Int.self, forKey: .portMTU)
    }
}

/// A configuration mistake, in words that say what to fix.
public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Checks a set of ports together: unique names, and no interface, socket path or tunnel binding
/// used by two ports.
public func validatePorts(_ ports: [PortSpec]) throws(ConfigurationError) {
    guard !ports.isEmpty else { throw ConfigurationError("a switch needs at least one --port") }
    var names = Set<String>()
    var places: [String: String] = [:]
    for port in ports {
        try port.validate()
        guard names.insert(port.name).inserted else {
            throw ConfigurationError("port name \(port.name) is used twice; give each --port its own name")
        }
        if let other = places[port.place] {
            throw ConfigurationError("ports \(other) and \(port.name) both use \(port.place); give each port its own")
        }
        places[port.place] = port.name
    }
}
