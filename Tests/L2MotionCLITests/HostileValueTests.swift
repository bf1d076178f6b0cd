import ArgumentParser
import Testing
@testable import l2motion

/// Parses `arguments` for the root command the way the shell would hand them over and returns the
/// message ArgumentParser prints, or nil if they were accepted. Parsing runs every `validate()`, and
/// nothing is created or sent before parsing succeeds.
func refusal(_ arguments: [String]) -> String? {
    do {
        _ = try L2Motion.parseAsRoot(arguments)
        return nil
    } catch {
        return L2Motion.message(for: error)
    }
}

/// One numeric option of one verb: the verb's required arguments and the option's name.
struct NumericOption: Sendable, CustomStringConvertible {
    let verb: [String]
    let option: String
    /// Whether 0 is a documented value of this option (then 0 is not hostile for it).
    let zeroIsDocumented: Bool
    var description: String { "\(verb.prefix(verb.first == "vm" ? 2 : 1).joined(separator: " ")) \(option)" }

    static let migrate = ["migrate", "web01", "--to", "esx02"]
    static let demo = ["demo"]
    static let switchVerb = ["switch", "sw", "--port", "name=p1,netns=ns1,ifname=eth0"]
    static let host = ["host", "esx01", "--vmk-address", "192.168.100.11"]
    static let pingTest = ["ping-test"]
    static let powerOn = ["vm", "power-on", "web01", "--datastore", "ds01", "--host", "esx01"]
    static let sendAs = ["vm", "send-as", "web02", "--mac", "00:50:56:00:00:10"]
    static let portGroupAdd = ["host", "port-group", "add", "Test", "--host", "esx02"]

    static let all: [NumericOption] = [
        .init(verb: migrate, option: "--downtime", zeroIsDocumented: false),
        .init(verb: migrate, option: "--switchover-share", zeroIsDocumented: true),
        .init(verb: migrate, option: "--max-rounds", zeroIsDocumented: false),
        .init(verb: migrate, option: "--max-seconds", zeroIsDocumented: false),
        .init(verb: migrate, option: "--announce", zeroIsDocumented: true),
        .init(verb: migrate, option: "--streams", zeroIsDocumented: false),
        .init(verb: migrate, option: "--drop-announces", zeroIsDocumented: true),
        .init(verb: demo, option: "--downtime", zeroIsDocumented: false),
        .init(verb: demo, option: "--switchover-share", zeroIsDocumented: true),
        .init(verb: demo, option: "--max-rounds", zeroIsDocumented: false),
        .init(verb: demo, option: "--max-seconds", zeroIsDocumented: false),
        .init(verb: demo, option: "--announce", zeroIsDocumented: true),
        .init(verb: demo, option: "--streams", zeroIsDocumented: false),
        .init(verb: demo, option: "--drop-announces", zeroIsDocumented: true),
        .init(verb: demo, option: "--memory", zeroIsDocumented: false),
        .init(verb: demo, option: "--touched", zeroIsDocumented: true),
        .init(verb: demo, option: "--ping-interval", zeroIsDocumented: false),
        .init(verb: demo, option: "--dirty-rate", zeroIsDocumented: true),
        .init(verb: powerOn, option: "--dirty-rate", zeroIsDocumented: true),
        .init(verb: switchVerb, option: "--snaplen", zeroIsDocumented: false),
        .init(verb: switchVerb, option: "--aging", zeroIsDocumented: false),
        .init(verb: switchVerb, option: "--busy-poll-us", zeroIsDocumented: true),
        .init(verb: switchVerb, option: "--capacity", zeroIsDocumented: false),
        .init(verb: host, option: "--migration-port", zeroIsDocumented: false),
        .init(verb: host, option: "--memory-limit", zeroIsDocumented: false),
        .init(verb: pingTest, option: "--interval", zeroIsDocumented: false),
        .init(verb: pingTest, option: "--seconds", zeroIsDocumented: false),
        .init(verb: ["fault-matrix"], option: "--runs", zeroIsDocumented: false),
        .init(verb: sendAs, option: "--count", zeroIsDocumented: false),
        .init(verb: sendAs, option: "--interval-ms", zeroIsDocumented: true),
        .init(verb: portGroupAdd, option: "--vlan", zeroIsDocumented: true),
    ]
}

@Suite("Every number a user can type is refused, with a message, before anything happens")
struct HostileValueTests {
    static let hostile = ["inf", "-inf", "nan", "1e20", "", "-1"]

    @Test(arguments: NumericOption.all)
    func hostileValuesAreRefused(option: NumericOption) throws {
        var values = Self.hostile
        if !option.zeroIsDocumented { values.append("0") }
        for value in values {
            let message = refusal(option.verb + ["\(option.option)=\(value)"])
            #expect(message != nil, "\(option) accepted \"\(value)\"")
            #expect(message?.contains(option.option) == true, "\(option) \"\(value)\": \(message ?? "")")
        }
    }

    @Test(arguments: NumericOption.all)
    func theDefaultsAreAccepted(option: NumericOption) {
        #expect(refusal(option.verb) == nil)
    }

    @Test func messagesSayWhatToType() {
        #expect(refusal(NumericOption.migrate + ["--downtime=inf"])
                == "--downtime must be a finite number of milliseconds between 0.01 and 100000, not inf")
        #expect(refusal(NumericOption.migrate + ["--max-seconds=1e20"])
                == "--max-seconds must be a finite number of seconds between 0.1 and 86400, not 1e+20")
        #expect(refusal(NumericOption.migrate + ["--downtime=nan"])
                == "--downtime must be a finite number of milliseconds between 0.01 and 100000, not nan")
        #expect(refusal(NumericOption.migrate + ["--announce=0,50,x"])
                == "--announce must be whole milliseconds separated by commas, like 0,50,200,450,800, or none, not \"0,50,x\"")
        #expect(refusal(NumericOption.migrate + ["--encryption=sometimes"])?.contains("--encryption") == true)
        #expect(refusal(NumericOption.demo + ["--memory=64", "--touched=128"])
                == "--touched 128 MiB is more than --memory 64 MiB")
    }

    @Test func dirtyRateSaysWhatToType() {
        #expect(refusal(NumericOption.powerOn + ["--dirty-rate=-1"])
                == "--dirty-rate must be a finite number of MiB/s between 0 and 39062.5, not -1")
        #expect(refusal(NumericOption.demo + ["--dirty-rate=40000"])
                == "--dirty-rate must be a finite number of MiB/s between 0 and 39062.5, not 40000")
        #expect(refusal(NumericOption.powerOn + ["--dirty-rate=inf"])
                == "--dirty-rate must be a finite number of MiB/s between 0 and 39062.5, not inf")
        for accepted in ["0", "0.5", "64", "39062.5"] {
            #expect(refusal(NumericOption.powerOn + ["--dirty-rate", accepted]) == nil, "\(accepted)")
            #expect(refusal(NumericOption.demo + ["--dirty-rate", accepted]) == nil, "\(accepted)")
        }
    }

    /// `host` runs a host by default and also holds `port-group add|remove`: both parse.
    @Test func hostRunsByDefaultAndEditsPortGroups() throws {
        let run = try L2Motion.parseAsRoot(NumericOption.host)
        #expect((run as? HostRunCommand)?.name == "esx01")
        #expect(try L2Motion.parseAsRoot(["host", "run", "port-group", "--vmk-address", "192.168.100.11"]) is HostRunCommand,
                "a host named like a subcommand still runs with `host run`")
        let remove = try L2Motion.parseAsRoot(["host", "port-group", "remove", "Production", "--host", "esx02", "--lab", "t1"])
        #expect((remove as? PortGroupCommand.Remove)?.label == "Production")
        #expect((remove as? PortGroupCommand.Remove)?.target.path == "/run/l2motion/t1/host-esx02.sock")
        #expect(try L2Motion.parseAsRoot(["host", "port-group", "add", "Test", "--host", "esx02"]) is PortGroupCommand.Add)
        #expect(refusal(["host", "port-group", "add", "", "--host", "esx02"])
                == "the port group label must not be empty; give it like Production")
        #expect(refusal(["host", "port-group", "remove", "Production"])?.contains("--host") == true)
    }

    @Test func streamsAreOneToSixteenWholeStreams() {
        for value in ["0", "17", "-3"] {
            #expect(refusal(NumericOption.migrate + ["--streams=\(value)"])
                    == "--streams must be a whole number of streams between 1 and 16, not \(value)")
        }
        for value in ["2.5", "two", "1e1"] {
            let message = refusal(NumericOption.demo + ["--streams", value])
            #expect(message?.contains("--streams") == true && message?.contains(value) == true, "\(value): \(message ?? "accepted")")
        }
        #expect(refusal(NumericOption.migrate + ["--streams", "16"]) == nil)
        #expect(refusal(NumericOption.demo + ["--streams", "1"]) == nil)
    }

    @Test func examplesAreNamed() {
        #expect(refusal(["lab", "topology", "--example", "multi-nic"]) == nil)
        #expect(refusal(["lab", "topology", "--example", "triple-nic"])?.contains("the examples are default, multi-nic") == true)
        #expect(refusal(["lab", "up", "--example", "multi-nic", "--topology", "x.yaml"])
                == "give --topology FILE or --example NAME, not both")
    }

    @Test(arguments: ["mtu=inf", "mtu=1e20", "mtu=-1", "mtu=0", "mtu=", "mtu=nan"])
    func portMTUIsRefused(field: String) {
        let message = refusal(["switch", "sw", "--port", "name=p1,netns=ns1,ifname=eth0,\(field)"])
        #expect(message?.contains("mtu") == true, "\(field): \(message ?? "accepted")")
    }

    @Test func portStateIsAnEnum() {
        #expect(refusal(["port", "pswitch", "p1", "sideways"])?.contains("sideways") == true)
        #expect(refusal(["port", "pswitch", "p1", "down"]) == nil)
    }
}
