import Foundation

/// Everything one demo run found: the migration(s), ping continuity, the UDP counter, the TCP
/// sessions, where the captures are, and whether the run passed (no ping lost, counter never
/// backwards, no TCP reset or wrong byte, VM moved, no station-move conflict).
public struct DemoReport: Codable, Sendable {
    public struct Captures: Codable, Sendable {
        public var directory: String
        public var pswitch: String
        public var vmotion: String
        public var reportJSON: String
        public var reportMarkdown: String
        public var timeline: String
        /// Both switches' captures in one file with the migration's events as comments
        /// (`migration.pcapng`); nil when it was not written (pcap captures, or it failed).
        public var migration: String? = nil

        enum CodingKeys: String, CodingKey {
            case directory, pswitch, vmotion, timeline, migration
            case reportJSON = "report_json"
            case reportMarkdown = "report_md"
        }
    }

    public var lab: String
    public var vm: String
    public var memoryMiB: Int
    public var touchedMiB: Int
    public var workload: String
    /// The workload's rate in MiB/s (its preset's, or `--dirty-rate`); nil in reports written before it was recorded.
    public var dirtyRateMiBPerSecond: Double?
    public var startedAtNs: UInt64
    public var migration: MigrationReport
    public var back: MigrationReport?
    public var ping: PingReport
    public var udpCounter: UDPProbeReport
    /// The TCP probe: an echo connection and a checked download across the migration (nil when off,
    /// and in reports written before it existed).
    public var tcp: TCPProbeReport? = nil
    /// `ping -6` to the VM's IPv6 address (its replies left out; nil when the VM or the client has none).
    public var ping6: PingReport? = nil
    /// The VM's addresses (IPv4, then IPv6 with the link-local last) and TCP services (`http/80`).
    public var vmAddresses: [String]? = nil
    public var vmServices: [String]? = nil
    public var captures: Captures
    public var passed: Bool
    public var problems: [String]

    enum CodingKeys: String, CodingKey {
        case lab, vm, workload, migration, back, ping, captures, passed, problems, tcp, ping6
        case vmAddresses = "vm_addresses"
        case vmServices = "vm_services"
        case memoryMiB = "memory_mib"
        case touchedMiB = "touched_mib"
        case startedAtNs = "started_at_ns"
        case dirtyRateMiBPerSecond = "dirty_rate_mib_s"
        case udpCounter = "udp_counter"
    }

    /// The reasons a run fails: lost pings, a counter that went backwards or reset, a VM that did not
    /// move, a copy not proved exact, another port sending the VM's MAC (a station-move conflict).
    public static func problems(ping: PingReport, udp: UDPProbeReport, migrations: [(MigrationReport, String)]) -> [String] {
        var problems: [String] = []
        if ping.lost > 0 { problems.append("\(ping.lost) ping\(ping.lost == 1 ? "" : "s") lost (icmp_seq \(ping.lostSequences.prefix(10).map(String.init).joined(separator: ", ")))") }
        if ping.received == 0 { problems.append("no ping reply at all") }
        if !udp.monotonic { problems.append("the UDP counter went backwards \(udp.backwardsSteps) time(s): guest memory was not carried intact") }
        if udp.received == 0 { problems.append("no UDP counter reply at all") }
        for (report, expected) in migrations where report.runsOn != expected {
            problems.append("\(report.vm) should run on \(expected) but runs on \(report.runsOn ?? "no host"): \(report.outcome)")
        }
        for (report, _) in migrations where report.result.status == .completed && !report.result.verified {
            problems.append("the copy of \(report.vm) to \(report.destination) was not proved exact")
        }
        for (report, _) in migrations {
            problems += report.stationConflicts.map { RelearnText.conflict($0, vm: report.vm) }
        }
        return problems
    }
}
