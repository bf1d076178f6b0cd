import Testing
import L2Wire
@testable import L2Guest

let web01JSON = """
{ "name": "web01", "mac": "00:50:56:00:00:10", "ip": "10.10.0.10/24", "memoryMiB": 512,
  "portGroup": "Production", "workload": "web", "touchedMiB": 64,
  "gratuitousARPAtPowerOn": true, "disk": "web01.img", "seed": 42 }
"""

/// web01's JSON with one field replaced (or removed, with `nil`).
func web01(_ key: String, _ value: String?) -> String {
    var fields: [(String, String)] = [
        ("name", "\"web01\""), ("mac", "\"00:50:56:00:00:10\""), ("ip", "\"10.10.0.10/24\""), ("memoryMiB", "512"),
        ("portGroup", "\"Production\""), ("workload", "\"web\""), ("disk", "\"web01.img\""),
    ]
    if let index = fields.firstIndex(where: { $0.0 == key }) {
        if let value { fields[index].1 = value } else { fields.remove(at: index) }
    } else if let value {
        fields.append((key, value))
    }
    return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
}

func problems(_ json: String) -> [VMConfigurationProblem] {
    do {
        _ = try VMConfiguration.parse(json: json)
        return []
    } catch {
        return error.problems
    }
}

@Suite struct VMConfigurationTests {
    @Test func parsesAValidConfiguration() throws {
        let config = try VMConfiguration.parse(json: web01JSON)
        #expect(config.name == "web01")
        #expect(config.mac == MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10))
        #expect(config.ip == IPv4Interface("10.10.0.10/24"))
        #expect(config.memoryMiB == 512 && config.memoryBytes == 512 << 20)
        #expect(config.portGroup == "Production")
        #expect(config.workload == .web)
        #expect(config.touchedMiB == 64 && config.sendsGratuitousARP && config.seed == 42)
        #expect(config.disk == "web01.img")
        #expect(config.validate().isEmpty)
    }

    @Test func optionalFieldsDefault() throws {
        let config = try VMConfiguration.parse(json: web01("seed", nil))
        #expect(config.touchedMiB == nil && !config.sendsGratuitousARP && config.seed == nil)
        #expect(config.effectiveSeed == config.mac.rawValue ^ 0x5EED_0000_0000_0000)
    }

    @Test(arguments: ["name", "mac", "ip", "memoryMiB", "portGroup", "workload", "disk"])
    func missingFieldIsNamed(field: String) {
        let found = problems(web01(field, nil))
        #expect(found.map(\.field) == [field])
        #expect(found.first?.message.hasPrefix("missing") == true)
    }

    @Test(arguments: [
        ("mac", "\"00:50:56:00:10\"", "is not a MAC address"),
        ("mac", "\"01:00:5e:00:00:01\"", "multicast"),
        ("mac", "42", "must be a string"),
        ("ip", "\"10.10.0.10\"", "is not an IPv4 address with prefix"),
        ("ip", "\"10.10.0.300/24\"", "is not an IPv4 address with prefix"),
        ("ip", "\"10.10.0.0/24\"", "network address"),
        ("memoryMiB", "0", "must be positive"),
        ("memoryMiB", "-5", "must be positive"),
        ("memoryMiB", "1.5", "whole number"),
        ("memoryMiB", "\"512\"", "whole number"),
        ("touchedMiB", "1024", "more than the VM's memory"),
        ("portGroup", "\"\"", "must not be empty"),
        ("disk", "\"../x.img\"", "without '/'"),
        ("name", "\"web 01\"", "may only use"),
        ("gratuitousARPAtPowerOn", "\"yes\"", "true or false"),
    ])
    func invalidFieldIsNamed(field: String, value: String, phrase: String) {
        let found = problems(web01(field, value))
        #expect(found.map(\.field) == [field])
        #expect(found.first?.message.contains(phrase) == true, "\(found)")
    }

    @Test func unknownWorkloadPresetListsTheChoices() {
        let found = problems(web01("workload", "\"dbb\""))
        #expect(found == [.init(field: "workload", message: "unknown workload \"dbb\"; choose one of idle, web, db")])
        #expect(problems(web01("workload", "\"Web\"")).map(\.field) == ["workload"])
    }

    @Test func unknownKeysAreRefusedWithAHint() {
        let found = problems(web01("memoryMib", "512"))
        #expect(found.map(\.field) == ["memoryMib"])
        #expect(found.first?.message.contains("did you mean \"memoryMiB\"") == true)
        #expect(problems(web01("colour", "\"blue\"")).first?.message.contains("known keys: name, mac") == true)
    }

    @Test func everyProblemIsReportedAtOnce() {
        let json = #"{"name": "web01", "mac": "zz", "ip": "10.10.0.10/24", "memoryMiB": 0, "portGroup": "Production", "workload": "dbb", "disk": "d.img", "extra": 1}"#
        let found = problems(json)
        #expect(Set(found.map(\.field)) == ["extra", "mac", "workload"]) // memory is checked once the syntax is right
        let error = VMConfigurationError(found)
        #expect(error.description.contains("3 problems"))
    }

    @Test func validateReturnsEveryProblem() throws {
        var config = try VMConfiguration.parse(json: web01JSON)
        config.memoryMiB = 0
        config.portGroup = ""
        config.mac = .broadcast
        config.touchedMiB = -1
        #expect(config.validate().map(\.field) == ["mac", "memoryMiB", "touchedMiB", "portGroup"])
    }

    @Test func customWorkloadObject() throws {
        let config = try VMConfiguration.parse(json: web01("workload",
            #"{"pagesPerSecond": 500, "workingSetMiB": 8, "pattern": "sequential"}"#))
        #expect(config.workload == WorkloadSpec(pagesPerSecond: 500, workingSetPages: 2048, pattern: .sequential))
        let based = try VMConfiguration.parse(json: web01("workload", #"{"preset": "db", "pagesPerSecond": 100}"#))
        #expect(based.workload.pagesPerSecond == 100 && based.workload.workingSetPages == 65_536)
        #expect(based.workload.preset == "db+custom")

        let bad = problems(web01("workload", #"{"pattern": "random", "workingSetPages": 0, "rate": 5}"#))
        #expect(Set(bad.map(\.field)) == ["workload.rate", "workload.pattern"])
        #expect(bad.contains { $0.message.contains("choose one of uniform, hotCold, sequential") })
        #expect(problems(web01("workload", #"{"workingSetPages": 0}"#)).map(\.field) == ["workload"])
        #expect(problems(web01("workload", #"{"pagesPerSecond": 1e12}"#)).first?.message.contains("pagesPerSecond must be in") == true)
    }

    @Test func notJSONIsReported() {
        #expect(problems("{ name: web01 }").map(\.field) == ["(file)"])
        #expect(problems("[1, 2]").map(\.field) == ["(file)"])
    }

    @Test func encodesAndParsesBack() throws {
        let config = try VMConfiguration.parse(json: web01JSON)
        var custom = config
        custom.workload = WorkloadSpec(pagesPerSecond: 123, workingSetPages: 77, pattern: .hotCold, hotSetFraction: 0.25)
        for value in [config, custom] {
            let json = String(decoding: try jsonEncode(value), as: UTF8.self)
            #expect(try VMConfiguration.parse(json: json) == value)
        }
    }
}
