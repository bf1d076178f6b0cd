import Foundation
import L2Edge
import L2Wire

/// Tells the network where a VM now lives: QEMU's 60-byte RARP from the VM's MAC at each offset of
/// the schedule after the resume (default 0, 50, 200, 450, 800 ms), optionally a gratuitous ARP
/// with the first, so the switch relearns the MAC and peers refresh their ARP caches. An empty
/// schedule sends nothing (vSphere's Notify Switches off); a fault may suppress the first `drop`
/// announces (and the gratuitous ARP with the first), each recorded as dropped when it was due.
/// With `neighborAdvertisements`, each announce also carries one unsolicited Neighbor Advertisement
/// per IPv6 address of the VM (`--announce-ipv6 na`), counted in the migration's progress record.
struct Announcer {
    /// QEMU's default: 0, 50, 200, 450, 800 ms after the VM runs.
    static let defaultSchedule: [UInt64] = [0, 50, 200, 450, 800].map { $0 * 1_000_000 }

    let host: HostDaemon
    let mac: MACAddress
    let ip: IPv4Address
    let schedule: [UInt64]
    var drop = 0
    let garp: Bool
    /// The VM whose IPv6 addresses are advertised with each announce; nil: RARPs only.
    var neighborAdvertisements: HostedVM?
    let migration: String
    let service: MigrationService

    /// Sends the first announce now (the instant of resume) and the rest on a background thread.
    func start(resumedMonotonic: UInt64) {
        guard let first = schedule.first else { return }
        let frame = Announce.rarpFrame(for: mac)
        if first == 0 { announce(0, frame) }
        if garp && drop == 0 { host.sendFromVM(Announce.gratuitousARPFrame(mac: mac, ip: ip), source: mac) }
        let rest = first == 0 ? Array(schedule.enumerated().dropFirst()) : Array(schedule.enumerated())
        guard !rest.isEmpty else { return }
        let announcer = self
        NamedThread.start("announce") {
            for (index, offset) in rest {
                let due = resumedMonotonic + offset
                let now = SystemClock.monotonicNanoseconds()
                if due > now { SystemClock.sleep(nanoseconds: due - now) }
                announcer.announce(index, frame)
            }
        }
    }

    /// Sends announce `index` (from 0), or records it as dropped if the fault takes it.
    private func announce(_ index: Int, _ frame: [UInt8]) {
        let at = SystemClock.wallNanoseconds()
        guard index >= drop else {
            service.update(migration) { $0.droppedAnnounces = ($0.droppedAnnounces ?? []) + [at] }
            return
        }
        host.sendFromVM(frame, source: mac)
        let advertisements = neighborAdvertisements?.with { $0.unsolicitedNeighborAdvertisements() } ?? []
        for advertisement in advertisements { host.sendFromVM(advertisement, source: mac) }
        service.update(migration) { record in
            record.announces.append(at)
            if !advertisements.isEmpty { record.neighborAdvertisements = (record.neighborAdvertisements ?? 0) + advertisements.count }
        }
    }
}
