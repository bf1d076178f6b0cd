import L2Wire

extension PortSpec {
    /// The longest unix socket path Linux takes (`sun_path` holds 108 bytes, the last a NUL).
    public static let maximumSocketPath = 107

    /// The keys that say what the port leads to, as `description` writes them.
    var endpointKeys: String {
        switch endpoint {
        case .tap: "netns=\(namespace),ifname=\(interface)"
        case .attach: "attach=\(interface)" + (namespace.isEmpty ? "" : ",netns=\(namespace)")
        case let .qemu(path): "qemu=\(path)"
        case let .vxlan(tunnel): tunnel.keyText
        }
    }

    /// The endpoint's own checks, none of which looks at the system (the daemon's preflight does).
    func validateEndpoint() throws(ConfigurationError) {
        switch endpoint {
        case .tap:
            try Self.validateInterfaceName(interface, what: "port \(name): ifname")
        case .attach:
            try Self.validateInterfaceName(interface, what: "port \(name): attach")
            guard address == nil else {
                throw ConfigurationError("port \(name): addr= goes with a TAP port the switch makes; an attached interface keeps the addresses it has (set them with `ip addr` where it lives)")
            }
        case let .qemu(path):
            guard !path.isEmpty, path.utf8.count <= Self.maximumSocketPath else {
                throw ConfigurationError("port \(name): qemu socket path \"\(path)\" must be 1-\(Self.maximumSocketPath) bytes (a unix socket path)")
            }
            guard address == nil else { throw Self.noAddress(port: name, kind: "a QEMU socket port (the guest sets its own)") }
        case let .vxlan(tunnel):
            guard VXLANTunnelSpec.validVNIs.contains(tunnel.vni) else {
                throw ConfigurationError("port \(name): vni \(tunnel.vni) is out of range; use \(VXLANTunnelSpec.validVNIs.lowerBound)...\(VXLANTunnelSpec.validVNIs.upperBound)")
            }
            guard tunnel.port != 0 else { throw ConfigurationError("port \(name): dstport 0 is not a UDP port; use 1...65535 (4789 is VXLAN's)") }
            if let underlay = tunnel.underlay { try Self.validateNamespaceName(underlay, what: "port \(name): underlay") }
            guard address == nil else { throw Self.noAddress(port: name, kind: "a VXLAN port (the underlay's addresses are its own)") }
        }
        if endpoint != .tap, !addresses6.isEmpty {
            throw ConfigurationError("port \(name): addr6= goes with a TAP port the switch makes; this kind of port configures no interface")
        }
        if endpoint != .tap, !namespace.isEmpty { try Self.validateNamespaceName(namespace, what: "port \(name): netns") }
    }

    static func noAddress(port: String, kind: String) -> ConfigurationError {
        ConfigurationError("port \(port): addr= goes with a TAP port; \(kind) takes none")
    }

    /// A namespace name as `ip netns` takes it: no slash, not `.` or `..`.
    static func validateNamespaceName(_ value: String, what: String) throws(ConfigurationError) {
        guard !value.isEmpty, value.utf8.count <= 200, !value.contains("/"), value != ".", value != ".." else {
            throw ConfigurationError("\(what) \"\(value)\" is not a namespace name (`ip netns list` shows them)")
        }
    }

    /// Reads the endpoint keys of the `key=value,...` form: at most one of `attach=`, `qemu=`,
    /// `vxlan=`; with none, `netns=` and `ifname=` make a TAP.
    static func endpoint(_ fields: [String: String], port: String, text: String) throws(ConfigurationError) -> (PortEndpoint, namespace: String, interface: String) {
        let chosen = ["attach", "qemu", "vxlan"].filter { fields[$0] != nil }
        guard chosen.count <= 1 else {
            throw ConfigurationError("port \(port): \(chosen.map { "\($0)=" }.joined(separator: " and ")) exclude each other; a port leads to one thing")
        }
        let tunnelKeys = ["vni", "local", "dstport", "underlay"].filter { fields[$0] != nil }
        if chosen.first != "vxlan", let key = tunnelKeys.first {
            throw ConfigurationError("port \(port): \(key)= goes with vxlan=REMOTE; write vxlan=192.0.2.2,vni=100[,local=A][,dstport=4789][,underlay=NS]")
        }
        switch chosen.first {
        case nil:
            for key in ["netns", "ifname"] where fields[key] == nil {
                throw ConfigurationError("port \"\(text)\": missing \(key)=; write name=p1,netns=NS,ifname=eth0 (a TAP), or attach=IFNAME, qemu=PATH or vxlan=REMOTE,vni=N")
            }
            return (.tap, fields["netns"]!, fields["ifname"]!)
        case "attach":
            try refuse(["ifname"], in: fields, port: port, kind: "attach=IFNAME names the interface")
            return (.attach, fields["netns"] ?? "", fields["attach"]!)
        case "qemu":
            try refuse(["ifname", "netns"], in: fields, port: port, kind: "a QEMU socket port has no interface")
            return (.qemu(path: fields["qemu"]!), "", "")
        default:
            try refuse(["ifname", "netns"], in: fields, port: port, kind: "a VXLAN port has no interface; underlay=NS is where its UDP socket lives")
            return (.vxlan(try tunnel(fields, port: port)), "", "")
        }
    }

    private static func refuse(_ keys: [String], in fields: [String: String], port: String, kind: String) throws(ConfigurationError) {
        if let key = keys.first(where: { fields[$0] != nil }) {
            throw ConfigurationError("port \(port): \(key)= does not go here: \(kind)")
        }
    }

    private static func tunnel(_ fields: [String: String], port: String) throws(ConfigurationError) -> VXLANTunnelSpec {
        func address(_ key: String) throws(ConfigurationError) -> IPv4Address? {
            guard let text = fields[key] else { return nil }
            guard let value = IPv4Address(text) else {
                throw ConfigurationError("port \(port): \(key) \"\(text)\" is not an IPv4 address like 192.0.2.2")
            }
            return value
        }
        guard let remote = try address("vxlan") else { throw ConfigurationError("port \(port): vxlan= needs the remote tunnel end's address") }
        guard let vniText = fields["vni"] else {
            throw ConfigurationError("port \(port): a VXLAN port needs vni=N (\(VXLANTunnelSpec.validVNIs.lowerBound)...\(VXLANTunnelSpec.validVNIs.upperBound)), the same at both ends")
        }
        guard let vni = UInt32(vniText) else {
            throw ConfigurationError("port \(port): vni \"\(vniText)\" is not a number; use \(VXLANTunnelSpec.validVNIs.lowerBound)...\(VXLANTunnelSpec.validVNIs.upperBound)")
        }
        var udpPort = VXLANTunnelSpec.ianaPort
        if let text = fields["dstport"] {
            guard let value = UInt16(text), value > 0 else { throw ConfigurationError("port \(port): dstport \"\(text)\" is not a UDP port; use 1...65535") }
            udpPort = value
        }
        return VXLANTunnelSpec(remote: remote, vni: vni, local: try address("local"), port: udpPort, underlay: fields["underlay"])
    }
}
