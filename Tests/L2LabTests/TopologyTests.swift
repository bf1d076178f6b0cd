import L2Wire
import Testing
@testable import L2Lab

/// A complete, valid lab written out so every line number below can be read off the text.
let baseYAML = """
    name: lab1
    switches:
      - name: pswitch
        mtu: 1500
      - name: vmotion
        mtu: 9000
        snaplen: 128
    clients:
      - name: client01
        switch: pswitch
        address: 10.10.0.100/24
    datastores:
      - name: ds01
      - name: ds02
    hosts:
      - name: esx01
        uplink: pswitch
        vmotion: vmotion
        vmk_address: 192.168.100.11/24
        memory_mib: 4096
        port_groups: [Production]
        datastores: [ds01]
      - name: esx02
        uplink: pswitch
        vmotion: vmotion
        vmk_address: 192.168.100.12/24
        memory_mib: 4096
        port_groups: [Production]
        datastores: [ds01]
    vms:
      - name: web01
        host: esx01
        datastore: ds01
        mac: "00:50:56:00:00:10"
        ip: 10.10.0.10/24
        memory_mib: 1024
        touched_mib: 256
        port_group: Production
        workload: web
    """

/// `baseYAML` with each `(old, new)` replaced; `old` must occur exactly once.
func edited(_ edits: [(String, String)], file: String = baseYAML) throws -> String {
    var text = file
    for (old, new) in edits {
        let hits = text.components(separatedBy: old).count - 1
        try #require(hits == 1, "\"\(old)\" occurs \(hits) times in the test YAML")
        text = text.replacingOccurrences(of: old, with: new)
    }
    return text
}

/// The 1-based line of the only line of `yaml` containing `fragment`.
func line(of fragment: String, in yaml: String) throws -> Int {
    let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
    let hits = lines.indices.filter { lines[$0].contains(fragment) }
    try #require(hits.count == 1, "\"\(fragment)\" is on \(hits.count) lines")
    return hits[0] + 1
}

/// The only problem `parse` reports for `file` with `edits`, at `path`; fails the test otherwise.
func onlyProblem(_ edits: [(String, String)], path: String, file: String = baseYAML) throws -> String {
    let found = problems(try edited(edits, file: file))
    let problem = try #require(found.first { $0.path == path }, "no problem at \(path) in \(found)")
    #expect(found.count == 1, "\(found)")
    return problem.message
}

/// The problems `parse` reports; fails the test if it accepts the file.
func problems(_ yaml: String) -> [TopologyProblem] {
    do {
        let topology = try TopologyLoader.parse(yaml: yaml, source: "test.yaml")
        Issue.record("accepted a topology that should be refused: \(topology.name)")
        return []
    } catch {
        #expect(error.source == "test.yaml")
        return error.problems
    }
}

@Suite("Topology: the embedded default and the loader's acceptance")
struct TopologyAcceptanceTests {
    @Test func defaultTopologyParsesAndValidates() throws {
        let topology = DefaultTopology.topology()
        #expect(topology.name == "l2m")
        #expect(topology.switches == [SwitchNode(name: "pswitch", mtu: 1500, snaplen: 262_144),
                                      SwitchNode(name: "vmotion", mtu: 9000, snaplen: 128)])
        #expect(topology.clients.map(\.name) == ["client01"])
        #expect(topology.hosts.map(\.name) == ["esx01", "esx02"])
        #expect(topology.hosts.allSatisfy { $0.portGroups == ["Production"] && $0.datastores == ["ds01"] })
        let vm = try #require(topology.vm(named: "web01"))
        #expect(vm.host == "esx01")
        #expect(vm.mac == MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10))
        #expect(vm.ip == IPv4Interface("10.10.0.10/24"))
        #expect(vm.memoryMiB == 1024 && vm.touchedMiB == 256 && vm.workload == "web")
        #expect(TopologyValidator.problems(in: topology).isEmpty)
    }

    @Test func baseYAMLParses() throws {
        let topology = try TopologyLoader.parse(yaml: baseYAML, source: "test.yaml")
        #expect(topology.name == "lab1")
        #expect(topology.datastores.map(\.name) == ["ds01", "ds02"])
        #expect(topology.hosts[1].vmkAddress == IPv4Interface("192.168.100.12/24"))
    }

    @Test func optionalFieldsTakeTheirDefaults() throws {
        let yaml = try edited([("    mtu: 1500\n", ""), ("    memory_mib: 4096\n    port_groups: [Production]\n    datastores: [ds01]\n  - name: esx02", "    port_groups: [Production]\n    datastores: [ds01]\n  - name: esx02"),
                               ("    touched_mib: 256\n", ""), ("    workload: web", "")])
        let topology = try TopologyLoader.parse(yaml: yaml, source: "test.yaml")
        #expect(topology.switches[0].mtu == 1500 && topology.switches[0].snaplen == 262_144)
        #expect(topology.hosts[0].memoryMiB == 16_384)
        #expect(topology.vms[0].touchedMiB == 0)
        #expect(topology.vms[0].workload == "idle")
    }

    @Test func portsOfASwitchAreClientsThenHostsInOrder() {
        let topology = DefaultTopology.topology()
        #expect(topology.ports(of: "pswitch") == [
            TopologyPort(node: "client01", namespace: "l2m-client01", interface: "eth0", address: IPv4Interface("10.10.0.100/24"),
                         summary: "eth0 of client client01", addresses6: [IPv6Interface("fd00:10:10::100/64")!]),
            TopologyPort(node: "esx01", namespace: "l2m-esx01", interface: "vmnic0", address: nil, summary: "vmnic0 of host esx01"),
            TopologyPort(node: "esx02", namespace: "l2m-esx02", interface: "vmnic0", address: nil, summary: "vmnic0 of host esx02"),
        ])
        #expect(topology.ports(of: "vmotion") == [
            TopologyPort(node: "esx01", namespace: "l2m-esx01", interface: "vmk1", address: IPv4Interface("192.168.100.11/24"),
                         summary: "vmk1 of host esx01"),
            TopologyPort(node: "esx02", namespace: "l2m-esx02", interface: "vmk1", address: IPv4Interface("192.168.100.12/24"),
                         summary: "vmk1 of host esx02"),
        ])
        #expect(topology.ports(of: "nosuchswitch").isEmpty)
    }

    @Test func namespaceIsLabDashNode() throws {
        let topology = try TopologyLoader.parse(yaml: baseYAML, source: "test.yaml")
        #expect(topology.namespace(of: "esx02") == "lab1-esx02")
        #expect(topology.namespace(of: "client01") == "lab1-client01")
    }

    @Test func emptyAndNonYAMLFilesAreRefused() {
        #expect(problems("").map(\.message) == ["the file is empty"])
        let broken = problems("name: [unclosed")
        #expect(broken.count == 1)
        #expect(broken.first?.message.hasPrefix("not valid YAML") == true)
        let scalar = problems("just a string")
        #expect(scalar.first?.message.contains("top level must be a mapping") == true)
    }

    @Test func descriptionListsEveryProblemWithLineAndPath() throws {
        let error = TopologyError(source: "lab.yaml", problems: [
            TopologyProblem(path: "vms[0].mac", line: 36, message: "bad"),
            TopologyProblem(path: "", line: nil, message: "the file is empty"),
        ])
        #expect(error.description == "topology lab.yaml has 2 problems:\n  - line 36: vms[0].mac: bad\n  - the file is empty")
    }
}

@Suite("Topology: structural problems (fields, types)")
struct TopologyStructureTests {
    @Test func unknownTopLevelField() throws {
        let yaml = try edited([("name: lab1\n", "name: lab1\ncolour: blue\n")])
        let found = problems(yaml)
        #expect(found.count == 1)
        let problem = try #require(found.first)
        #expect(problem.path == "colour")
        #expect(try problem.line == line(of: "colour: blue", in: yaml))
        #expect(problem.message.contains("unknown field"))
        #expect(problem.message.contains("clients, datastores, hosts, machines, name, switches, vms"))
    }

    @Test func unknownFieldInSecondHost() throws {
        let yaml = try edited([("  - name: esx02\n", "  - name: esx02\n    cpus: 8\n")])
        let found = problems(yaml)
        let problem = try #require(found.first)
        #expect(found.count == 1)
        #expect(problem.path == "hosts[1].cpus")
        #expect(try problem.line == line(of: "cpus: 8", in: yaml))
        #expect(problem.message.contains("hosts entries have"))
        #expect(problem.message.contains("vmk_address"))
    }

    @Test func missingField() throws {
        let yaml = try edited([("  - name: esx02\n    uplink: pswitch\n", "  - name: esx02\n")])
        let problem = try #require(problems(yaml).first)
        #expect(problem.path == "hosts[1]")
        #expect(problem.message == "missing field uplink")
        #expect(try problem.line == line(of: "name: esx02", in: yaml))
    }

    @Test func wrongType() throws {
        let yaml = try edited([("    memory_mib: 1024", "    memory_mib: lots")])
        let found = problems(yaml)
        #expect(found.count == 1)
        let problem = try #require(found.first)
        #expect(problem.path == "vms[0].memory_mib")
        #expect(try problem.line == line(of: "memory_mib: lots", in: yaml))
    }

    @Test func malformedAddressSaysHowToWriteIt() throws {
        let yaml = try edited([("ip: 10.10.0.10/24", "ip: 10.10.0.300/24")])
        let problem = try #require(problems(yaml).first)
        #expect(problem.path == "vms[0].ip")
        #expect(problem.message.contains("10.10.0.300/24"))
        #expect(problem.message.contains("10.10.0.10/24"))
        #expect(try problem.line == line(of: "ip: 10.10.0.300/24", in: yaml))
    }

    @Test func unknownFieldAndTypeErrorAreBothReported() throws {
        let yaml = try edited([("name: lab1\n", "name: lab1\nowner: me\n"), ("    mtu: 9000", "    mtu: jumbo")])
        let found = problems(yaml)
        #expect(found.map(\.path) == ["owner", "switches[1].mtu"])
        #expect(try found.map(\.line) == [line(of: "owner: me", in: yaml), line(of: "mtu: jumbo", in: yaml)])
    }
}

@Suite("Topology: consistency problems, each with path and line")
struct TopologyValidationTests {
    /// The only problem of `yaml`, which must sit at `path`, on the line containing `marker`.
    func single(_ yaml: String, path: String, marker: String) throws -> TopologyProblem {
        try single(yaml, path: path, line: line(of: marker, in: yaml))
    }

    func single(_ yaml: String, path: String, line: Int) throws -> TopologyProblem {
        let found = problems(yaml)
        #expect(found.count == 1, "\(found)")
        let problem = try #require(found.first { $0.path == path }, "no problem at \(path) in \(found)")
        #expect(problem.line == line)
        return problem
    }

    @Test func duplicateNodeName() throws {
        let yaml = try edited([("  - name: web01", "  - name: esx01")])
        let problem = try single(yaml, path: "vms[0].name", line: line(of: "vms:", in: yaml) + 1)
        #expect(problem.message == "name \"esx01\" is already used by hosts[0].name")
    }

    @Test func duplicateSwitch() throws {
        let yaml = try edited([("  - name: vmotion\n    mtu: 9000\n    snaplen: 128\n",
                                "  - name: vmotion\n    mtu: 9000\n    snaplen: 128\n  - name: pswitch\n")])
        let found = problems(yaml)
        let problem = try #require(found.first)
        #expect(found.count == 1)
        #expect(problem.path == "switches[2].name")
        #expect(problem.message == "switch \"pswitch\" is defined twice")
        #expect(problem.line == 8)
    }

    @Test func unknownSwitchReferenced() throws {
        let yaml = try edited([("    switch: pswitch", "    switch: pswitch2")])
        let problem = try single(yaml, path: "clients[0].switch", marker: "switch: pswitch2")
        #expect(problem.message == "no switch \"pswitch2\"; switches are pswitch, vmotion")
    }

    @Test func portGroupLabelsMustMatchExactly() throws {
        let yaml = try edited([("port_group: Production", "port_group: production")])
        let problem = try single(yaml, path: "vms[0].port_group", marker: "port_group: production")
        #expect(problem.message == "host esx01 has no port group \"production\" (it has: \"Production\"); labels must match exactly, case included")
    }

    @Test func datastoreNotMountedByTheHost() throws {
        let yaml = try edited([("    datastore: ds01", "    datastore: ds02")])
        let problem = try single(yaml, path: "vms[0].datastore", marker: "datastore: ds02")
        #expect(problem.message == "host esx01 does not mount datastore \"ds02\" (it mounts: ds01)")
    }

    @Test func duplicateIPAddress() throws {
        let yaml = try edited([("ip: 10.10.0.10/24", "ip: 10.10.0.100/24")])
        let problem = try single(yaml, path: "vms[0].ip", marker: "ip: 10.10.0.100/24")
        #expect(problem.message == "address 10.10.0.100 is already used by clients[0].address")
    }

    @Test func duplicateVMKernelAddress() throws {
        let yaml = try edited([("vmk_address: 192.168.100.12/24", "vmk_address: 192.168.100.11/25")])
        let found = problems(yaml)
        let clash = try #require(found.first { $0.message.contains("already used") })
        #expect(clash.path == "hosts[1].vmk_address")
        #expect(clash.message == "address 192.168.100.11 is already used by hosts[0].vmk_address")
        // A /25 next to a /24 is also a different subnet.
        #expect(found.contains { $0.path == "hosts[1].vmk_address" && $0.message.contains("not in the same subnet") })
    }

    static let secondVM = """

          - name: web02
            host: esx02
            datastore: ds01
            mac: "00:50:56:00:00:10"
            ip: 10.10.0.11/24
            memory_mib: 512
            port_group: Production
        """

    @Test func duplicateMAC() throws {
        let yaml = baseYAML + Self.secondVM
        let problem = try single(yaml, path: "vms[1].mac", line: line(of: "name: web02", in: yaml) + 3)
        #expect(problem.message == "MAC 00:50:56:00:00:10 is already used by vms[0]")
    }

    @Test(arguments: ["01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"])
    func groupOrZeroMACIsRefused(mac: String) throws {
        let yaml = try edited([("mac: \"00:50:56:00:00:10\"", "mac: \"\(mac)\"")])
        let problem = try single(yaml, path: "vms[0].mac", marker: "mac: \"\(mac)\"")
        #expect(problem.message == "MAC \(mac) must be a unicast, non-zero address")
    }

    @Test(arguments: ["toolongname", "l2-m", "l2m_1", ""])
    func badLabName(name: String) throws {
        let yaml = try edited([("name: lab1", "name: \"\(name)\"")])
        let problem = try single(yaml, path: "name", marker: "name: \"\(name)\"")
        #expect(problem.message.hasPrefix("lab name \"\(name)\" must be 1-8 letters or digits"))
    }

    @Test(arguments: [67, 9001, 0])
    func mtuOutOfRange(mtu: Int) throws {
        let yaml = try edited([("    mtu: 1500", "    mtu: \(mtu)")])
        let problem = try single(yaml, path: "switches[0].mtu", marker: "mtu: \(mtu)")
        #expect(problem.message == "mtu \(mtu) is out of range; use 68...9000")
    }

    @Test(arguments: [68, 9000])
    func mtuAtTheLimitsIsAccepted(mtu: Int) throws {
        let yaml = try edited([("    mtu: 1500", "    mtu: \(mtu)")])
        #expect(try TopologyLoader.parse(yaml: yaml, source: "test.yaml").switches[0].mtu == mtu)
    }

    @Test func vmotionAddressesInDifferentSubnets() throws {
        let yaml = try edited([("vmk_address: 192.168.100.12/24", "vmk_address: 192.168.101.12/24")])
        let problem = try single(yaml, path: "hosts[1].vmk_address", marker: "vmk_address: 192.168.101.12/24")
        #expect(problem.message == "192.168.101.12/24 is not in the same subnet as esx01's 192.168.100.11/24 on segment vmotion")
    }

    @Test func vmsNeedMoreMemoryThanTheHostHas() throws {
        let yaml = try edited([("    memory_mib: 4096\n    port_groups: [Production]\n    datastores: [ds01]\n  - name: esx02",
                                "    memory_mib: 512\n    port_groups: [Production]\n    datastores: [ds01]\n  - name: esx02")])
        let problem = try single(yaml, path: "hosts[0].memory_mib", marker: "memory_mib: 512")
        #expect(problem.message == "its VMs need 1024 MiB but the host has 512 MiB")
    }

    @Test func clientAndVMNotInOneSubnet() throws {
        let yaml = try edited([("address: 10.10.0.100/24", "address: 10.20.0.100/24")])
        let problem = try single(yaml, path: "clients[0].address", marker: "address: 10.20.0.100/24")
        #expect(problem.message == "10.20.0.100/24 cannot reach VM web01 at 10.10.0.10/24 without a router; put them in one subnet")
    }

    @Test func unknownWorkload() throws {
        let yaml = try edited([("workload: web", "workload: gaming")])
        let problem = try single(yaml, path: "vms[0].workload", marker: "workload: gaming")
        #expect(problem.message == "unknown workload \"gaming\"; choose one of idle, web, db")
    }

    @Test func unknownHost() throws {
        let yaml = try edited([("    host: esx01", "    host: esx09")])
        let problem = try single(yaml, path: "vms[0].host", marker: "host: esx09")
        #expect(problem.message == "no host \"esx09\"; hosts are esx01, esx02")
    }

    /// Problems found per host or per segment come out in file order, the same on every run.
    @Test func problemsFollowTheFileOrder() throws {
        let twoSegments = try edited([
            ("  - name: vmotion\n", "  - name: vmotion2\n  - name: vmotion\n"),
            ("vmk_address: 192.168.100.12/24", "vmk_address: 192.168.101.12/24"),
            ("hosts:\n", """
                hosts:
                  - name: esx03
                    uplink: pswitch
                    vmotion: vmotion2
                    vmk_address: 192.168.200.13/24
                    port_groups: [Production]
                  - name: esx04
                    uplink: pswitch
                    vmotion: vmotion2
                    vmk_address: 192.168.201.14/24
                    port_groups: [Production]

                """),
            ("    memory_mib: 4096\n    port_groups: [Production]\n    datastores: [ds01]\n  - name: esx02",
             "    memory_mib: 256\n    port_groups: [Production]\n    datastores: [ds01]\n  - name: esx02"),
            ("    memory_mib: 4096\n    port_groups: [Production]\n    datastores: [ds01]\nvms:",
             "    memory_mib: 256\n    port_groups: [Production]\n    datastores: [ds01]\nvms:"),
        ]) + TopologyValidationTests.secondVM.replacingOccurrences(of: "00:50:56:00:00:10", with: "00:50:56:00:00:11")
        #expect(problems(twoSegments).map(\.path) == ["hosts[1].vmk_address", "hosts[3].vmk_address",
                                                      "hosts[2].memory_mib", "hosts[3].memory_mib"])
    }

    @Test func everyProblemIsReportedNotJustTheFirst() throws {
        let yaml = try edited([
            ("name: lab1", "name: lab-one"),
            ("    mtu: 9000", "    mtu: 9001"),
            ("port_group: Production", "port_group: production"),
            ("workload: web", "workload: gaming"),
            ("mac: \"00:50:56:00:00:10\"", "mac: \"01:00:5e:00:00:01\""),
        ])
        let found = problems(yaml)
        #expect(Set(found.map(\.path)) == ["name", "switches[1].mtu", "vms[0].port_group", "vms[0].workload", "vms[0].mac"])
        #expect(found.count == 5)
        for problem in found {
            let field = String(problem.path.split(separator: ".").last ?? "")
            let reported = try #require(problem.line, "\(problem.path) has no line")
            let text = yaml.split(separator: "\n", omittingEmptySubsequences: false)[reported - 1]
            #expect(text.contains("\(field):"), "line \(reported) is \"\(text)\", not the \(problem.path) field")
        }
    }
}

/// Every numeric field of a topology refuses what would trap or make no sense, and says which field.
@Suite("Topology: hostile numbers")
struct TopologyHostileNumberTests {
    /// (the field's line in `baseYAML`, how the field is written, whether 0 is a documented value)
    static let fields: [(line: String, key: String, zeroIsDocumented: Bool)] = [
        ("    mtu: 1500", "mtu", false),
        ("    snaplen: 128", "snaplen", false),
        ("    memory_mib: 1024", "memory_mib", false),
        ("    touched_mib: 256", "touched_mib", true),
        ("    memory_mib: 4096\n    port_groups: [Production]\n    datastores: [ds01]\n  - name: esx02", "memory_mib", false),
    ]
    static let hostile = [".inf", "-.inf", ".nan", "1e20", "\"\"", "-1", "99999999999999999999"]

    @Test(arguments: 0..<5)
    func hostileValuesAreRefusedByField(index: Int) throws {
        let field = Self.fields[index]
        var values = Self.hostile
        if !field.zeroIsDocumented { values.append("0") }
        for value in values {
            let replaced = field.line.replacingOccurrences(of: field.line.split(separator: "\n")[0].split(separator: ":")[1], with: " \(value)")
            let yaml = try edited([(field.line, replaced)])
            let found = problems(yaml)
            #expect(!found.isEmpty, "\(field.key): \(value) accepted")
            #expect(found.contains { $0.path.hasSuffix(field.key) || $0.message.contains(field.key) },
                    "\(field.key) = \(value): \(found.map(\.message))")
        }
    }
}
