import L2Control
import L2Edge
import L2Switch
import L2Wire

/// Where a migration's relearn is read from: the production switch, the VM's MAC, the first event of
/// the migration and the hosts' uplink interfaces.
struct RelearnSource: Sendable {
    var mac: MACAddress
    var productionSwitch: String
    /// The switch's event cursor when the migration began.
    var cursor: UInt64
    var source: (host: String, uplink: String)
    var destination: (host: String, uplink: String)
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
        let numbered = ports.enumerated().map { (SwitchPortRef(id: PortID($0.offset + 1), name: $0.element.name), $0.element) }
        let described = numbered.first { $0.1.summary == "\(interface) of host \(host)" }
        let placed = numbered.first { $0.1.namespace == "\(lab)-\(host)" && $0.1.interface == interface }
        return (described ?? placed)?.0
    }
}

extension MigrationCoordinator {
    /// Reads the RARP frames from the production switch's capture and its events since the
    /// migration began, and lets `RelearnMatcher` find the relearn and any conflicts. Events from
    /// `until` on (a later migration's) are left out.
    func measureRelearn(into report: inout MigrationReport, from source: RelearnSource, until: UInt64? = nil) throws {
        guard let resumedAt = report.resumedAt else { return }
        report.relearnSource = source
        let page = try directory.switchCall(source.productionSwitch, SwitchCall.events(since: source.cursor))
        let status = try directory.switchCall(source.productionSwitch, SwitchCall.status)
        _ = try directory.switchCall(source.productionSwitch, SwitchCall.captureFlush)
        let stun = report.stunAt ?? resumedAt
        let frames = try PcapReader.readAll(path: status.capture, filter: RelearnMatcher.announceFilter(mac: source.mac))
        report.announceFrames = frames.filter { $0.wallNanoseconds >= stun }.map(\.number)

        let events = page.events.filter { event in event.mac == source.mac && (until.map { event.sequence < $0 } ?? true) }
        let lab = directory.folder.lab
        let sourcePort = RelearnMatcher.uplinkPort(of: source.source.host, interface: source.source.uplink, lab: lab, in: status.ports)
        // A switch whose ports the lab did not describe: the port the first announce came in on.
        let announced = events.first { report.announceFrames.contains($0.frameNumber) }
            .map { SwitchPortRef(id: $0.newPort, name: $0.newPortName) }
        guard let destinationPort = RelearnMatcher.uplinkPort(of: source.destination.host, interface: source.destination.uplink,
                                                              lab: lab, in: status.ports) ?? announced else { return }
        let match = RelearnMatcher.match(events: events, mac: source.mac, destinationPort: destinationPort.id, sourcePort: sourcePort?.id,
                                         announceFrames: report.announceFrames, stunAt: report.stunAt, resumedAt: resumedAt)
        report.destinationPort = destinationPort
        report.relearnMs = match.relearn?.afterResumeMs
        report.relearnFrame = match.relearn?.frame
        report.relearnByAnnounce = match.relearn.map { _ in match.relearnByAnnounce }
        report.stationConflicts = match.conflicts
        report.moveIgnored = match.ignored
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

