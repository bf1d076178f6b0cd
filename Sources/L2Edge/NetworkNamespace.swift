import Foundation

/// Network namespaces and links, set up with iproute2. Every name here is one the project created
/// (a lab or test prefix); nothing touches the root namespace's addresses or routes.
public enum NetworkNamespace {
    public static func path(_ name: String) -> String { "/run/netns/\(name)" }

    public static func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: path(name))
    }

    /// Creates a namespace with loopback up and IPv6 off by default (router solicitations are only noise).
    public static func create(_ name: String) throws {
        try CommandRunner.run(["ip", "netns", "add", name])
        do {
            try CommandRunner.run(["ip", "-n", name, "link", "set", "lo", "up"])
            try CommandRunner.run(inNamespace: name, ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1",
                                                     "net.ipv6.conf.all.disable_ipv6=1"])
        } catch {
            try? delete(name)
            throw error
        }
    }

    public static func delete(_ name: String) throws {
        try CommandRunner.run(["ip", "netns", "delete", name])
    }

    /// Every namespace whose name starts with `prefix`.
    public static func list(prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// How a link is set up once it sits in its namespace.
    public struct LinkSetup: Sendable {
        public var namespace: String
        public var name: String
        public var mtu: Int
        public var address: String?
        /// IPv6 addresses with prefix; with any, IPv6 is turned on for this link (see `adopt`).
        public var ipv6Addresses: [String]

        public init(namespace: String, name: String, mtu: Int, address: String? = nil, ipv6Addresses: [String] = []) {
            self.namespace = namespace
            self.name = name
            self.mtu = mtu
            self.address = address
            self.ipv6Addresses = ipv6Addresses
        }
    }

    /// Moves `link` (in this process's namespace) into the setup's namespace, renames it, sets its
    /// MTU, turns IPv6 off on it, assigns the address if any and brings it up. With IPv6 addresses,
    /// IPv6 is turned on for this link alone, without duplicate address detection (so the addresses
    /// and the link-local one are usable at once) and without router solicitations or
    /// advertisements (the lab has no router); the addresses are added `nodad`.
    public static func adopt(link: String, as setup: LinkSetup) throws {
        try CommandRunner.run(["ip", "link", "set", "dev", link, "netns", setup.namespace])
        let ns = setup.namespace
        try CommandRunner.run(["ip", "-n", ns, "link", "set", "dev", link, "name", setup.name, "mtu", String(setup.mtu)])
        if setup.ipv6Addresses.isEmpty {
            _ = try? CommandRunner.run(inNamespace: ns, ["sysctl", "-qw", "net.ipv6.conf.\(setup.name).disable_ipv6=1"])
        } else {
            let conf = "net.ipv6.conf.\(setup.name)"
            try CommandRunner.run(inNamespace: ns, ["sysctl", "-qw", "\(conf).accept_dad=0", "\(conf).accept_ra=0",
                                                   "\(conf).router_solicitations=0", "\(conf).disable_ipv6=0"])
        }
        if let address = setup.address {
            try CommandRunner.run(["ip", "-n", ns, "addr", "add", address, "dev", setup.name])
        }
        for address in setup.ipv6Addresses {
            try CommandRunner.run(["ip", "-n", ns, "-6", "addr", "add", address, "dev", setup.name, "nodad"])
        }
        try CommandRunner.run(["ip", "-n", ns, "link", "set", "dev", setup.name, "up"])
    }

    /// Whether `link` exists inside namespace `namespace`.
    public static func linkExists(_ link: String, in namespace: String) -> Bool {
        CommandRunner.succeeds(["ip", "-n", namespace, "link", "show", "dev", link])
    }
}
