import Foundation
import L2Edge
import L2Wire

/// Reads what the underlay of one machine is, with `ip`: that the underlay namespace exists and holds
/// the machine's underlay address, and which interface and MTU lead to another machine's address.
enum UnderlayProbe {
    /// `ip` arguments, in the underlay namespace if there is one.
    private static func ip(_ namespace: String?, _ arguments: [String]) -> [String] {
        ["ip"] + (namespace.map { ["-n", $0] } ?? []) + arguments
    }

    /// Refuses when the namespace is missing or does not hold `address`.
    static func checkAddress(_ address: IPv4Address, namespace: String?, machine: String) throws {
        if let namespace, !NetworkNamespace.exists(namespace) {
            throw LabError("machine \(machine): underlay namespace \(namespace) does not exist; create it (or drop underlay_namespace to use the root namespace)")
        }
        let text = (try? CommandRunner.run(ip(namespace, ["-o", "-4", "addr", "show"]))) ?? ""
        let held = text.split(separator: "\n").contains { $0.contains(" inet \(address)/") }
        guard held else {
            throw LabError("machine \(machine): underlay address \(address) is not assigned in \(namespace.map { "namespace \($0)" } ?? "the root namespace"); this is not machine \(machine), or its underlay is not set up")
        }
    }

    /// The interface and MTU the route to `remote` leaves through.
    static func path(to remote: IPv4Address, from local: IPv4Address, namespace: String?) throws -> (interface: String, mtu: Int) {
        let route: String
        do {
            route = try CommandRunner.run(ip(namespace, ["-o", "route", "get", remote.description, "from", local.description]))
        } catch {
            throw LabError("no route to \(remote) from \(local)\(namespace.map { " in namespace \($0)" } ?? ""): \(error); check the underlay")
        }
        let words = route.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let devIndex = words.firstIndex(of: "dev"), devIndex + 1 < words.count else {
            throw LabError("cannot tell which interface leads to \(remote): `ip route get` said \(route)")
        }
        let interface = words[devIndex + 1]
        let link = try CommandRunner.run(ip(namespace, ["-o", "link", "show", "dev", interface]))
        let linkWords = link.split(separator: " ").map(String.init)
        var mtu = linkWords.firstIndex(of: "mtu").flatMap { $0 + 1 < linkWords.count ? Int(linkWords[$0 + 1]) : nil } ?? 1500
        if let routeMTU = words.firstIndex(of: "mtu").flatMap({ $0 + 1 < words.count ? Int(words[$0 + 1]) : nil }) { mtu = min(mtu, routeMTU) }
        return (interface, mtu)
    }
}
