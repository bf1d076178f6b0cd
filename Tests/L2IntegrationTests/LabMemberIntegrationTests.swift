import Foundation
import L2Control
import L2Edge
import L2Lab
import Testing

/// External members in a real lab: a topology whose production switch lists an attached veth (its
/// peer in a namespace of its own, with an address in the lab's subnet) and a QEMU socket. `lab up`
/// makes them ports, `lab status` shows them, and client01 pings through the attached one.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct LabMemberIntegrationTests {
    @Test("lab up wires external members, lab status shows them, traffic crosses the attached one")
    func membersInALab() throws {
        try RootEnvironment.require()
        let sandbox = try Sandbox()
        defer { sandbox.tearDown() }
        let outside = try sandbox.namespace("o")
        let holder = try sandbox.namespace("h")
        try CommandRunner.run(["ip", "-n", outside, "link", "add", "eth0", "type", "veth", "peer", "name", "ext0", "netns", holder])
        try CommandRunner.run(["ip", "-n", outside, "addr", "add", "10.10.0.77/24", "dev", "eth0"])
        try CommandRunner.run(["ip", "-n", outside, "link", "set", "eth0", "up"])
        let qemuSocket = sandbox.directory + "/vm.sock"
        let members = """
              - name: pswitch          # the production network
                mtu: 1500
                members:
                  - name: outside
                    attach: ext0
                    netns: \(holder)
                  - name: vm-q1
                    qemu: \(qemuSocket)

            """
        let lab = try TestLab { name in
            TestLab.yaml(name: name).replacingOccurrences(of: "  - name: pswitch          # the production network\n    mtu: 1500\n", with: members)
        }
        defer { lab.tearDown() }
        let status = try sandbox.run(["lab", "status", "--name", lab.name, "--json"])
        let decoded = try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any]
        let rows = decoded?["members"] as? [[String: Any]] ?? []
        let states = rows.compactMap { ($0["state"] as? [String: Any]).map { "\($0["port"] ?? "")=\($0["kind"] ?? ""):\($0["state"] ?? "")" } }
        #expect(states == ["outside=attach:attached", "vm-q1=qemu:listening"], "\(status)")
        let text = try sandbox.run(["lab", "status", "--name", lab.name])
        #expect(text.contains("attached ext0 in namespace \(holder)") && text.contains("QEMU stream socket \(qemuSocket)"), "\(text)")
        #expect(CommandRunner.succeeds(["ip", "netns", "exec", "\(lab.name)-client01", "ping", "-c", "3", "-i", "0.05", "-W", "1", "10.10.0.77"]),
                "client01 reaches the attached namespace through the lab's switch")
        #expect(CommandRunner.succeeds(["ip", "netns", "exec", outside, "ping", "-c", "3", "-i", "0.05", "-W", "1", "10.10.0.10"]),
                "the outside namespace reaches web01")
    }
}
