/// The labs the scenarios start from: the default lab or the VLAN example, with a small VM so a
/// scenario runs in seconds (512 MiB, 64 MiB touched).
enum ScenarioTopologies {
    static func base() -> Topology { small(DefaultTopology.topology()) }

    static func vlan() throws -> Topology { small(try TopologyExamples.topology(named: "vlan")) }

    static func small(_ topology: Topology) -> Topology {
        var topology = topology
        for index in topology.vms.indices {
            topology.vms[index].memoryMiB = 512
            topology.vms[index].touchedMiB = 64
        }
        return topology
    }
}

/// Small helpers the scenarios' checks share.
enum Observed {
    static func ms(_ nanoseconds: Int64) -> String { String(format: "%.1f ms", Double(nanoseconds) / 1e6) }

    static func ms(from: UInt64, to: UInt64) -> String { ms(Int64(bitPattern: to &- from)) }

    static func milliseconds(from: UInt64, to: UInt64) -> Double { Double(Int64(bitPattern: to &- from)) / 1e6 }

    /// "completed: web01 runs on esx02" or why not.
    static func migrationCompleted(_ seen: ObservedMigration) -> ScenarioCheck {
        ScenarioCheck("the migration completes", observed: seen.report?.outcome ?? seen.refusal ?? "no report",
                      passed: seen.completed)
    }

    /// Ping's longest gap and lost count as figures.
    static func recordOutage(_ seen: ObservedMigration, in lab: ScenarioLab) {
        lab.record(ScenarioFigure("longest ping gap (outage)", seen.ping.maxGapMs, "ms"))
        lab.record(ScenarioFigure("pings lost", Double(seen.ping.lost), "of \(seen.ping.sent)"))
        if let downtime = seen.report?.result.downtime { lab.record(ScenarioFigure("migration downtime", downtime, "ms")) }
    }

    /// The first reply after the longest gap came after `moment` and within `within` ms of it.
    static func outageEnds(_ seen: ObservedMigration, at moment: UInt64, what: String, within: Double = 500) -> ScenarioCheck {
        guard let outage = seen.outage else {
            return ScenarioCheck("ping resumes at \(what)", observed: "no gap in ping's replies", passed: false)
        }
        let after = milliseconds(from: moment, to: outage.to)
        return ScenarioCheck("ping resumes at \(what)",
                             observed: String(format: "first reply after the %.1f ms gap came %.1f ms after it", seen.ping.maxGapMs, after),
                             passed: after >= -1 && after <= within)
    }
}
