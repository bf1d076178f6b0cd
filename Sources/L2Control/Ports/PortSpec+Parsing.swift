import L2Switch
import L2Wire

extension PortSpec {
    /// Every key of the `key=value,...` form.
    public static let keys = ["name", "netns", "ifname", "mtu", "addr", "addr6", "desc", "vlan", "trunk", "native", "max-macs", "sticky",
                              "violation", "port-mtu", "attach", "qemu", "vxlan", "vni", "local", "dstport", "underlay"]

    static let syntax = "name=p1,netns=NS,ifname=eth0[,mtu=1500][,port-mtu=N][,vlan=N|trunk=10:20:30-40[,native=N]][,max-macs=N,sticky=yes|no,violation=drop|shut][,addr=10.0.0.1/24][,addr6=fd00::1/64[+…]][,desc=TEXT] (a TAP), or attach=IFNAME[,netns=NS], qemu=PATH or vxlan=REMOTE,vni=N[,local=A][,dstport=4789][,underlay=NS] in place of netns= and ifname="

    /// Parses the `key=value,...` form; the error says which key is wrong and what to write.
    ///
    /// - `vlan=N`: an access port in VLAN N (1...4094), untagged in and out.
    /// - `trunk=10:20:30-40`: a trunk carrying these VLANs tagged; `native=N` carries untagged
    ///   frames in VLAN N (without it they are dropped). `vlan=` and `trunk=` exclude each other;
    ///   with neither the port is VLAN-unaware, as every port always was.
    /// - `max-macs=N` (1...4096), `sticky=yes|no` (default no), `violation=drop|shut` (default
    ///   drop): port security, refused on trunks.
    /// - `port-mtu=N`: the switch port's MTU when it must differ from the interface's `mtu=`.
    /// - `attach=IFNAME[,netns=NS]`, `qemu=PATH`, `vxlan=REMOTE,vni=N[,local=A][,dstport=P][,underlay=NS]`
    ///   in place of `netns=`/`ifname=`: an existing interface, a QEMU stream socket, a VXLAN tunnel
    ///   (`PortEndpoint`); `mtu=` is then the MTU the switch checks the port's frames against.
    public init(parsing text: String) throws(ConfigurationError) {
        var fields: [String: String] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, !pair[1].isEmpty else {
                throw ConfigurationError("port \"\(text)\": \"\(part)\" is not key=value; write \(Self.syntax)")
            }
            guard Self.keys.contains(pair[0]) else {
                throw ConfigurationError("port \"\(text)\": unknown key \"\(pair[0])\"; keys are \(Self.keys.joined(separator: ", "))")
            }
            fields[pair[0]] = pair[1]
        }
        guard let name = fields["name"] else {
            throw ConfigurationError("port \"\(text)\": missing name=; write name=p1,netns=NS,ifname=eth0")
        }
        let (endpoint, namespace, interface) = try Self.endpoint(fields, port: name, text: text)
        func number(_ key: String) throws(ConfigurationError) -> Int? {
            guard let text = fields[key] else { return nil }
            guard let value = Int(text) else { throw ConfigurationError("port \(name): \(key) \"\(text)\" is not a number") }
            return value
        }
        var address: IPv4Interface?
        if let text = fields["addr"] {
            guard let value = IPv4Interface(text) else {
                throw ConfigurationError("port \(name): addr \"\(text)\" is not an IPv4 address with prefix like 10.10.0.100/24")
            }
            address = value
        }
        var addresses6: [IPv6Interface] = []
        for text in fields["addr6"].map({ $0.split(separator: "+", omittingEmptySubsequences: false).map(String.init) }) ?? [] {
            guard let value = IPv6Interface(text) else {
                throw ConfigurationError("port \(name): addr6 \"\(text)\" is not an IPv6 address with prefix like fd00:10:10::100/64 (join several with +)")
            }
            addresses6.append(value)
        }
        self.init(name: name, namespace: namespace, interface: interface, mtu: try number("mtu") ?? 1500,
                  address: address, summary: fields["desc"], vlanMode: try Self.vlanMode(fields, port: name),
                  security: try Self.security(fields, port: name), portMTU: try number("port-mtu"))
        self.endpoint = endpoint
        self.addresses6 = addresses6
        try validate()
    }

    private static func vlanID(_ text: String, key: String, port: String) throws(ConfigurationError) -> UInt16 {
        guard let value = UInt16(text), VLANSet.validIDs.contains(value) else {
            throw ConfigurationError("port \(port): \(key) \"\(text)\" is not a VLAN id; use \(VLANSet.validIDs.lowerBound)...\(VLANSet.validIDs.upperBound)")
        }
        return value
    }

    private static func vlanMode(_ fields: [String: String], port: String) throws(ConfigurationError) -> PortVLANMode {
        switch (fields["vlan"], fields["trunk"]) {
        case (nil, nil):
            guard fields["native"] == nil else {
                throw ConfigurationError("port \(port): native= goes with trunk= (it is the VLAN of a trunk's untagged frames); write trunk=10:20,native=1, or vlan=N for an access port")
            }
            return .unaware
        case let (vlan?, nil):
            guard fields["native"] == nil else {
                throw ConfigurationError("port \(port): native= goes with trunk=; an access port (vlan=\(vlan)) is untagged already")
            }
            return .access(try vlanID(vlan, key: "vlan", port: port))
        case let (nil, trunk?):
            let allowed: VLANSet
            do {
                allowed = try VLANSet(parsing: trunk)
            } catch {
                throw ConfigurationError("port \(port): trunk=: \(error)")
            }
            return .trunk(allowed, native: try fields["native"].map { text throws(ConfigurationError) in try vlanID(text, key: "native", port: port) })
        case (_?, _?):
            throw ConfigurationError("port \(port): vlan= and trunk= exclude each other; an access port has one VLAN (vlan=10), a trunk a list (trunk=10:20:30-40)")
        }
    }

    private static func security(_ fields: [String: String], port: String) throws(ConfigurationError) -> PortSecurity? {
        guard fields["max-macs"] != nil || fields["sticky"] != nil || fields["violation"] != nil else { return nil }
        if fields["trunk"] != nil { throw securityOnTrunk(port: port) }
        guard let limitText = fields["max-macs"] else {
            throw ConfigurationError("port \(port): sticky= and violation= set up port security; give max-macs=N (\(PortSecurity.maximumMACRange.lowerBound)...\(PortSecurity.maximumMACRange.upperBound)) too")
        }
        guard let limit = Int(limitText) else { throw ConfigurationError("port \(port): max-macs \"\(limitText)\" is not a number") }
        var security = PortSecurity(maximumMACs: limit)
        if let sticky = fields["sticky"] {
            switch sticky {
            case "yes", "true": security.sticky = true
            case "no", "false": security.sticky = false
            default: throw ConfigurationError("port \(port): sticky \"\(sticky)\" must be yes or no")
            }
        }
        if let violation = fields["violation"] {
            guard let action = PortSecurity.Violation(rawValue: violation) else {
                throw ConfigurationError("port \(port): violation \"\(violation)\" must be drop (drop the frame, count it) or shut (shut the port until `l2motion port SWITCH \(port) up`)")
            }
            security.violation = action
        }
        return security
    }
}
