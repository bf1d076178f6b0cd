import L2Edge
import L2Switch

/// A switch that ignores station moves for a while after it last saw the MAC (vde_switch's 3 s):
/// every RARP is ignored, and the outage lasts at least the hold-down.
enum HoldDownSwitch {
    static let holdDownSeconds = 3.0

    static let scenario = Scenario(
        name: "holddown-switch",
        title: "a switch with a 3 s move hold-down (vde_switch)",
        fieldReport: "vde_switch keeps a MAC on its port for 3 s after it last saw it there and ignores moves meanwhile: all five of "
            + "QEMU's RARPs (0-800 ms after resume) are ignored; a real QEMU migration across vde_switch lost 3.7 s to over 8.7 s here, 9 of 9 runs.",
        filters: [
            ScenarioFilter("rarp", shows: "the five RARPs; the first carries the switch's note that it ignored the move"),
            ScenarioFilter("eth.src == 00:50:56:00:00:10", shows: "web01's frames: the last ping reply from esx01, the RARPs, the frame that finally moved it"),
            ScenarioFilter("frame.comment contains \"hold-down\"", shows: "the moves the hold-down ignored"),
        ],
        parts: [ScenarioPart(
            name: "--move-holddown 3 on the production switch",
            expectation: "the RARPs are ignored; ping is lost for at least the hold-down, measured from web01's last frame on esx01's "
                + "port, and resumes at web01's first frame after the hold-down (its answer to client01's ARP re-resolution)",
            topology: {
                var topology = ScenarioTopologies.base()
                topology.setMoveHoldDown(seconds: holdDownSeconds, on: "pswitch")
                return topology
            },
            run: run)])

    static func run(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        try lab.quickenClientARP()
        var options = MigrationOptions()
        options.graceMs = 0
        lab.note("--grace-ms 0: the source forwards nothing to the destination, not even the frames that arrived during the stun (ESXi does not)")
        let seen = try lab.migrateUnderPing(options: options, recoverWithinSeconds: 20)
        Observed.recordOutage(seen, in: lab)
        var checks = [Observed.migrationCompleted(seen)]
        let mac = lab.vm.mac
        let announces = seen.announces
        let ignored = seen.events.filter { $0.kind == .moveIgnored && $0.mac == mac }
        let movedByAnnounce = seen.events.filter { $0.kind == .moved && $0.mac == mac && announces.contains($0.frameNumber) }
        let scheduled = MigrationOptions().announceMs.count
        checks.append(ScenarioCheck("every RARP is ignored by the hold-down",
                                    observed: "\(announces.count) RARPs, \(movedByAnnounce.count) moved web01; the switch logged \(ignored.count) ignored move(s)"
                                        + (ignored.first.map { ", the first at frame \($0.frameNumber)" } ?? ""),
                                    passed: announces.count == scheduled && movedByAnnounce.isEmpty && !ignored.isEmpty))
        lab.record(ScenarioFigure("move-ignored events", Double(ignored.count), ""))
        guard let move = seen.moves(of: mac, onto: lab.destination).first, let outage = seen.outage else {
            checks.append(ScenarioCheck("web01 moves to \(lab.destination)'s port after the hold-down", observed: "no move or no outage", passed: false))
            return checks
        }
        // web01's last frame on esx01's port: the last ping reply before the gap (the switch saw it just before client01).
        let lastOnOldPort = outage.from
        let holdDown = UInt64(holdDownSeconds * 1e9)
        checks.append(ScenarioCheck("the move comes no sooner than the hold-down after web01's last frame on esx01's port",
                                    observed: "\(Observed.ms(from: lastOnOldPort, to: move.timeNs)) after it (hold-down \(Int(holdDownSeconds * 1000)) ms)",
                                    passed: move.timeNs + 5_000_000 >= lastOnOldPort + holdDown))
        let frames = try PcapReader.readAll(path: try lab.capture(), filter: "ether src \(mac)")
        let firstAfter = frames.first { $0.wallNanoseconds >= lastOnOldPort + holdDown && $0.interface == lab.destination }
        checks.append(ScenarioCheck("it is web01's first frame after the hold-down",
                                    observed: "moved by frame \(move.frameNumber); web01's first frame from \(lab.destination) after the hold-down: \(firstAfter.map { "frame \($0.number)" } ?? "none")",
                                    passed: firstAfter?.number == move.frameNumber))
        checks.append(ScenarioCheck("the outage lasts at least the hold-down", observed: String(format: "%.1f ms", seen.ping.maxGapMs),
                                    passed: seen.ping.maxGapMs + 5 >= holdDownSeconds * 1000))
        checks.append(Observed.outageEnds(seen, at: move.timeNs, what: "the move"))
        return checks
    }
}
