import Foundation
import L2Wire

/// The jumbo-frame check vCenter's users run by hand before a vMotion (`vmkping -d -s 8972`): a
/// ping with Don't Fragment set whose packet fills the vMotion interface's MTU exactly. The pieces
/// here are pure (arguments built, output read); the source host runs them in its namespace when
/// the coordinator asks (`vmotion-mtu-probe`), wherever that host runs.
public enum MTUProbe {
    /// IPv4 header (20) and ICMP echo header (8): the ping payload is the MTU minus these.
    public static let headerBytes = 28
    /// Probes sent; one reply is enough (the first may wait for ARP).
    public static let count = 2

    /// `ip -o link show dev vmk1`, to read the interface's MTU.
    public static func linkArguments(interface: String) -> [String] { ["ip", "-o", "link", "show", "dev", interface] }

    /// The MTU in a line of `ip -o link show` ("5: vmk1@if6: <…> mtu 9000 qdisc …"), or nil.
    public static func mtu(fromLink output: String) -> Int? {
        let words = output.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let index = words.firstIndex(of: "mtu"), index + 1 < words.count else { return nil }
        return Int(words[index + 1])
    }

    /// The kernel's ping with DF set (`-M do`), a packet of exactly `mtu` bytes, from `interface`:
    /// two probes 10 ms apart, each given a second, so a good path answers in milliseconds.
    public static func pingArguments(interface: String, mtu: Int, to address: IPv4Address) -> [String] {
        ["ping", "-n", "-q", "-M", "do", "-s", String(mtu - headerBytes), "-c", String(count), "-i", "0.01", "-W", "1",
         "-I", interface, address.description]
    }

    /// Why a failed probe failed, from what ping printed on stderr ("ping: local error: message too
    /// long, mtu=1500"), or that no probe was answered.
    public static func failure(standardError: String, mtu: Int) -> String {
        let line = standardError.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        let probe = "ping -M do -s \(mtu - headerBytes)"
        return line.isEmpty ? "no reply to \(count) probes (\(probe))" : "\(probe): \(line)"
    }
}

/// What `vmotion-mtu-probe` answers: the interface's MTU (nil if it could not be read) and whether a
/// DF ping of exactly that size was answered; `failure` says why not, in words.
public struct MTUProbeResult: Codable, Sendable, Equatable {
    public var mtu: Int?
    public var carried: Bool
    public var failure: String?

    public init(mtu: Int?, carried: Bool, failure: String? = nil) {
        self.mtu = mtu
        self.carried = carried
        self.failure = failure
    }
}
