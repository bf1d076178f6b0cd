import Foundation
import L2Edge

/// The harness self-test's network, without l2motion: one namespace of our own holding a Linux
/// bridge with 10.250.N.1/24 (N from the PID), and QEMU guests whose TAPs QEMU creates in that
/// namespace and this lab adds to the bridge. One guest address, 10.250.N.2, whichever QEMU runs it
/// (the source, then the migration's destination). Everything goes on `tearDown()`.
final class QEMUBridgeLab: SuiteFixture, @unchecked Sendable {
    let sandbox: Sandbox
    let namespace: String
    let image: QEMUGuestImage
    let subnet: Int
    let bridge = "br0"
    let guestMAC: String
    private let lock = NSLock()
    private var guests: [QEMUGuest] = []
    private var running: QEMUGuest?
    private var bootError: (any Error)?

    var hostAddress: String { "10.250.\(subnet).1" }
    var guestAddress: String { "10.250.\(subnet).2" }

    init() throws {
        try QEMUEnvironment.require()
        image = try QEMUEnvironment.guestImage()
        sandbox = try Sandbox()
        subnet = Int(getpid() % 250) + 1
        guestMAC = String(format: "52:54:00:fa:%02x:02", subnet)
        do {
            namespace = try sandbox.namespace("q")
            try CommandRunner.run(["ip", "-n", namespace, "link", "add", bridge, "type", "bridge"])
            try CommandRunner.run(["ip", "-n", namespace, "addr", "add", "\(hostAddress)/24", "dev", bridge])
            try CommandRunner.run(["ip", "-n", namespace, "link", "set", bridge, "up"])
        } catch {
            sandbox.tearDown()
            throw error
        }
    }

    /// The guest that runs the VM now, booted (once per suite) on TAP `tap-src` if none runs yet.
    /// A failed boot is not retried: every later caller gets the same error (one boot per run).
    func runningGuest() throws -> QEMUGuest {
        try lock.withLock {
            if let running { return running }
            if let bootError { throw bootError }
            do {
                let guest = try startQEMU(name: "src", tap: "tap-src", incoming: nil)
                let ready: GuestReadyLine
                do { ready = try guest.waitUntilReady() } catch {
                    guest.stop()
                    throw error
                }
                print("QEMU guest \(ready.address) \(ready.mac) ready \(String(format: "%.2f", Date().timeIntervalSince(guest.startedAt))) s after QEMU started (TCG)")
                running = guest
                return guest
            } catch {
                bootError = error
                throw error
            }
        }
    }

    /// A QEMU waiting for the VM's migration on `incoming` (e.g. "unix:PATH"), on its own TAP in the bridge.
    func destination(name: String, tap: String, incoming: String) throws -> QEMUGuest {
        try lock.withLock { try startQEMU(name: name, tap: tap, incoming: incoming) }
    }

    /// After a migration: the destination runs the VM from now on; the source is ended.
    func migrated(from source: QEMUGuest, to destination: QEMUGuest) {
        lock.withLock { running = destination }
        source.stop()
    }

    /// `ping -c COUNT` from the namespace to the guest; returns how many replies came back.
    func ping(count: Int) -> (received: Int, output: String) {
        QEMUGuest.ping(from: namespace, to: guestAddress, count: count)
    }

    func tearDown() {
        let all = lock.withLock { guests }
        for guest in all.reversed() { guest.stop() }
        sandbox.tearDown()
    }

    // MARK: private

    private func startQEMU(name: String, tap: String, incoming: String?) throws -> QEMUGuest {
        var configuration = QEMUGuest.Configuration(name: name, mac: guestMAC, address: "\(guestAddress)/24",
                                                    netdev: QEMUGuest.tap(tap), directory: sandbox.directory,
                                                    namespace: namespace, incoming: incoming)
        configuration.memoryMiB = 128
        let guest = try QEMUGuest(configuration, image: image)
        guests.append(guest)
        do {
            try addToBridge(tap, of: guest)
        } catch {
            guest.stop()
            throw error
        }
        return guest
    }

    private func addToBridge(_ tap: String, of guest: QEMUGuest) throws {
        // QEMU creates the TAP while it starts, before the guest runs; put it in the bridge at once.
        try guest.waitForTAP(tap, in: namespace)
        try CommandRunner.run(["ip", "-n", namespace, "link", "set", tap, "master", bridge, "up"])
    }
}
