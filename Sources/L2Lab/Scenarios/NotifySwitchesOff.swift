import L2Switch

/// "Notify Switches: No": no RARP after the move and no forwarding by the source; the switch keeps
/// sending web01's traffic to esx01's port until web01 itself sends a frame.
enum NotifySwitchesOff {
    static let scenario = Scenario(
        name: "notify-switches-off",
        title: "no announce after the move (vSphere's \"Notify Switches: No\")",
        fieldReport: "With \"Notify Switches\" off (or the announces lost), a VM is unreachable after a successful vMotion until it "
            + "sends a frame itself or the physical switch ages its entry out (300 s): users report minutes of outage with every host healthy.",
        filters: [
            ScenarioFilter("rarp", shows: "no RARP from web01 after the stun"),
            ScenarioFilter("eth.src == 00:50:56:00:00:10", shows: "web01's frames: the last ping replies from esx01, then its ARP reply from esx02 that moved it"),
            ScenarioFilter("arp.dst.proto_ipv4 == 10.10.0.10", shows: "client01's ARP re-resolution: unicast probes lost on esx01's port, then the broadcast web01 answers"),
            ScenarioFilter("frame.comment contains \"move\"", shows: "the switch's note on the frame that moved web01"),
        ],
        parts: [ScenarioPart(
            name: "no RARP, no forwarding by the source (ESXi does not forward)",
            expectation: "the migration completes; no RARP; ping is lost until client01 re-resolves web01's address and web01's ARP reply "
                + "moves it on the switch; ping resumes at that frame",
            topology: { ScenarioTopologies.base() },
            run: run)])

    static func run(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        try lab.quickenClientARP()
        var options = MigrationOptions()
        options.announceMs = []
        options.graceMs = 0
        lab.note("--announce none --grace-ms 0: no RARP, and the source forwards nothing to the destination, not even the frames that arrived during the stun (ESXi does not)")
        let seen = try lab.migrateUnderPing(options: options, recoverWithinSeconds: 20)
        Observed.recordOutage(seen, in: lab)
        var checks = [Observed.migrationCompleted(seen)]
        let rarps = seen.announces
        checks.append(ScenarioCheck("no RARP from \(lab.vm.name)", observed: rarps.isEmpty ? "none in the capture" : "RARP frames \(rarps)",
                                    passed: rarps.isEmpty))
        guard let move = seen.moves(of: lab.vm.mac, onto: lab.destination).first else {
            checks.append(ScenarioCheck("\(lab.vm.name)'s own frame moves it to \(lab.destination)'s port", observed: "no move", passed: false))
            return checks
        }
        let arps = Set(try lab.frames(matching: "arp and ether src \(lab.vm.mac)"))
        checks.append(ScenarioCheck("\(lab.vm.name)'s own frame moves it to \(lab.destination)'s port",
                                    observed: "frame \(move.frameNumber) (\(arps.contains(move.frameNumber) ? "its ARP reply" : "not an ARP"))",
                                    passed: arps.contains(move.frameNumber)))
        checks.append(ScenarioCheck("an outage, as the field expects", observed: "\(seen.ping.lost) pings lost", passed: seen.ping.lost > 0))
        checks.append(Observed.outageEnds(seen, at: move.timeNs, what: "that frame"))
        return checks
    }
}
