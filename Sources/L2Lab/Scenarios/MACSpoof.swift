import Foundation
import L2Switch
import L2Wire

/// Another station sends the VM's MAC as its source during the migration: first unchecked (the MAC
/// flaps and the report names the conflict), then stopped by port security on client01's port, then
/// a second VM stopped by its own host's "Forged transmits: reject".
enum MACSpoof {
    static let spoofSeconds = 2.5

    static let scenario = Scenario(
        name: "mac-spoof",
        title: "another station sends web01's MAC during the migration",
        fieldReport: "A station that sends a VM's MAC as its source (a cloned VM, a misconfigured appliance, an attack) makes the switch "
            + "move the MAC back and forth: the VM is unreachable while the other station holds it, and a naive report measures a "
            + "relearn that happened before the resume (\"-364.20 ms\") while ping loses seconds.",
        filters: [
            ScenarioFilter("eth.src == 00:50:56:00:00:10 && eth.type == 0x88b5", shows: "the spoofed frames (local experimental EtherType)"),
            ScenarioFilter("frame.comment contains \"flap\"", shows: "the switch's flap notes"),
            ScenarioFilter("frame.comment contains \"violation\"", shows: "frames port security dropped"),
            ScenarioFilter("rarp", shows: "the destination's announces"),
        ],
        parts: [
            ScenarioPart(
                name: "client01 sends web01's MAC (no protection)",
                expectation: "the switch sees web01's MAC flap between client01's port and the hosts' ports; the migration report names "
                    + "the conflict (client01's port, its frames) instead of a relearn time; ping loses replies while client01 holds the MAC",
                topology: { ScenarioTopologies.base() },
                run: unprotected),
            ScenarioPart(
                name: "port security on client01's port (max 1 MAC, sticky, drop)",
                expectation: "client01's own MAC is its one secure MAC; the spoofed frames are violations, dropped and counted; no flap, "
                    + "no conflict, no outage",
                topology: {
                    var topology = ScenarioTopologies.base()
                    topology.setPortSecurity(client: "client01", maxMACs: 1, sticky: true, violation: .drop)
                    return topology
                },
                run: portSecurity),
            ScenarioPart(
                name: "web02 on esx01 sends web01's MAC; its port group rejects forged transmits",
                expectation: "esx01 drops web02's forged frames before its uplink (counted); the switch never sees web01's MAC from esx01 "
                    + "after the move; no outage",
                topology: forgedTransmitsTopology,
                run: forgedTransmits),
        ])

    /// client01 sends broadcast frames with web01's MAC as source, 100 per second, while the migration runs.
    static func spoofFromClient(_ lab: ScenarioLab) throws {
        try lab.start(in: lab.client.name, [LabLifecycle.executable, "frame-gen", "--interface", "eth0", "--kind", "spoof",
                                            "--source", lab.vm.mac.description, "--rate", "100", "--seconds", String(spoofSeconds)],
                      log: "spoof.txt")
    }

    static func unprotected(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        let seen = try lab.migrateUnderPing(options: MigrationOptions(), during: spoofFromClient, recoverWithinSeconds: spoofSeconds + 3,
                                            afterSeconds: spoofSeconds)
        Observed.recordOutage(seen, in: lab)
        let flaps = seen.events.filter { $0.kind == .flap && $0.mac == lab.vm.mac }
        let ontoClient = seen.events.filter { $0.kind == .moved && $0.mac == lab.vm.mac && $0.newPortName == lab.client.name }
        let conflicts = seen.report?.stationConflicts ?? []
        return [
            Observed.migrationCompleted(seen),
            ScenarioCheck("the switch moves web01's MAC onto \(lab.client.name)'s port", observed: "\(ontoClient.count) moves",
                          passed: !ontoClient.isEmpty),
            ScenarioCheck("the switch reports the MAC flapping", observed: flaps.first.map(Self.describe) ?? "no flap event", passed: !flaps.isEmpty),
            ScenarioCheck("the migration report names the conflict",
                          observed: conflicts.first.map { "frame \($0.frame): \($0.from?.description ?? "-") → \($0.to), \(String(format: "%+.1f", $0.afterResumeMs)) ms after resume" }
                              ?? "no conflict in the report",
                          passed: conflicts.contains { $0.to.name == lab.client.name }),
            ScenarioCheck("ping loses replies while client01 holds the MAC", observed: "\(seen.ping.lost) lost", passed: seen.ping.lost > 0),
        ]
    }

    /// "moved 4 times in 381 ms between client01 and esx02 (10.5 moves/s), at frame 200".
    static func describe(_ flap: SwitchEventSnapshot) -> String {
        let ports = [flap.oldPortName, flap.newPortName].compactMap { $0 }.joined(separator: " and ")
        return "moved \(flap.moves ?? 0) times in \(String(format: "%.0f", Double(flap.spanNs ?? 0) / 1e6)) ms between \(ports)"
            + " (\(String(format: "%.1f", flap.rate ?? 0)) moves/s), at frame \(flap.frameNumber)"
    }

    static func portSecurity(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        let seen = try lab.migrateUnderPing(options: MigrationOptions(), during: spoofFromClient, recoverWithinSeconds: 3,
                                            afterSeconds: spoofSeconds)
        Observed.recordOutage(seen, in: lab)
        let violations = seen.events.filter { $0.kind == .securityViolation && $0.newPortName == lab.client.name }
        let ontoClient = seen.events.filter { $0.mac == lab.vm.mac && $0.newPortName == lab.client.name && $0.kind == .moved }
        let flaps = seen.events.filter { $0.kind == .flap && $0.mac == lab.vm.mac }
        let conflicts = seen.report?.stationConflicts ?? []
        return [
            Observed.migrationCompleted(seen),
            ScenarioCheck("the spoofed frames are port-security violations", observed: "\(violations.count) violation events",
                          passed: !violations.isEmpty),
            ScenarioCheck("web01's MAC never moves onto \(lab.client.name)'s port", observed: "\(ontoClient.count) moves", passed: ontoClient.isEmpty),
            ScenarioCheck("no flap and no conflict", observed: "\(flaps.count) flaps, \(conflicts.count) conflicts",
                          passed: flaps.isEmpty && conflicts.isEmpty),
            ScenarioCheck("no outage", observed: "\(seen.ping.lost) pings lost, longest gap \(String(format: "%.1f", seen.ping.maxGapMs)) ms",
                          passed: seen.ping.lost == 0),
        ]
    }

    static func forgedTransmitsTopology() throws -> Topology {
        var topology = ScenarioTopologies.base()
        try topology.setForgedTransmits(reject: true, label: "Production")
        var second = topology.vms[0]
        second.name = "web02"
        second.mac = MACAddress("00:50:56:00:00:11")!
        second.ip = IPv4Interface("10.10.0.11/24")!
        second.touchedMiB = 16
        topology.vms.append(second)
        return topology
    }

    static func forgedTransmits(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        let count = Int(spoofSeconds * 100)
        let seen = try lab.migrateUnderPing(options: MigrationOptions(), during: { lab in
            try lab.startL2motion(["vm", "send-as", "web02", "--mac", lab.vm.mac.description, "--count", String(count),
                                   "--interval-ms", "10"], log: "send-as.txt")
        }, recoverWithinSeconds: 3, afterSeconds: spoofSeconds)
        Observed.recordOutage(seen, in: lab)
        let backOnSource = seen.events.filter { $0.kind == .moved && $0.mac == lab.vm.mac && $0.newPortName == lab.vm.host }
        let dropped = try lab.forgedTransmitDrops(host: lab.vm.host)
        lab.record(ScenarioFigure("forged frames dropped by \(lab.vm.host)", Double(dropped), "frames"))
        return [
            Observed.migrationCompleted(seen),
            ScenarioCheck("\(lab.vm.host) drops web02's forged frames", observed: "\(dropped) dropped", passed: dropped > 0),
            ScenarioCheck("the switch never moves web01 back to \(lab.vm.host)'s port", observed: "\(backOnSource.count) moves",
                          passed: backOnSource.isEmpty),
            ScenarioCheck("no outage", observed: "\(seen.ping.lost) pings lost, longest gap \(String(format: "%.1f", seen.ping.maxGapMs)) ms",
                          passed: seen.ping.lost == 0),
        ]
    }
}
