import L2Edge
import L2Switch

/// The destination's port group has the same label on another VLAN: vCenter compares labels only,
/// so the move succeeds and the VM is unreachable.
enum VLANMismatch {
    static let wrongVLAN = 20

    static let scenario = Scenario(
        name: "vlan-mismatch",
        title: "the destination's \"Production\" is on another VLAN",
        fieldReport: "vCenter's compatibility check compares port group labels, not VLAN IDs: a VM moved to a host whose "
            + "\"Production\" is tagged with another VLAN lands on the wrong broadcast domain and is unreachable although vMotion reports success.",
        filters: [
            ScenarioFilter("vlan.id == 20 && rarp", shows: "web01's RARPs going out on VLAN 20 from esx02"),
            ScenarioFilter("vlan.id == 10 && icmp", shows: "client01's pings on VLAN 10 still going to esx01's port"),
            ScenarioFilter("vlan", shows: "every tagged frame on the trunks"),
        ],
        parts: [
            ScenarioPart(
                name: "--strict-vlan refuses the move",
                expectation: "the preflight sees VLAN 10 on esx01 and 20 on esx02 and refuses before anything changes; ping loses nothing",
                topology: topology,
                run: strict),
            ScenarioPart(
                name: "labels match, VLANs do not (vCenter's check)",
                expectation: "the preflight warns, the migration completes, and web01 is unreachable: its RARPs relearn it in VLAN 20 "
                    + "while client01's frames stay in VLAN 10 on esx01's port",
                topology: topology,
                run: unreachable),
        ])

    static func topology() throws -> Topology {
        var topology = try ScenarioTopologies.vlan()
        try topology.setPortGroupVLAN(host: "esx02", label: "Production", vlan: wrongVLAN)
        return topology
    }

    static func strict(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        var options = MigrationOptions()
        options.strictVLAN = true
        let seen = try lab.migrateUnderPing(options: options, recoverWithinSeconds: 1)
        Observed.recordOutage(seen, in: lab)
        return [
            ScenarioCheck("the migration is refused", observed: seen.refusal ?? seen.report?.outcome ?? "no answer",
                          passed: seen.refusal?.contains("VLAN") == true),
            ScenarioCheck("\(lab.vm.name) stays on \(lab.vm.host)", observed: lab.runsOn() ?? "nowhere", passed: lab.runsOn() == lab.vm.host),
            ScenarioCheck("ping loses nothing", observed: "\(seen.ping.lost) of \(seen.ping.sent) lost", passed: seen.ping.lost == 0),
        ]
    }

    static func unreachable(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        let seen = try lab.migrateUnderPing(options: MigrationOptions(), recoverWithinSeconds: 3)
        Observed.recordOutage(seen, in: lab)
        let warning = seen.report?.preflight.first { $0.contains("VLAN mismatch") }
        var checks = [
            ScenarioCheck("the preflight warns about the VLANs", observed: warning ?? "no VLAN line in the preflight", passed: warning != nil),
            Observed.migrationCompleted(seen),
        ]
        let resumed = seen.report?.resumedAt ?? seen.finishedAt
        let lastReply = seen.lastReply ?? 0
        checks.append(ScenarioCheck("\(lab.vm.name) is unreachable after the move",
                                    observed: seen.recovered ? "ping answered again" : "no reply in the \(Observed.ms(from: resumed, to: SystemClock.wallNanoseconds())) after resume; last reply \(Observed.ms(from: lastReply, to: resumed)) before it",
                                    passed: !seen.recovered && lastReply <= resumed))
        let learnedOnWrongVLAN = seen.events.contains { $0.mac == lab.vm.mac && $0.vlan.map(Int.init) == wrongVLAN && $0.newPortName == lab.destination }
        checks.append(ScenarioCheck("the switch learns \(lab.vm.name) in VLAN \(wrongVLAN) on \(lab.destination)'s port",
                                    observed: learnedOnWrongVLAN ? "yes" : "no such event", passed: learnedOnWrongVLAN))
        let movedInVLAN10 = seen.events.contains { $0.mac == lab.vm.mac && $0.vlan.map(Int.init) != wrongVLAN && $0.newPortName == lab.destination }
        checks.append(ScenarioCheck("in VLAN 10 it stays on \(lab.vm.host)'s port", observed: movedInVLAN10 ? "moved" : "stays",
                                    passed: !movedInVLAN10))
        let tagged = try lab.frames(matching: "vlan \(wrongVLAN) and rarp")
        checks.append(ScenarioCheck("the capture shows the RARPs tagged VLAN \(wrongVLAN)", observed: "\(tagged.count) frames", passed: !tagged.isEmpty))
        return checks
    }
}

