import L2Control
import L2Edge
import L2Switch
import L2Wire

/// One production switch a migration's relearn is read from: where it answers, its lab (for the
/// ports' namespaces), its event cursor when the migration began, and, in a lab across machines,
/// the names of the ports the VM's frames come from before and after (an uplink or a VXLAN port).
struct RelearnSwitch: Sendable {
    var machine: String?
    var lab: String
    var route: ControlRoute
    var cursor: UInt64
    var sourcePortName: String?
    var destinationPortName: String?
}

/// Where a migration's relearn is read from: the production switch (in a lab across machines, the
/// one on the destination's machine first, then the other machines'), the VM's MAC and the hosts'
/// uplink interfaces.
struct RelearnSource: Sendable {
    var mac: MACAddress
    var productionSwitch: String
    var switches: [RelearnSwitch]
    var source: (host: String, uplink: String)
    var destination: (host: String, uplink: String)
    /// The primary switch's cursor (a later migration's relearn stops there).
    var cursor: UInt64 { switches.first?.cursor ?? 0 }
}

extension RelearnMatcher {
    /// The libpcap filter for `mac`'s RARPs, untagged or 802.1Q-tagged (a VM on a VLAN port group
    /// announces on its VLAN, and a plain `rarp` reads the EtherType where the tag is).
    public static func announceFilter(mac: MACAddress) -> String {
        "ether src \(mac) and (rarp or (vlan and rarp))"
    }

    /// The port of `host`'s uplink `interface` among a switch's ports (numbered from p1 in their
    /// order, as the switch numbers them): the one the lab describes as "vmnic0 of host esx02", else
    /// the one whose kernel side is `interface` in the lab's namespace of `host`.
    public static func uplinkPort(of host: String, interface: String, lab: String, in ports: [PortSpec]) -> SwitchPortRef? {
        let numbered = numberedPorts(ports)
        let described = numbered.first { $0.1.summary == "\(interface) of host \(host)" }
        let placed = numbered.first { $0.1.namespace == "\(lab)-\(host)" && $0.1.interface == interface }
        return (described ?? placed)?.0
    }

    /// The port named `name` among a switch's ports.
    public static func port(named name: String, in ports: [PortSpec]) -> SwitchPortRef? {
        numberedPorts(ports).first { $0.1.name == name }?.0
    }

    private static func numberedPorts(_ ports: [PortSpec]) -> [(SwitchPortRef, PortSpec)] {
        ports.enumerated().map { (SwitchPortRef(id: PortID($0.offset + 1), name: $0.element.name), $0.element) }
    }
}

extension MigrationCoordinator {
    /// The production switches to read the relearn from, with their cursors now: the local one on
    /// one machine; in a lab across machines the segment's switch on the destination's machine,
    /// then on every other machine where the VM's frames change port.
    func relearnSwitches(productionSwitch: String, source: String, destination: String) -> [RelearnSwitch] {
        func cursor(_ route: ControlRoute) -> UInt64 {
            (try? ControlClient.call(route, SwitchCall.events(since: UInt64.max)).next) ?? 0
        }
        guard let whole = directory.whole else {
            let route = directory.switchRoute(productionSwitch)
            return [RelearnSwitch(machine: nil, lab: directory.folder.lab, route: route, cursor: cursor(route))]
        }
        let destinationMachine = whole.machine(ofHost: destination)
        let ordered = whole.machines(ofSegment: productionSwitch).sorted { ($0 == destinationMachine ? 0 : 1) < ($1 == destinationMachine ? 0 : 1) }
        return ordered.compactMap { machine in
            let from = whole.portTowards(host: source, onSegment: productionSwitch, machine: machine)
            let to = whole.portTowards(host: destination, onSegment: productionSwitch, machine: machine)
            guard from != to, machine == directory.machine || directory.remoteSockets[machine] != nil else { return nil }
            let route = directory.switchRoute(productionSwitch, onMachine: machine)
            return RelearnSwitch(machine: machine, lab: directory.partLab(of: machine), route: route, cursor: cursor(route),
                                 sourcePortName: from, destinationPortName: to)
        }
    }

    /// Reads the RARP frames from each production switch's capture and its events since the
    /// migration began, and lets `RelearnMatcher` find the relearn and any conflicts: the first
    /// switch's in the report's own fields, the others' in `switchRelearns`. Events from `until` on
    /// (a later migration's) are left out.
    func measureRelearn(into report: inout MigrationReport, from source: RelearnSource, until: UInt64? = nil) throws {
        guard report.resumedAt != nil else { return }
        report.relearnSource = source
        report.switchRelearns = []
        for (index, relearnSwitch) in source.switches.enumerated() {
            let measured = try measure(relearnSwitch, report: report, source: source, until: index == 0 ? until : nil)
            if index == 0 {
                report.announceFrames = measured.announceFrames
                report.destinationPort = measured.destinationPort
                report.relearnMs = measured.relearnMs
                report.relearnFrame = measured.relearnFrame
                report.relearnByAnnounce = measured.relearnByAnnounce
                report.stationConflicts = measured.conflicts
                report.moveIgnored = measured.ignored
            }
            if directory.whole != nil { report.switchRelearns.append(measured.row) }
        }
    }

    /// What one switch shows: the announce frames in its capture and the relearn on its port.
    private struct Measured {
        var row: SwitchRelearn
        var announceFrames: [UInt64]
        var destinationPort: SwitchPortRef?
        var relearnMs: Double?
        var relearnFrame: UInt64?
        var relearnByAnnounce: Bool?
        var conflicts: [StationMove] = []
        var ignored: StationMove?
    }

    private func measure(_ relearnSwitch: RelearnSwitch, report: MigrationReport, source: RelearnSource, until: UInt64?) throws -> Measured {
        let resumedAt = report.resumedAt ?? 0
        let route = relearnSwitch.route
        let page = try ControlClient.call(route, SwitchCall.events(since: relearnSwitch.cursor))
        let status = try ControlClient.call(route, SwitchCall.status)
        let stun = report.stunAt ?? resumedAt
        let frames = try ControlClient.call(route, SwitchCall.captureFrames(filter: RelearnMatcher.announceFilter(mac: source.mac),
                                                                           sinceWallNanoseconds: stun))
        let announceFrames = frames.map(\.number)
        let events = page.events.filter { event in event.mac == source.mac && (until.map { event.sequence < $0 } ?? true) }
        let lab = relearnSwitch.lab
        let sourcePort = relearnSwitch.sourcePortName.flatMap { RelearnMatcher.port(named: $0, in: status.ports) }
            ?? RelearnMatcher.uplinkPort(of: source.source.host, interface: source.source.uplink, lab: lab, in: status.ports)
        // A switch whose ports the lab did not describe: the port the first announce came in on.
        let announced = events.first { announceFrames.contains($0.frameNumber) }.map { SwitchPortRef(id: $0.newPort, name: $0.newPortName) }
        let destinationPort = relearnSwitch.destinationPortName.flatMap { RelearnMatcher.port(named: $0, in: status.ports) }
            ?? RelearnMatcher.uplinkPort(of: source.destination.host, interface: source.destination.uplink, lab: lab, in: status.ports) ?? announced
        var measured = Measured(row: SwitchRelearn(machine: relearnSwitch.machine, switchName: source.productionSwitch, port: destinationPort),
                                announceFrames: announceFrames)
        guard let destinationPort else { return measured }
        let match = RelearnMatcher.match(events: events, mac: source.mac, destinationPort: destinationPort.id, sourcePort: sourcePort?.id,
                                         announceFrames: announceFrames, stunAt: report.stunAt, resumedAt: resumedAt)
        measured.destinationPort = destinationPort
        measured.relearnMs = match.relearn?.afterResumeMs
        measured.relearnFrame = match.relearn?.frame
        measured.relearnByAnnounce = match.relearn.map { _ in match.relearnByAnnounce }
        measured.conflicts = match.conflicts
        measured.ignored = match.ignored
        measured.row.relearnMs = measured.relearnMs
        measured.row.frame = measured.relearnFrame
        measured.row.byAnnounce = measured.relearnByAnnounce
        return measured
    }

    /// Measures a migration's relearn again with the switch's events up to now (or up to `until`,
    /// the cursor of a later migration): a station moved by someone else after the migration
    /// returned shows up too. Keeps the report as it was if the switch cannot be read.
    public func remeasureRelearn(_ report: inout MigrationReport, until later: MigrationReport? = nil) {
        guard let source = report.relearnSource else { return }
        var measured = report
        do {
            try measureRelearn(into: &measured, from: source, until: later?.relearnSource?.cursor)
            report = measured
        } catch {}
    }
}
