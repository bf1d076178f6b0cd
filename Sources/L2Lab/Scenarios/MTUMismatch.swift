import Foundation
import L2Switch

/// vmk1 at 9000 bytes, its vMotion switch port at 1500: small frames pass, jumbo frames do not, so
/// the vMotion handshake works and the page stream stalls. The preflight's DF probe says so first.
enum MTUMismatch {
    static let scenario = Scenario(
        name: "mtu-mismatch",
        title: "a vmk at 9000 bytes behind a 1500-byte vMotion switch port",
        fieldReport: "Jumbo frames configured on the vmknic but not on every switch port: vMotion connects (small frames pass) and "
            + "then stalls at the first full-size segment; VMware's answer is `vmkping -d -s 8972`, which fails on such a path.",
        filters: [
            ScenarioFilter("frame.len > 1514", shows: "the jumbo frames esx01 sent (recorded as they entered, then dropped as oversize)"),
            ScenarioFilter("icmp && ip.flags.df == 1", shows: "the preflight's DF probe"),
            ScenarioFilter("tcp.analysis.retransmission", shows: "the stalled vMotion stream retransmitting"),
        ],
        parts: [ScenarioPart(
            name: "esx01's vMotion switch port at MTU 1500",
            expectation: "`ping -M do -s 8972` from esx01 to esx02's vmk fails while 1472 passes; the migration's preflight refuses "
                + "with the MTU; with --skip-mtu-check the stream stalls, the migration fails and web01 keeps running on esx01",
            topology: {
                var topology = ScenarioTopologies.base()
                try topology.setVMkernelPortMTU(host: "esx01", mtu: 1500)
                return topology
            },
            run: run)])

    static func run(_ lab: ScenarioLab) throws -> [ScenarioCheck] {
        guard let destination = lab.topology.host(named: lab.destination) else { throw LabError("no host \(lab.destination)") }
        let target = destination.vmkAddress.address.description
        let source = lab.vm.host
        let jumbo = (try? lab.run(in: source, ["ping", "-M", "do", "-s", "8972", "-c", "2", "-W", "1", target])) != nil
        let small = (try? lab.run(in: source, ["ping", "-M", "do", "-s", "1472", "-c", "2", "-W", "1", target])) != nil
        var checks = [
            ScenarioCheck("`ping -M do -s 8972` (vmkping -d -s 8972) fails", observed: jumbo ? "answered" : "no answer", passed: !jumbo),
            ScenarioCheck("`ping -M do -s 1472` passes", observed: small ? "answered" : "no answer", passed: small),
        ]
        let refused = try lab.migrateUnderPing(options: MigrationOptions(), recoverWithinSeconds: 1)
        checks.append(ScenarioCheck("the preflight refuses with the MTU", observed: refused.refusal ?? refused.report?.outcome ?? "no answer",
                                    passed: refused.refusal?.contains("MTU") == true))
        var options = MigrationOptions()
        options.skipMTUCheck = true
        let stalled = try lab.migrateUnderPing(options: options, recoverWithinSeconds: 1)
        Observed.recordOutage(stalled, in: lab)
        checks.append(ScenarioCheck("with --skip-mtu-check the migration fails", observed: stalled.report?.outcome ?? stalled.refusal ?? "no answer",
                                    passed: stalled.report != nil && !stalled.completed))
        checks.append(ScenarioCheck("\(lab.vm.name) keeps running on \(source)", observed: lab.runsOn() ?? "nowhere", passed: lab.runsOn() == source))
        let vmotion = destination.vmotion
        let oversize = try lab.counters(vmotion).first { $0.name == source }.map { $0.rxDrops[.oversize] } ?? 0
        lab.record(ScenarioFigure("oversize frames dropped on \(source)'s vMotion port", Double(oversize), "frames"))
        checks.append(ScenarioCheck("the switch drops esx01's jumbo frames as oversize", observed: "\(oversize) dropped", passed: oversize > 0))
        checks.append(ScenarioCheck("ping loses nothing", observed: "\(refused.ping.lost + stalled.ping.lost) lost",
                                    passed: refused.ping.lost + stalled.ping.lost == 0))
        return checks
    }
}
