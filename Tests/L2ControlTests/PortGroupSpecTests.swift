import Foundation
import L2Control
import L2Guest
import L2Wire
import Testing

@Suite("--port-group LABEL[,vlan=N][,forged-transmits=reject|accept] and send-as arguments")
struct PortGroupSpecTests {
    @Test(arguments: [
        ("Production", PortGroup(label: "Production")),
        ("Production,vlan=10", PortGroup(label: "Production", vlanID: 10)),
        ("DB,vlan=20,forged-transmits=reject", PortGroup(label: "DB", vlanID: 20, forgedTransmits: .reject)),
        ("DB,forged-transmits=reject,vlan=4094", PortGroup(label: "DB", vlanID: 4094, forgedTransmits: .reject)),
        ("Lab Net,forged-transmits=accept", PortGroup(label: "Lab Net")),
        ("Production:10", PortGroup(label: "Production", vlanID: 10)),
        ("Production,vlan=0", PortGroup(label: "Production")),
    ])
    func parses(text: String, group: PortGroup) throws {
        #expect(try PortGroupSpec.parse(text) == group)
        #expect(try PortGroupSpec.parse(PortGroupSpec.format(group)) == group, "format and parse agree")
    }

    @Test func theDefaultLabsGroupsAreTheBareLabel() {
        #expect(PortGroupSpec.format(PortGroup(label: "Production")) == "Production")
        #expect(PortGroupSpec.format(PortGroup(label: "Production", vlanID: 10)) == "Production,vlan=10")
        #expect(PortGroupSpec.format(PortGroup(label: "DB", forgedTransmits: .reject)) == "DB,forged-transmits=reject")
    }

    @Test(arguments: [
        ("", "port group \"\": the label is empty; write LABEL[,vlan=N][,forged-transmits=reject|accept], like Production,vlan=10"),
        (",vlan=10", "port group \",vlan=10\": the label is empty; write LABEL[,vlan=N][,forged-transmits=reject|accept], like Production,vlan=10"),
        ("Production,vlan=4095", "port group Production: VLAN \"4095\" must be 0...4094 (0: untagged)"),
        ("Production,vlan=-1", "port group Production: VLAN \"-1\" must be 0...4094 (0: untagged)"),
        ("Production,vlan=ten", "port group Production: VLAN \"ten\" must be 0...4094 (0: untagged)"),
        ("Production:4095", "port group Production: VLAN \"4095\" must be 0...4094 (0: untagged)"),
        ("Production,vlan", "port group Production: \"vlan\" is not key=value; write LABEL[,vlan=N][,forged-transmits=reject|accept]"),
        ("Production,colour=red", "port group Production: unknown key \"colour\"; keys are vlan, forged-transmits"),
        ("Production,forged-transmits=maybe", "port group Production: forged-transmits \"maybe\" must be reject or accept"),
        ("Production,vlan=10,vlan=20", "port group Production: vlan is given twice"),
    ])
    func refusesWithAMessage(text: String, message: String) {
        #expect(throws: ConfigurationError(message)) { try PortGroupSpec.parse(text) }
    }

    @Test func sendAsArgumentsAreCheckedWhenMadeAndWhenDecoded() throws {
        let mac = MACAddress("00:50:56:00:00:10")!
        #expect(try SendAsArguments(vm: "web02", mac: mac).count == 1)
        #expect(throws: ConfigurationError("--count must be a whole number of frames between 1 and 100000, not 0")) {
            try SendAsArguments(vm: "web02", mac: mac, count: 0)
        }
        #expect(throws: ConfigurationError("--interval-ms must be a whole number of milliseconds between 0 and 60000, not -5")) {
            try SendAsArguments(vm: "web02", mac: mac, intervalMs: -5)
        }
        #expect(throws: ConfigurationError("--count 100000 frames every 60000 ms take 5999940 s; keep it within 600 s (fewer frames or a shorter --interval-ms)")) {
            try SendAsArguments(vm: "web02", mac: mac, count: 100_000, intervalMs: 60_000)
        }
        #expect(try SendAsArguments(vm: "web02", mac: mac, count: 11, intervalMs: 150).durationSeconds == 2)
        let hostile = #"{"send-as":{"arguments":{"vm":"web02","mac":"00:50:56:00:00:10","count":1000000,"interval-ms":1}}}"#
        #expect(ControlLine.decode(HostRequest.self, from: Data(hostile.utf8)).failureValue?.code == .invalidArgument)
    }
}
