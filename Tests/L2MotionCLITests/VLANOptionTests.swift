import ArgumentParser
import L2Guest
import Testing
@testable import l2motion

@Suite("VLAN port groups, forged transmits, send-as and --strict-vlan on the command line")
struct VLANOptionTests {
    static let sendAs = ["vm", "send-as", "web02", "--mac", "00:50:56:00:00:10"]
    static let portGroupAdd = ["host", "port-group", "add", "Test", "--host", "esx02"]

    @Test func aHostTakesPortGroupsWithVLANAndPolicy() throws {
        let command = try #require(try L2Motion.parseAsRoot(NumericOption.host + [
            "--port-group", "Production,vlan=10,forged-transmits=reject", "--port-group", "Test:20", "--port-group", "Lab",
        ]) as? HostRunCommand)
        #expect(try command.parsedPortGroups() == [PortGroup(label: "Production", vlanID: 10, forgedTransmits: .reject),
                                                   PortGroup(label: "Test", vlanID: 20), PortGroup(label: "Lab")])
        #expect(refusal(NumericOption.host + ["--port-group", "Production,vlan=4095"])
                == "--port-group: port group Production: VLAN \"4095\" must be 0...4094 (0: untagged)")
        #expect(refusal(NumericOption.host + ["--port-group", "Production,forged=reject"])
                == "--port-group: port group Production: unknown key \"forged\"; keys are vlan, forged-transmits")
    }

    @Test func portGroupAddTakesVLANAndPolicy() throws {
        let add = try #require(try L2Motion.parseAsRoot(Self.portGroupAdd + ["--vlan", "10", "--forged-transmits", "reject"]) as? PortGroupCommand.Add)
        #expect(add.vlan == 10 && add.forgedTransmits == .reject)
        let plain = try #require(try L2Motion.parseAsRoot(Self.portGroupAdd) as? PortGroupCommand.Add)
        #expect(plain.vlan == 0 && plain.forgedTransmits == .accept)
        #expect(refusal(Self.portGroupAdd + ["--vlan", "4095"]) == "--vlan must be a whole number between 0 and 4094, not 4095")
        #expect(refusal(Self.portGroupAdd + ["--forged-transmits", "maybe"])?.contains("--forged-transmits") == true)
    }

    @Test func sendAsChecksItsArguments() throws {
        let command = try #require(try L2Motion.parseAsRoot(Self.sendAs + ["--count", "3", "--interval-ms", "0"]) as? VMCommand.SendAs)
        let arguments = try command.arguments()
        #expect(arguments.count == 3 && arguments.intervalMs == 0 && arguments.mac.description == "00:50:56:00:00:10")
        #expect(refusal(["vm", "send-as", "web02", "--mac", "00:50:56:00:00"]) == "--mac \"00:50:56:00:00\" is not a MAC address like 00:50:56:00:00:10")
        #expect(refusal(["vm", "send-as", "web02"])?.contains("--mac") == true)
        #expect(refusal(Self.sendAs + ["--count", "100000", "--interval-ms", "1000"])
                == "--count 100000 frames every 1000 ms take 99999 s; keep it within 600 s (fewer frames or a shorter --interval-ms)")
    }

    @Test func strictVLANReachesTheMigrationOptions() throws {
        let migrate = try #require(try L2Motion.parseAsRoot(NumericOption.migrate + ["--strict-vlan"]) as? MigrateCommand)
        #expect(try migrate.flags.options().strictVLAN)
        let demo = try #require(try L2Motion.parseAsRoot(NumericOption.demo + ["--strict-vlan"]) as? DemoCommand)
        #expect(try demo.flags.options().strictVLAN)
        let plain = try #require(try L2Motion.parseAsRoot(NumericOption.migrate) as? MigrateCommand)
        #expect(try plain.flags.options().strictVLAN == false)
    }

    @Test func theVLANExampleIsNamed() {
        #expect(refusal(["lab", "topology", "--example", "vlan"]) == nil)
        #expect(refusal(["lab", "up", "--example", "vlan"]) == nil)
    }
}
