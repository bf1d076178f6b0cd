import L2Switch

/// The first RARPs lost on the way: the outage ends at the first one delivered.
enum LostAnnounces {
    static let dropped = 2

    static let scenario = Scenario(
        name: "lost-announces",
        title: "the first RARPs are lost",
        fieldReport: "Announces lost on the way (a congested uplink, a port still coming up, a policer): the switch relearns only at "
            + "the first RARP that arrives; QEMU repeats its RARP at 0, 50, 200, 450 and 800 ms for exactly this reason.",
        filters: [
            ScenarioFilter("rarp", shows: "only the RARPs that were sent (the first two were suppressed at the destination)"),
            ScenarioFilter("frame.comment contains \"move\"", shows: "the move at the first RARP delivered"),
            ScenarioFilter("icmp.resp_not_found", shows: "ping requests with no reply during the outage"),
        ],
        parts: [ScenarioPart(
            name: "the destination's first \(dropped) RARPs dropped",
            expectation: "the switch relearns at the third RARP (200 ms after resume); ping is lost until then and resumes at that move",
            topology: { ScenarioTopologies.base() },
            run: run)])

    static func run(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        var options = MigrationOptions()
        options.dropAnnounces = dropped
        options.graceMs = 0
        lab.note("--grace-ms 0: the source forwards nothing to the destination, not even the frames that arrived during the stun (ESXi does not)")
        let seen = try lab.migrateUnderPing(options: options, recoverWithinSeconds: 5)
        Observed.recordOutage(seen, in: lab)
        var checks = [Observed.migrationCompleted(seen)]
        let announces = seen.announces
        let scheduled = options.announceMs.count
        checks.append(ScenarioCheck("\(scheduled - dropped) of \(scheduled) RARPs reach the switch", observed: "\(announces.count) in the capture",
                                    passed: announces.count == scheduled - dropped))
        guard let move = seen.moves(of: lab.vm.mac, onto: lab.destination).first, let firstDelivered = announces.first else {
            checks.append(ScenarioCheck("the switch relearns at the first RARP delivered", observed: "no move or no RARP", passed: false))
            return checks
        }
        checks.append(ScenarioCheck("the switch relearns at the first RARP delivered",
                                    observed: "moved by frame \(move.frameNumber); first RARP delivered: frame \(firstDelivered)",
                                    passed: move.frameNumber == firstDelivered))
        if let resumed = seen.report?.resumedAt {
            lab.record(ScenarioFigure("relearn after resume", Observed.milliseconds(from: resumed, to: move.timeNs), "ms"))
            if let outage = seen.outage {
                checks.append(ScenarioCheck("no reply between the stun and the relearn",
                                            observed: "longest gap \(Observed.ms(from: outage.from, to: outage.to)), from \(Observed.ms(from: resumed, to: outage.from)) after resume",
                                            passed: outage.from <= resumed && outage.to >= move.timeNs))
            }
        }
        checks.append(Observed.outageEnds(seen, at: move.timeNs, what: "the relearn", within: 100))
        return checks
    }
}
