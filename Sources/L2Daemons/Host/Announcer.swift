import Foundation
import L2Edge
import L2Wire

/// Tells the network where a VM now lives: QEMU's 60-byte RARP from the VM's MAC at each offset of
/// the schedule after the resume (default 0, 50, 200, 450, 800 ms), optionally a gratuitous ARP
/// with the first, so the switch relearns the MAC and peers refresh their ARP caches.
struct Announcer {
    /// QEMU's default: 0, 50, 200, 450, 800 ms after the VM runs.
    static let defaultSchedule: [UInt64] = [0, 50, 200, 450, 800].map { $0 * 1_000_000 }

    let host: HostDaemon
    let mac: MACAddress
    let ip: IPv4Address
    let schedule: [UInt64]
    let garp: Bool
    let migration: String
    let service: MigrationService

    /// Sends the first announce now (the instant of resume) and the rest on a background thread.
    func start(resumedMonotonic: UInt64) {
        let frame = Announce.rarpFrame(for: mac)
        let first = schedule.first ?? 0
        if first == 0 { send(frame) }
        if garp { host.sendFromVM(Announce.gratuitousARPFrame(mac: mac, ip: ip), source: mac) }
        let rest = first == 0 ? Array(schedule.dropFirst()) : schedule
        guard !rest.isEmpty else { return }
        let announcer = self
        NamedThread.start("announce") {
            for offset in rest {
                let due = resumedMonotonic + offset
                let now = SystemClock.monotonicNanoseconds()
                if due > now { SystemClock.sleep(nanoseconds: due - now) }
                announcer.send(frame)
            }
        }
    }

    private func send(_ frame: [UInt8]) {
        let at = SystemClock.wallNanoseconds()
        host.sendFromVM(frame, source: mac)
        service.update(migration) { $0.announces.append(at) }
    }
}
