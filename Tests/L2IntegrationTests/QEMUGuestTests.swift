import Foundation
import L2Edge
import L2Wire
import Testing

/// The QEMU harness proves itself without l2motion: the test guest boots once under TCG on a TAP
/// QEMU makes in our namespace, answers ping through a Linux bridge there, and survives a real QEMU
/// live migration to a second QEMU on another TAP of the bridge, whose RARPs the namespace sees.
@Suite(.serialized, .enabled(if: QEMUEnvironment.shouldRun), .suiteFixtures)
struct QEMUGuestTests {
    static func lab() throws -> QEMUBridgeLab {
        try SuiteFixtures.shared("bridge lab") { try QEMUBridgeLab() }
    }

    @Test("the guest boots with its address and MAC and answers ping from the namespace")
    func bootAndPing() throws {
        let lab = try Self.lab()
        let guest = try lab.runningGuest()
        #expect(GuestReadyLine.find(in: guest.serialText) == GuestReadyLine(address: "\(lab.guestAddress)/24", mac: lab.guestMAC))
        #expect(try guest.qmp.status() == "running")
        let ping = lab.ping(count: 3)
        #expect(ping.received == 3, "ping \(lab.guestAddress) from \(lab.namespace): \(ping.output)")
    }

    @Test("a QEMU live migration to a second QEMU completes; ping works after it and the destination sent RARPs")
    func liveMigration() throws {
        let lab = try Self.lab()
        let source = try lab.runningGuest()
        let capture = lab.sandbox.directory + "/dst-tap.pcap"
        let socket = lab.sandbox.directory + "/migrate.sock"
        let destination = try lab.destination(name: "dst", tap: "tap-dst", incoming: "unix:\(socket)")
        // Everything the destination's TAP carries, from before the VM resumes there.
        _ = try lab.sandbox.spawn(["ip", "netns", "exec", lab.namespace, "tcpdump", "-i", "tap-dst", "-nn", "-U", "-w", capture],
                                  log: "tcpdump")
        try #require(lab.sandbox.waitUntil { lab.sandbox.logText("tcpdump").contains("listening on") },
                     "tcpdump: \(lab.sandbox.logText("tcpdump"))")
        #expect(try destination.qmp.status() == "inmigrate")

        let started = Date()
        let summary = try source.qmp.migrate(to: "unix:\(socket)")
        print("QEMU migration: \(summary); \(String(format: "%.2f", Date().timeIntervalSince(started))) s wall including polling")
        #expect(try source.qmp.status() == "postmigrate")
        try destination.qmp.waitForStatus("running")
        #expect(summary.transferredBytes > 0)
        lab.migrated(from: source, to: destination)

        let mac = try #require(MACAddress(lab.guestMAC))
        func rarps() -> [EthernetFrame] {
            ((try? PcapReader.readAll(path: capture)) ?? []).compactMap { try? EthernetFrame($0.bytes[...]) }
                .filter { $0.etherType == .rarp && $0.source == mac }
        }
        #expect(lab.sandbox.waitUntil(seconds: 10) { !rarps().isEmpty }, "the destination announced \(mac) with RARP (EtherType 0x8035)")
        for frame in rarps() {
            #expect(frame.destination == .broadcast)
            #expect((try? ARPPacket(parsing: frame.payload)) == ARPPacket.rarpAnnounce(mac: mac), "\(frame)")
        }

        let ping = lab.ping(count: 3)
        #expect(ping.received == 3, "ping \(lab.guestAddress) after the migration: \(ping.output)")
        #expect(!source.isRunning, "the source QEMU was ended")
    }
}
