import Foundation
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Testing

/// Real QEMU VMs (TCG, the test guest of `scripts/qemu-guest`) on l2motion's switch without kernel
/// glue: one through a `qemu=` port, one through the TAP its QEMU made, joined with `attach=`. Both
/// answer ping from a client namespace; then a QEMU live migration (QMP `migrate`) of the first to a
/// QEMU on an attached TAP is relearned on QEMU's first RARP, and the station-move event names it.
/// The guests boot once for the suite.
@Suite(.serialized, .enabled(if: QEMUEnvironment.shouldRun), .suiteFixtures)
struct QEMUEndpointTests {
    static func lab() throws -> QEMULab { try SuiteFixtures.shared("qemu endpoints") { try QEMULab() } }

    @Test("a VM on a qemu= port and a VM on an attached QEMU TAP both answer ping; the switch learns each on its port")
    func bothKindsAnswerPing() throws {
        let lab = try Self.lab()
        for address in [lab.addressA, lab.addressB] {
            let ping = lab.ping(address)
            #expect(ping.received == 3, "ping \(address): \(ping.output)")
        }
        let table: [MACTableEntrySnapshot] = try ControlClient.call(lab.socket, SwitchCall.macTable)
        #expect(table.first { $0.mac == MACAddress(lab.macA) }?.portName == "qa")
        #expect(table.first { $0.mac == MACAddress(lab.macB) }?.portName == "tapb")
        let status = try ControlClient.call(lab.socket, SwitchCall.status)
        #expect(status.endpoints?.map(\.state) == ["up", "connected", "attached", "attached"], "\(status.endpoints ?? [])")
    }

    @Test("a QEMU live migration from the qemu= port to an attached TAP is relearned on QEMU's first RARP")
    func liveMigrationRelearnsOnFirstRARP() throws {
        let lab = try Self.lab()
        #expect(lab.ping(lab.addressA, count: 1).received == 1)
        #expect(try lab.destination.qmp.status() == "inmigrate")
        let summary = try lab.guestA.qmp.migrate(to: "unix:\(lab.migrationSocket)")
        print("QEMU migration across l2motion's switch: \(summary)")
        try lab.destination.qmp.waitForStatus("running")
        let mac = try #require(MACAddress(lab.macA))
        func moves() -> [SwitchEventSnapshot] {
            ((try? ControlClient.call(lab.socket, SwitchCall.events()))?.events ?? []).filter { $0.kind == .moved && $0.mac == mac }
        }
        #expect(lab.sandbox.waitUntil(seconds: 10) { !moves().isEmpty }, "the switch moved \(mac)")
        let move = try #require(moves().first)
        #expect(move.oldPortName == "qa" && move.newPortName == "tapc")
        let frames = try lab.capture()
        let eventFrame = frames.first(where: { $0.number == move.frameNumber })
        let moved = try #require(eventFrame, "the event's frame \(move.frameNumber) is in the capture")
        let frame = try EthernetFrame(moved.bytes[...])
        #expect(frame.etherType == .rarp && frame.source == mac && moved.interface == "tapc", "the move is on a RARP of \(mac) on tapc: \(frame)")
        let firstOnDestination = frames.first { $0.interface == "tapc" && $0.bytes.count >= 12 && Array($0.bytes[6..<12]) == mac.bytes }
        #expect(firstOnDestination?.number == move.frameNumber, "it is the first frame of \(mac) on the destination's port")
        let announces = frames.filter { $0.interface == "tapc" && (try? EthernetFrame($0.bytes[...]))?.etherType == .rarp }
        #expect(announces.count >= 1 && announces.allSatisfy { (try? ARPPacket(parsing: EthernetFrame($0.bytes[...]).payload)) == ARPPacket.rarpAnnounce(mac: mac) })
        let after = lab.ping(lab.addressA)
        #expect(after.received == 3, "the migrated VM answers through its new port: \(after.output)")
        // The source QEMU (postmigrate) still holds the qemu= port; once it ends, the port listens again.
        lab.guestA.stop()
        #expect(lab.sandbox.waitUntil(seconds: 10) {
            let state = (try? ControlClient.call(lab.socket, SwitchCall.status))?.endpoints?[1]
            return state?.state == "listening" && state?.counters["disconnects"] == 1
        }, "the source QEMU left the qemu= port, which listens again")
    }
}
