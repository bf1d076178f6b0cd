import Foundation
import L2Migration

/// The vMotion network limited to 1 Gbit/s: pre-copy needs more rounds, and a VM that dirties memory
/// faster than the link sends is throttled (auto-converge) before it can be stunned.
enum SlowVMotionLink {
    static let rate = "1gbit"

    static let scenario = Scenario(
        name: "slow-vmotion-link",
        title: "the vMotion network at 1 Gbit/s",
        fieldReport: "vMotion over a 1 Gbit/s vmknic (VMware requires at least 250 Mbit/s; 10 Gbit/s is usual): a VM that dirties memory "
            + "faster than the link sends never converges; vSphere's Stun During Page Send and QEMU's auto-converge slow its vCPUs until it does.",
        filters: [
            ScenarioFilter("tcp.port == 8000", shows: "the vMotion stream (on vmotion.pcapng)"),
            ScenarioFilter("l2motion.type == 3", shows: "the pre-copy rounds' page messages (with the l2motion dissector)"),
        ],
        parts: [ScenarioPart(
            name: "the same migration unlimited, then at 1 Gbit/s (the kernel's tbf on both vmk1)",
            expectation: "at 1 Gbit/s the migration runs at most at the link rate, needs more rounds, and is throttled before the "
                + "switchover; it still completes and ping continues",
            topology: {
                // The db workload writes 156 MiB/s over 256 MiB: more than 1 Gbit/s (119 MiB/s) carries,
                // less than the unlimited segment does.
                var topology = ScenarioTopologies.base()
                topology.vms[0].workload = "db"
                topology.vms[0].memoryMiB = 1024
                topology.vms[0].touchedMiB = 256
                return topology
            },
            run: run)])

    static func run(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        let baseline = try lab.migrateUnderPing(options: MigrationOptions(), recoverWithinSeconds: 2)
        _ = try lab.migrateUnderPing(options: MigrationOptions(), to: lab.vm.host, recoverWithinSeconds: 2)
        let vmk = lab.topology.hosts[0].vmkernelInterface
        for host in lab.topology.hosts {
            try lab.run(in: host.name, ["tc", "qdisc", "replace", "dev", vmk, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "50ms"])
        }
        lab.note("this kernel has no sch_netem: the 1 ms latency the field report adds is left out; the rate limit is the kernel's tbf on each host's \(vmk)")
        let slow = try lab.migrateUnderPing(options: MigrationOptions(), recoverWithinSeconds: 2)
        Observed.recordOutage(slow, in: lab)
        guard let fast = baseline.report?.result, let limited = slow.report?.result else {
            return [Observed.migrationCompleted(baseline), Observed.migrationCompleted(slow)]
        }
        let fastRate = Self.megabits(fast), slowRate = Self.megabits(limited)
        for (name, result) in [("unlimited", fast), ("1 Gbit/s", limited)] {
            lab.record(ScenarioFigure("\(name): rounds", Double(result.rounds.count), ""))
            lab.record(ScenarioFigure("\(name): CPU throttle", Double(result.cpuThrottlePercentage), "%"))
            lab.record(ScenarioFigure("\(name): pre-copy rate", Self.megabits(result), "Mbit/s"))
            lab.record(ScenarioFigure("\(name): total time", result.totalTime, "ms"))
            if let downtime = result.downtime { lab.record(ScenarioFigure("\(name): downtime", downtime, "ms")) }
        }
        return [
            Observed.migrationCompleted(baseline),
            Observed.migrationCompleted(slow),
            ScenarioCheck("the limited migration runs at the link rate (tbf lets a 256 KB burst through)",
                          observed: String(format: "%.0f Mbit/s (unlimited: %.0f)", slowRate, fastRate),
                          passed: slowRate <= 1100 && slowRate < fastRate),
            ScenarioCheck("it needs more rounds", observed: "\(limited.rounds.count) rounds (unlimited: \(fast.rounds.count))",
                          passed: limited.rounds.count > fast.rounds.count),
            ScenarioCheck("it is throttled before the switchover", observed: "CPU throttle \(limited.cpuThrottlePercentage) % (unlimited: \(fast.cpuThrottlePercentage) %)",
                          passed: limited.cpuThrottlePercentage > fast.cpuThrottlePercentage),
            ScenarioCheck("ping continues", observed: "\(slow.ping.lost) lost", passed: slow.ping.lost == 0),
        ]
    }

    /// The pre-copy rounds' bytes over their time, in Mbit/s.
    static func megabits(_ result: MigrationResult) -> Double {
        let bytes = result.rounds.reduce(0) { $0 + $1.bytes }
        let ms = result.rounds.reduce(0.0) { $0 + $1.durationMs }
        return ms > 0 ? Double(bytes) * 8 / (ms / 1000) / 1e6 : 0
    }
}
