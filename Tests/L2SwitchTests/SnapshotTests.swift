import Foundation
import L2Wire
import Testing
@testable import L2Switch

@Suite("Control-plane snapshots")
struct SnapshotTests {
    func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func macTableRowsHaveSnakeCaseKeysAndAgeInMilliseconds() throws {
        var core = SwitchCore()
        try core.addPort(2, PortConfiguration(name: "esx01-vmnic0"))
        try core.addPort(3, PortConfiguration(name: "esx02-vmnic0"))
        _ = core.receive(frame(to: .broadcast, from: vm), on: 2, at: 0, frameNumber: 1)
        _ = core.receive(rarpAnnounce(for: vm), on: 3, at: 1 * second, frameNumber: 2)
        let rows = core.macTableSnapshot(at: 2500 * millisecond)
        #expect(rows == [MACTableEntrySnapshot(mac: vm, port: 3, portName: "esx02-vmnic0", ageMs: 1500, moves: 1)])
        #expect(try json(rows[0])
            == #"{"age_ms":1500,"mac":"00:50:56:00:00:10","moves":1,"port":3,"port_name":"esx02-vmnic0"}"#)
        let decoded = try JSONDecoder().decode(MACTableEntrySnapshot.self, from: Data(try json(rows[0]).utf8))
        #expect(decoded == rows[0])
    }

    @Test func portCountersSnapshot() throws {
        var core = try threePortSwitch()
        _ = core.receive(frame(to: .broadcast, from: vm), on: 1, at: 0, frameNumber: 1)
        _ = core.receive([0x00], on: 1, at: 0, frameNumber: 2)
        core.recordTransmit(port: 2, bytes: 60)
        core.recordDrop(port: 3, reason: .queueFull)
        let ports = core.portCountersSnapshot()
        #expect(ports.map(\.port) == [1, 2, 3])
        #expect(ports[0].rxFrames == 2)
        #expect(ports[0].rxBytes == 61)
        #expect(ports[0].macCount == 1)
        #expect(ports[2].txDrops.queueFull == 1)
        let text = try json(ports[0])
        for key in ["\"rx_frames\":2", "\"rx_bytes\":61", "\"flooded_frames\":1", "\"unicast_frames\":0",
                    "\"tx_frames\":0", "\"mac_count\":1", "\"up\":true", "\"mtu\":1500", "\"name\":\"p1\"",
                    "\"rx_drops\":{\"bad_offload\":0,\"bad_source\":0,\"oversize\":0,\"port_down\":0,\"queue_full\":0,\"runt\":1,\"same_segment\":0,"
                        + "\"security_violation\":0,\"tagged_on_access\":0,\"vlan_not_allowed\":0}", "\"moves_ignored\":0"] {
            #expect(text.contains(key), "\(key) missing from \(text)")
        }
        let decoded = try JSONDecoder().decode(PortCountersSnapshot.self, from: Data(text.utf8))
        #expect(decoded == ports[0])
    }

    @Test func eventSnapshotNamesPorts() throws {
        var core = try threePortSwitch()
        _ = core.receive(frame(to: .broadcast, from: vm), on: 2, at: 5, frameNumber: 7)
        _ = core.receive(rarpAnnounce(for: vm), on: 3, at: 9, frameNumber: 8)
        let page = core.eventSnapshots(since: 1)
        #expect(page.next == 2)
        #expect(page.missed == 0)
        #expect(try json(page.events[0]) == #"{"frame_number":8,"kind":"moved","mac":"00:50:56:00:00:10","#
            + #""new_port":3,"new_port_name":"p3","old_port":2,"old_port_name":"p2","sequence":1,"time_ns":9}"#)
        let learned = try json(core.eventSnapshots(since: 0).events[0])
        #expect(!learned.contains("old_port"))
    }

    @Test func portConfigurationAndDropReasonCoding() throws {
        #expect(try json(PortConfiguration(name: "vmk1", mtu: 9000)) == #"{"mtu":9000,"name":"vmk1","up":true}"#)
        #expect(try json([DropReason.badSource, .queueFull]) == #"["bad_source","queue_full"]"#)
        #expect(try json(PortID(4)) == "4")
    }
}

@Suite("Control-plane snapshots of a VLAN-aware switch")
struct VLANSnapshotTests {
    func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func macTableRowsCarryTheirVLANAndStickiness() throws {
        var core = SwitchCore()
        try core.addPort(1, PortConfiguration(name: "client01", vlanMode: .access(10), security: PortSecurity(maximumMACs: 1, sticky: true)))
        _ = core.receive(frame(to: .broadcast, from: vm), on: 1, at: 0, frameNumber: 1)
        let row = try #require(core.macTableSnapshot(at: 0).first)
        #expect(try json(row) == #"{"age_ms":0,"mac":"00:50:56:00:00:10","moves":0,"port":1,"port_name":"client01","sticky":true,"vlan":10}"#)
        #expect(try JSONDecoder().decode(MACTableEntrySnapshot.self, from: Data(try json(row).utf8)) == row)
    }

    @Test func eventsCarryVLANFlapRateAndAction() throws {
        var core = try vlanSwitch(.init(macTable: .init(flapMoves: 2, flapWindow: second)))
        _ = core.receive(frame(to: .broadcast, from: vm), on: 1, at: 0, frameNumber: 1)
        _ = core.receive(frame(to: .broadcast, from: vm), on: 2, at: 100 * millisecond, frameNumber: 2)
        _ = core.receive(frame(to: .broadcast, from: vm), on: 1, at: 600 * millisecond, frameNumber: 3)
        let events = core.eventSnapshots(since: 0).events
        #expect(events.map(\.kind) == [.learned, .moved, .moved, .flap])
        #expect(try json(events[3]) == #"{"frame_number":3,"kind":"flap","mac":"00:50:56:00:00:10","moves":2,"new_port":1,"#
            + #""new_port_name":"p1","old_port":2,"old_port_name":"p2","rate":4,"sequence":3,"span_ns":500000000,"time_ns":600000000,"vlan":10}"#)
        #expect(try JSONDecoder().decode(SwitchEventSnapshot.self, from: Data(try json(events[3]).utf8)) == events[3])
        #expect(try json(SwitchEvent.Kind.allCases) == #"["learned","moved","move-ignored","flap","security-violation"]"#)
    }

    @Test func switchPortsSnapshotShowsModesStateAndSecurity() throws {
        var core = try vlanSwitch()
        try core.addPort(7, PortConfiguration(name: "client01", mtu: 1400, vlanMode: .access(20), security: PortSecurity(maximumMACs: 1, violation: .shut)))
        let snapshot = core.portsSnapshot(at: 0)
        #expect(try json(snapshot.ports[3]) == #"{"mac_count":0,"mode":"trunk","moves_ignored":0,"mtu":1500,"name":"p4","port":4,"#
            + #""security_violations":0,"state":"up","trunk":"10:20"}"#)
        #expect(try json(snapshot.ports[6]) == #"{"mac_count":0,"mode":"access","moves_ignored":0,"mtu":1400,"name":"client01","port":7,"#
            + #""security":{"max_macs":1,"sticky":false,"violation":"shut"},"security_violations":0,"state":"up","vlan":20}"#)
        #expect(snapshot.ports[6].security?.description == "max 1 MAC, shut")
        #expect(try JSONDecoder().decode(SwitchPortsSnapshot.self, from: Data(try json(snapshot).utf8)) == snapshot)
        #expect(try json(PortConfiguration(name: "p4", vlanMode: .trunk(VLANSet([10, 20]), native: 1)))
            == #"{"mtu":1500,"name":"p4","native":1,"trunk":"10:20","up":true}"#)
    }
}
