import Foundation
import L2Control
import L2Switch
import L2Wire
import Testing

/// The port keys of issue 23: VLAN modes, port security and the switch port's own MTU.
@Suite("PortSpec's VLAN, port security and port-mtu keys")
struct PortSpecVLANTests {
    @Test func accessTrunkAndUnawarePorts() throws {
        let access = try PortSpec(parsing: "name=client01,netns=l2m-client01,ifname=eth0,vlan=10")
        #expect(access.vlanMode == .access(10))
        #expect(access.portConfiguration.vlanMode == .access(10))
        let trunk = try PortSpec(parsing: "name=esx01,netns=l2m-esx01,ifname=vmnic0,trunk=30-40:10:20,native=1")
        #expect(trunk.vlanMode == .trunk(VLANSet([10, 20] + Array(30...40)), native: 1))
        #expect(trunk.description == "name=esx01,netns=l2m-esx01,ifname=vmnic0,mtu=1500,trunk=10:20:30-40,native=1")
        let unaware = try PortSpec(parsing: "name=p1,netns=ns,ifname=eth0")
        #expect(unaware.vlanMode == .unaware && unaware.security == nil && unaware.portMTU == nil)
        #expect(unaware.description == "name=p1,netns=ns,ifname=eth0,mtu=1500", "an unaware port prints as it always did")
        for spec in [access, trunk, unaware] { #expect(try PortSpec(parsing: spec.description) == spec) }
    }

    @Test func portSecurityAndPortMTU() throws {
        let secured = try PortSpec(parsing: "name=client01,netns=ns,ifname=eth0,vlan=10,max-macs=2,sticky=yes,violation=shut")
        #expect(secured.security == PortSecurity(maximumMACs: 2, sticky: true, violation: .shut))
        #expect(secured.portConfiguration.security == secured.security)
        #expect(try PortSpec(parsing: secured.description) == secured)
        #expect(try PortSpec(parsing: "name=c,netns=ns,ifname=eth0,max-macs=1").security == PortSecurity(maximumMACs: 1, sticky: false, violation: .drop),
                "an unaware port may be secured too; sticky no and drop are the defaults")
        let vmk = try PortSpec(parsing: "name=esx01-vmk1,netns=ns,ifname=vmk1,mtu=9000,port-mtu=1500")
        #expect(vmk.mtu == 9000 && vmk.portMTU == 1500 && vmk.switchMTU == 1500)
        #expect(vmk.portConfiguration.mtu == 1500, "the switch checks frames against the port's own MTU")
        #expect(try PortSpec(parsing: "name=p,netns=ns,ifname=eth0,mtu=9000").switchMTU == 9000)
        #expect(try PortSpec(parsing: vmk.description) == vmk)
    }

    @Test("status JSON: the old keys as they were, the new ones only when set; old JSON still decodes")
    func codable() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let plain = try PortSpec(parsing: "name=p1,netns=ns,ifname=eth0")
        #expect(String(decoding: try encoder.encode(plain), as: UTF8.self) == #"{"interface":"eth0","mtu":1500,"name":"p1","namespace":"ns"}"#)
        let trunk = try PortSpec(parsing: "name=p2,netns=ns,ifname=eth1,trunk=10:20,native=1,port-mtu=1400")
        #expect(String(decoding: try encoder.encode(trunk), as: UTF8.self)
            == #"{"interface":"eth1","mtu":1500,"name":"p2","namespace":"ns","native":1,"port_mtu":1400,"trunk":"10:20"}"#)
        let secured = try PortSpec(parsing: "name=p3,netns=ns,ifname=eth2,vlan=10,max-macs=1,sticky=yes")
        let json = String(decoding: try encoder.encode(secured), as: UTF8.self)
        #expect(json.contains(#""security":{"max_macs":1,"sticky":true,"violation":"drop"}"#) && json.contains(#""vlan":10"#))
        for spec in [plain, trunk, secured] {
            #expect(try JSONDecoder().decode(PortSpec.self, from: encoder.encode(spec)) == spec)
        }
        let old = #"{"name":"p1","namespace":"ns","interface":"eth0","mtu":9000,"address":"10.0.0.1/24"}"#
        #expect(try JSONDecoder().decode(PortSpec.self, from: Data(old.utf8)).vlanMode == .unaware)
    }

    @Test("bad VLAN and security keys get a message that says what to write", arguments: [
        ("vlan=10,trunk=20", "port p1: vlan= and trunk= exclude each other; an access port has one VLAN (vlan=10), a trunk a list (trunk=10:20:30-40)"),
        ("vlan=0", "port p1: vlan \"0\" is not a VLAN id; use 1...4094"),
        ("vlan=4095", "port p1: vlan \"4095\" is not a VLAN id; use 1...4094"),
        ("vlan=ten", "port p1: vlan \"ten\" is not a VLAN id; use 1...4094"),
        ("trunk=10:x", "port p1: trunk=: VLAN list \"10:x\": \"x\" is not a VLAN id (1...4094) or a range like 30-40; write ids and ranges like 10:20:30-40"),
        ("trunk=10,native=5000", "port p1: native \"5000\" is not a VLAN id; use 1...4094"),
        ("native=1", "port p1: native= goes with trunk= (it is the VLAN of a trunk's untagged frames); write trunk=10:20,native=1, or vlan=N for an access port"),
        ("vlan=10,native=1", "port p1: native= goes with trunk=; an access port (vlan=10) is untagged already"),
        ("trunk=10:20,max-macs=1", "port p1: port security would stop vMotion on a host's trunk (it carries every VM the host runs and every one that migrates to it); put max-macs, sticky and violation on access ports (vlan=N) only"),
        ("trunk=10,sticky=yes", "port p1: port security would stop vMotion on a host's trunk (it carries every VM the host runs and every one that migrates to it); put max-macs, sticky and violation on access ports (vlan=N) only"),
        ("vlan=10,sticky=yes", "port p1: sticky= and violation= set up port security; give max-macs=N (1...4096) too"),
        ("max-macs=0", "port p1: max-macs 0 is out of range; use 1...4096"),
        ("max-macs=4097", "port p1: max-macs 4097 is out of range; use 1...4096"),
        ("max-macs=many", "port p1: max-macs \"many\" is not a number"),
        ("max-macs=1,sticky=maybe", "port p1: sticky \"maybe\" must be yes or no"),
        ("max-macs=1,violation=restrict", "port p1: violation \"restrict\" must be drop (drop the frame, count it) or shut (shut the port until `l2motion port SWITCH p1 up`)"),
        ("port-mtu=9001", "port p1: port-mtu 9001 is out of range; use 68...9000"),
        ("port-mtu=big", "port p1: port-mtu \"big\" is not a number"),
    ])
    func invalid(extra: String, message: String) {
        #expect(throws: ConfigurationError(message)) { try PortSpec(parsing: "name=p1,netns=ns,ifname=eth0,\(extra)") }
    }
}
