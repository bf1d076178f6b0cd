import L2Wire

/// One switch port as given on the command line: which namespace gets the TAP's kernel side, the
/// interface name it gets there, its MTU and, for client hosts, an address.
///
/// Written as `name=p1,netns=l2m-client01,ifname=eth0[,mtu=1500][,addr=10.10.0.100/24][,desc=TEXT]`.
public struct PortSpec: Codable, Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var namespace: String
    public var interface: String
    public var mtu: Int
    public var address: IPv4Interface?
    /// Where the port leads, for people ("vmnic0 of host esx01"): the capture's `if_description`.
    public var summary: String?

    public static let maximumMTU = 9000
    public static let minimumMTU = 68
    public static let maximumInterfaceName = 15

    public init(name: String, namespace: String, interface: String, mtu: Int = 1500, address: IPv4Interface? = nil,
                summary: String? = nil) {
        self.name = name
        self.namespace = namespace
        self.interface = interface
        self.mtu = mtu
        self.address = address
        self.summary = summary
    }

    /// What the capture says the port leads to: `summary`, or the interface and its namespace.
    public var captureDescription: String { summary ?? "\(interface) in namespace \(namespace)" }

    /// Parses the `key=value,...` form; the error says which key is wrong and what to write.
    public init(parsing text: String) throws(ConfigurationError) {
        var fields: [String: String] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, !pair[1].isEmpty else {
                throw ConfigurationError("port \"\(text)\": \"\(part)\" is not key=value; write name=p1,netns=NS,ifname=eth0[,mtu=1500][,addr=10.0.0.1/24]")
            }
            guard ["name", "netns", "ifname", "mtu", "addr", "desc"].contains(pair[0]) else {
                throw ConfigurationError("port \"\(text)\": unknown key \"\(pair[0])\"; keys are name, netns, ifname, mtu, addr, desc")
            }
            fields[pair[0]] = pair[1]
        }
        for key in ["name", "netns", "ifname"] where fields[key] == nil {
            throw ConfigurationError("port \"\(text)\": missing \(key)=; write name=p1,netns=NS,ifname=eth0")
        }
        var mtu = 1500
        if let text = fields["mtu"] {
            guard let value = Int(text) else { throw ConfigurationError("port \(fields["name"]!): mtu \"\(text)\" is not a number") }
            mtu = value
        }
        var address: IPv4Interface?
        if let text = fields["addr"] {
            guard let value = IPv4Interface(text) else {
                throw ConfigurationError("port \(fields["name"]!): addr \"\(text)\" is not an IPv4 address with prefix like 10.10.0.100/24")
            }
            address = value
        }
        self.init(name: fields["name"]!, namespace: fields["netns"]!, interface: fields["ifname"]!, mtu: mtu, address: address,
                  summary: fields["desc"])
        try validate()
    }

    /// Checks the fields that need no system look-up.
    public func validate() throws(ConfigurationError) {
        guard !name.isEmpty, name.utf8.count <= 32, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ConfigurationError("port name \"\(name)\" must be 1-32 letters, digits, - or _")
        }
        try Self.validateInterfaceName(interface, what: "port \(name): ifname")
        guard (Self.minimumMTU...Self.maximumMTU).contains(mtu) else {
            throw ConfigurationError("port \(name): mtu \(mtu) is out of range; use \(Self.minimumMTU)...\(Self.maximumMTU)")
        }
        if let summary, summary.utf8.count > 200 {
            throw ConfigurationError("port \(name): desc is \(summary.utf8.count) bytes; keep it to 200")
        }
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

    public var description: String {
        "name=\(name),netns=\(namespace),ifname=\(interface),mtu=\(mtu)" + (address.map { ",addr=\($0)" } ?? "")
            + (summary.map { ",desc=\($0)" } ?? "")
    }
}

/// A configuration mistake, in words that say what to fix.
public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Checks a set of ports together: unique names, unique (namespace, interface) pairs.
public func validatePorts(_ ports: [PortSpec]) throws(ConfigurationError) {
    guard !ports.isEmpty else { throw ConfigurationError("a switch needs at least one --port") }
    var names = Set<String>()
    var places = Set<String>()
    for port in ports {
        try port.validate()
        guard names.insert(port.name).inserted else {
            throw ConfigurationError("port name \(port.name) is used twice; give each --port its own name")
        }
        guard places.insert("\(port.namespace)/\(port.interface)").inserted else {
            throw ConfigurationError("two ports would both create \(port.interface) in namespace \(port.namespace)")
        }
    }
}
