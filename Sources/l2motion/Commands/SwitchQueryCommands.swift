import ArgumentParser
import Foundation
import L2Control
import L2Edge
import L2Lab
import L2Switch

/// Where to find a running switch's control socket.
struct SwitchTarget: ParsableArguments {
    @Argument(help: "The switch's name, e.g. pswitch or vmotion.")
    var name: String

    @Option(help: "Control socket path (overrides --lab).")
    var socket: String?

    @OptionGroup var labOptions: LabOptions

    var path: String { socket ?? labOptions.runFolder.switchSocket(name) }

    func call<Reply>(_ call: ControlCall<SwitchRequest, Reply>) throws -> Reply {
        try LabAccess.require()
        return try ControlClient.call(path, call)
    }
}

/// `l2motion mac-table NAME`: the switch's MAC table.
struct MACTableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mac-table", abstract: "Show a running switch's MAC table.")
    @OptionGroup var target: SwitchTarget
    @OptionGroup var output: OutputOptions

    func run() throws {
        let rows = try target.call(SwitchCall.macTable)
        if output.json { return try printJSON(rows) }
        // A switch with VLANs (or sticky entries) gets the columns; an unaware one prints as it always did.
        let vlans = rows.contains { $0.vlan != 0 || $0.sticky }
        printTable(["MAC"] + (vlans ? ["VLAN"] : []) + ["PORT", "AGE", "MOVES"] + (vlans ? ["STICKY"] : []), rows.map {
            [$0.mac.description] + (vlans ? [String($0.vlan)] : [])
                + [$0.portName, String(format: "%.1fs", Double($0.ageMs) / 1000), String($0.moves)] + (vlans ? [$0.sticky ? "yes" : "-"] : [])
        })
    }
}

/// `l2motion switch-events NAME`: station moves (and learning) the switch logged.
struct SwitchEventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "switch-events", abstract: "Show a running switch's station moves.")
    @OptionGroup var target: SwitchTarget
    @OptionGroup var output: OutputOptions

    func run() throws {
        let rows = try target.call(SwitchCall.events()).events
        if output.json { return try printJSON(rows) }
        // VLAN and DETAIL columns only when some event has them: an unaware switch prints as it always did.
        let vlans = rows.contains { $0.vlan != nil }
        let details = rows.contains { Self.detail($0) != nil }
        printTable(["#", "TIME", "EVENT", "MAC"] + (vlans ? ["VLAN"] : []) + ["FROM", "TO", "FRAME"] + (details ? ["DETAIL"] : []), rows.map { event in
            [String(event.sequence), WallTime.format(event.timeNs), event.kind.rawValue, event.mac.description]
                + (vlans ? [event.vlan.map(String.init) ?? "-"] : [])
                + [event.oldPortName ?? "-", event.newPortName, String(event.frameNumber)] + (details ? [Self.detail(event) ?? ""] : [])
        })
    }

    /// What a flap, an ignored move or a violation adds: `4 moves in 1.2 s (3.3/s)`, `stays on p1`, `shut`.
    static func detail(_ event: SwitchEventSnapshot) -> String? {
        switch event.kind {
        case .flap:
            guard let moves = event.moves, let span = event.spanNs, let rate = event.rate else { return nil }
            return String(format: "%d moves in %.1f s (%.1f/s)", moves, Double(span) / 1e9, rate)
        case .moveIgnored:
            return "hold-down: stays on \(event.oldPortName ?? "-")"
        case .securityViolation:
            return event.action.map { $0 == .shut ? "port shut (err-disabled)" : "frame dropped" }
        case .learned, .moved:
            return nil
        }
    }
}

/// `l2motion counters NAME`: per-port frame, byte and drop counters.
struct CountersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "counters", abstract: "Show a running switch's per-port counters.")
    @OptionGroup var target: SwitchTarget
    @OptionGroup var output: OutputOptions

    func run() throws {
        let rows = try target.call(SwitchCall.counters)
        if output.json { return try printJSON(rows) }
        printTable(["PORT", "STATE", "MTU", "MACS", "RX", "RX BYTES", "FLOODED", "RX DROPS", "TX", "TX BYTES", "TX DROPS"], rows.map {
            [$0.name, $0.up ? "up" : "down", String($0.mtu), String($0.macCount), String($0.rxFrames), String($0.rxBytes),
             String($0.floodedFrames), Self.drops($0.rxDrops), String($0.txFrames), String($0.txBytes), Self.drops($0.txDrops)]
        })
    }

    static func drops(_ counters: DropCounters) -> String {
        let parts = DropReason.allCases.compactMap { reason in counters[reason] > 0 ? "\(reason)=\(counters[reason])" : nil }
        return parts.isEmpty ? "0" : parts.joined(separator: ",")
    }
}

/// `l2motion switch-ports NAME`: each port's VLAN mode, MTU, port security and state, then the
/// VLANs with their members and counters.
struct SwitchPortsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "switch-ports",
                                                    abstract: "Show a running switch's ports (VLAN mode, MTU, port security, state) and per-VLAN counters.")
    @OptionGroup var target: SwitchTarget
    @OptionGroup var output: OutputOptions

    func run() throws {
        let snapshot = try target.call(SwitchCall.ports)
        if output.json { return try printJSON(snapshot) }
        printTable(["PORT", "STATE", "MODE", "MTU", "SECURITY", "MACS", "MOVES IGNORED", "VIOLATIONS"], snapshot.ports.map {
            [$0.name, $0.state, $0.modeDescription, String($0.mtu), $0.security?.description ?? "-", String($0.macCount),
             String($0.movesIgnored), String($0.securityViolations)]
        })
        guard !snapshot.vlans.isEmpty else { return }
        print("")
        printTable(["VLAN", "PORTS", "MACS", "FRAMES", "BYTES", "FLOODS"], snapshot.vlans.map {
            [$0.vlan == 0 ? "0 (unaware)" : String($0.vlan), $0.ports.joined(separator: ","), String($0.macCount), String($0.frames),
             String($0.bytes), String($0.floods)]
        })
    }
}

/// `l2motion port NAME PORT down|up`: an administrative link fault and its repair.
struct PortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port", abstract: "Set a switch port down (a link fault) or up (which also re-enables a port a security violation shut).")
    @OptionGroup var target: SwitchTarget
    @Argument(help: "The port's name, e.g. p2.") var port: String
    @Argument(help: "down or up.") var state: PortAdminState

    func run() throws {
        _ = try target.call(SwitchCall.setPort(port, state))
        print("\(target.name) \(port) \(state.rawValue)")
    }
}

/// `l2motion flush NAME [--port P]`: empties the MAC table (or one port's entries).
struct FlushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flush", abstract: "Flush a switch's MAC table.")
    @OptionGroup var target: SwitchTarget
    @Option(help: "Only this port's entries.") var port: String?

    func run() throws {
        let result = try target.call(SwitchCall.flush(port: port))
        print("removed \(result.removed) entries")
    }
}

/// Formats CLOCK_REALTIME nanoseconds as UTC `HH:mm:ss.SSS`.
enum WallTime {
    static func format(_ nanoseconds: UInt64) -> String {
        let date = Date(timeIntervalSince1970: Double(nanoseconds) / 1e9)
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss.SSS"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

extension PortAdminState: ExpressibleByArgument {}
