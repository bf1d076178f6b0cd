import Foundation
import L2Control
import L2Migration
import L2Wire
import Testing

/// Encodes a request as its wire line and decodes it back through the server's decoder.
func roundTrip<Request: ControlRequestKind & Equatable>(_ request: Request) throws -> (line: String, back: Request) {
    let data = try ControlJSON.encoder.encode(request)
    return (String(decoding: data, as: UTF8.self), try ControlLine.decode(Request.self, from: data).get())
}

let sampleID = MigrationID("0123456789abcdef0123456789abcdef")!
let sampleSecret = MigrationSecret(bytes: [UInt8](repeating: 0xab, count: 32))!

@Suite("Typed control requests on the wire")
struct RequestCodecTests {
    @Test func switchCommandsAreTheOnesItServes() {
        #expect(SwitchRequest.commands == ["status", "events", "counters", "flush", "ports", "mac-table", "port", "capture-flush", "capture-stream",
                                           "capture-frames"])
    }

    @Test func hostCommandsAreTheOnesItServes() {
        #expect(HostRequest.commands == ["host-info", "power-on", "power-off", "list-vms", "vm-stats", "migrate-prepare",
                                         "migrate-send", "migration-status", "migration-resolve", "migrate-cancel",
                                         "migrate-recover", "paused-migrations", "datastore-probe", "datastore-mark", "vmotion-reach", "vmotion-mtu-probe", "port-group-add", "port-group-remove", "send-as"])
    }

    @Test(arguments: [
        (SwitchRequest.status, "{\"status\":{}}"),
        (.macTable, "{\"mac-table\":{}}"),
        (.events(since: 12), "{\"events\":{\"since\":12}}"),
        (.counters, "{\"counters\":{}}"),
        (.ports, "{\"ports\":{}}"),
        (.setPort(port: "p2", state: .down), "{\"port\":{\"port\":\"p2\",\"state\":\"down\"}}"),
        (.flush(port: nil), "{\"flush\":{}}"),
        (.flush(port: "p1"), "{\"flush\":{\"port\":\"p1\"}}"),
        (.captureFlush, "{\"capture-flush\":{}}"),
        (.captureStream(port: nil), "{\"capture-stream\":{}}"),
        (.captureStream(port: "esx02"), "{\"capture-stream\":{\"port\":\"esx02\"}}"),
        (.captureFrames(filter: "rarp", since: 0), "{\"capture-frames\":{\"filter\":\"rarp\",\"since\":0}}"),
        (.captureFrames(filter: "arp or (vlan and arp)", since: 1_700_000_000_123_456_789),
         "{\"capture-frames\":{\"filter\":\"arp or (vlan and arp)\",\"since\":1700000000123456789}}"),
    ])
    func switchRequests(request: SwitchRequest, line: String) throws {
        let (encoded, back) = try roundTrip(request)
        #expect(encoded == line)
        #expect(back == request)
        #expect(line.hasPrefix("{\"\(request.command)\""))
    }

    @Test func everyHostRequestRoundTrips() throws {
        let send = MigrateSendArguments(vm: "web01", id: sampleID, secret: sampleSecret, destination: IPv4Address("192.168.100.12")!,
                                        fault: FaultPlan(point: .stunned, action: .hold, holdMs: 1500))
        let prepare = MigratePrepareArguments(id: sampleID, secret: sampleSecret, vm: "web01", datastore: "ds01", garp: true)
        let requests: [HostRequest] = [
            .hostInfo, .powerOn(vm: "web01", datastore: "ds01"), .powerOff(vm: "web01"), .listVMs(scan: false),
            .vmStats(vm: "web01"), .migratePrepare(arguments: prepare), .migrateSend(arguments: send),
            .migrationStatus(id: "m1"), .migrationResolve(id: "m1", decision: .keep), .migrateCancel(id: "m1"),
            .migrateRecover(id: "m1"), .pausedMigrations,
            .migrateSend(arguments: MigrateSendArguments(vm: "web01", id: sampleID, secret: sampleSecret,
                                                         destination: IPv4Address("192.168.100.12")!, mode: .hybrid)),
            .migratePrepare(arguments: MigratePrepareArguments(id: sampleID, secret: sampleSecret, vm: "web01", datastore: "ds01", mode: .postcopy)),
            .datastoreProbe(datastore: "ds01", file: ".probe"),
            .datastoreMark(datastore: "ds01", file: ".l2motion-probe-42", remove: false),
            .datastoreMark(datastore: "ds01", file: ".l2motion-probe-42", remove: true), .vmotionReach(address: IPv4Address("192.168.100.12")!), .vmotionMTUProbe(interface: "vmk1", address: IPv4Address("192.168.100.12")!),
            .powerOn(vm: "web01", datastore: "ds01", dirtyRate: try DirtyRate(mebibytesPerSecond: 64)),
            .addPortGroup(label: "Production"), .removePortGroup(label: "Test"),
            .addPortGroup(label: "Production", vlan: 10, forgedTransmits: .reject),
            .sendAs(arguments: try SendAsArguments(vm: "web02", mac: MACAddress("00:50:56:00:00:10")!, count: 3, intervalMs: 20)),
        ]
        #expect(Set(requests.map(\.command)) == Set(HostRequest.commands), "one sample per command")
        for request in requests {
            let (line, back) = try roundTrip(request)
            #expect(back == request, "\(line)")
            #expect(line.hasPrefix("{\"\(request.command)\":"))
        }
    }

    @Test(arguments: [
        (HostRequest.powerOn(vm: "web01", datastore: "ds01"), #"{"power-on":{"datastore":"ds01","vm":"web01"}}"#),
        (.powerOn(vm: "web01", datastore: "ds01", dirtyRate: try! DirtyRate(mebibytesPerSecond: 0)),
         #"{"power-on":{"datastore":"ds01","dirty-rate":0,"vm":"web01"}}"#),
        (.powerOn(vm: "web01", datastore: "ds01", dirtyRate: try! DirtyRate(mebibytesPerSecond: 64.5)),
         #"{"power-on":{"datastore":"ds01","dirty-rate":64.5,"vm":"web01"}}"#),
        (.addPortGroup(label: "Production"), #"{"port-group-add":{"label":"Production"}}"#),
        (.addPortGroup(label: "Production", vlan: 10, forgedTransmits: .reject),
         #"{"port-group-add":{"forged-transmits":"reject","label":"Production","vlan":10}}"#),
        (.sendAs(arguments: try! SendAsArguments(vm: "web02", mac: MACAddress("00:50:56:00:00:10")!, count: 5, intervalMs: 100)),
         #"{"send-as":{"arguments":{"count":5,"interval-ms":100,"mac":"00:50:56:00:00:10","vm":"web02"}}}"#),
        (.removePortGroup(label: "Production"), #"{"port-group-remove":{"label":"Production"}}"#),
        (.datastoreMark(datastore: "ds01", file: ".l2motion-probe-7", remove: false),
         #"{"datastore-mark":{"datastore":"ds01","file":".l2motion-probe-7","remove":false}}"#),
        (.datastoreMark(datastore: "ds01", file: ".l2motion-probe-7", remove: true),
         #"{"datastore-mark":{"datastore":"ds01","file":".l2motion-probe-7","remove":true}}"#),
        (.vmotionMTUProbe(interface: "vmk1", address: IPv4Address("192.168.100.12")!),
         #"{"vmotion-mtu-probe":{"address":"192.168.100.12","interface":"vmk1"}}"#),
    ])
    func powerOnAndPortGroupLines(request: HostRequest, line: String) throws {
        let (encoded, back) = try roundTrip(request)
        #expect(encoded == line)
        #expect(back == request)
    }

    @Test func newCallsCarryTheirRequests() {
        #expect(HostCall.datastoreMark("ds01", file: ".l2motion-probe-7", remove: true).request
                == .datastoreMark(datastore: "ds01", file: ".l2motion-probe-7", remove: true))
        #expect(SwitchCall.captureFrames(filter: "rarp").request == .captureFrames(filter: "rarp", since: 0))
        #expect(SwitchCall.captureFrames(filter: "arp", sinceWallNanoseconds: 5).request == .captureFrames(filter: "arp", since: 5))
    }

    @Test func capturedFrameRefsTravelSnakeCase() throws {
        let refs = [CapturedFrameRef(number: 3, wallNanoseconds: 1_700_000_000_000_000_001)]
        let line = String(decoding: try ControlJSON.encoder.encode(refs), as: UTF8.self)
        #expect(line == #"[{"number":3,"wall_nanoseconds":1700000000000000001}]"#)
        #expect(try ControlJSON.decoder.decode([CapturedFrameRef].self, from: Data(line.utf8)) == refs)
    }

    @Test func newRequestsMissingAnArgumentAreRefusedByName() {
        #expect(ControlLine.decode(HostRequest.self, from: Data(#"{"datastore-mark":{"datastore":"ds01","file":".l2motion-probe-7"}}"#.utf8))
            .failureValue == ControlError(.invalidArgument, "datastore-mark: missing argument \"remove\""))
        #expect(ControlLine.decode(SwitchRequest.self, from: Data(#"{"capture-frames":{"filter":"arp","since":-1}}"#.utf8))
            .failureValue?.code == .invalidArgument)
    }

    /// A dirty rate a client hands the host is range-checked on decoding, like the CLI's `--dirty-rate`.
    @Test(arguments: [
        ("-1", "--dirty-rate must be a finite number of MiB/s between 0 and 39062.5, not -1"),
        ("1e300", "--dirty-rate must be a finite number of MiB/s between 0 and 39062.5, not 1e+300"),
        ("39063", "--dirty-rate must be a finite number of MiB/s between 0 and 39062.5, not 39063"),
    ])
    func hostileDirtyRatesAreRefused(value: String, message: String) {
        let line = #"{"power-on":{"vm":"web01","datastore":"ds01","dirty-rate":"# + value + "}}"
        #expect(ControlLine.decode(HostRequest.self, from: Data(line.utf8)).failureValue
                == ControlError(.invalidArgument, "power-on: \(message)"))
        let text = #"{"power-on":{"vm":"web01","datastore":"ds01","dirty-rate":"fast"}}"#
        #expect(ControlLine.decode(HostRequest.self, from: Data(text.utf8)).failureValue?.code == .invalidArgument)
    }

    @Test func dirtyRateIsCheckedWhenMade() throws {
        #expect(throws: ConfigurationError("--dirty-rate must be a finite number of MiB/s between 0 and 39062.5, not nan")) {
            try DirtyRate(mebibytesPerSecond: .nan)
        }
        let rate = try DirtyRate(mebibytesPerSecond: 64)
        #expect(rate.applied(to: .web).pagesPerSecond == 16_384)
        #expect(rate.description == "64 MiB/s")
    }

    @Test func migrationIdAndSecretTravelAsText() throws {
        let line = String(decoding: try ControlJSON.encoder.encode(HostRequest.migratePrepare(arguments: MigratePrepareArguments(
            id: sampleID, secret: sampleSecret, vm: "web01", datastore: "ds01"))), as: UTF8.self)
        #expect(line.contains("\"id\":\"01234567-89ab-cdef-0123-456789abcdef\""))
        #expect(line.contains("\"secret\":\"" + String(repeating: "ab", count: 32) + "\""))
        #expect(line.contains("\"announce-ms\":[0,50,200,450,800]"))
    }

    /// A hostile or buggy client cannot hand a host a number that would trap it: each is refused on
    /// decoding with a message naming the argument.
    @Test(arguments: [
        ("\"downtime-ms\":300", "\"downtime-ms\":1e300", "--downtime must be a finite number of milliseconds between 0.01 and 100000, not 1e+300"),
        ("\"downtime-ms\":300", "\"downtime-ms\":-1", "--downtime must be a finite number of milliseconds between 0.01 and 100000, not -1"),
        ("\"max-seconds\":100", "\"max-seconds\":1e20", "--max-seconds must be a finite number of seconds between 0.1 and 86400, not 1e+20"),
        ("\"max-rounds\":30", "\"max-rounds\":0", "--max-rounds must be a whole number of rounds between 1 and 10000, not 0"),
        ("\"switchover-share\":0.001", "\"switchover-share\":2", "--switchover-share must be a finite number between 0 and 1, not 2"),
        ("\"grace-ms\":2000", "\"grace-ms\":1e19", "grace-ms must be a finite number of milliseconds between 0 and 60000, not 1e+19"),
        ("\"stall-seconds\":5", "\"stall-seconds\":0", "stall-seconds must be a finite number of seconds between 0.1 and 3600, not 0"),
        ("\"port\":8000", "\"port\":0", "--migration-port must be a whole number between 1 and 65535, not 0"),
        ("\"streams\":1", "\"streams\":17", "--streams must be a whole number of streams between 1 and 16, not 17"),
    ])
    func hostileSendArgumentsAreRefused(good: String, bad: String, message: String) throws {
        let send = MigrateSendArguments(vm: "web01", id: sampleID, secret: sampleSecret, destination: IPv4Address("192.168.100.12")!)
        let line = String(decoding: try ControlJSON.encoder.encode(HostRequest.migrateSend(arguments: send)), as: UTF8.self)
        try #require(line.contains(good), "\(line)")
        let hostile = line.replacingOccurrences(of: good, with: bad)
        switch ControlLine.decode(HostRequest.self, from: Data(hostile.utf8)) {
        case .success: Issue.record("accepted \(bad)")
        case let .failure(error):
            #expect(error == ControlError(.invalidArgument, "migrate-send: \(message)"))
        }
    }

    @Test func streamsAndPathsTravelAndDefaultToOneStream() throws {
        let paths = [VMotionPath(interface: "vmk1", destination: IPv4Address("192.168.100.12")!),
                     VMotionPath(interface: "vmk2", destination: IPv4Address("192.168.101.12")!)]
        let send = MigrateSendArguments(vm: "web01", id: sampleID, secret: sampleSecret, destination: IPv4Address("192.168.100.12")!,
                                        streams: 4, paths: paths)
        let (line, back) = try roundTrip(HostRequest.migrateSend(arguments: send))
        #expect(back == .migrateSend(arguments: send))
        #expect(line.contains("\"paths\":[{\"destination\":\"192.168.100.12\",\"interface\":\"vmk1\"}"), "\(line)")
        // A request without them (an older coordinator) is one stream over vmk1.
        let plain = MigrateSendArguments(vm: "web01", id: sampleID, secret: sampleSecret, destination: IPv4Address("192.168.100.12")!)
        let old = String(decoding: try ControlJSON.encoder.encode(HostRequest.migrateSend(arguments: plain)), as: UTF8.self)
            .replacingOccurrences(of: ",\"paths\":[]", with: "").replacingOccurrences(of: ",\"streams\":1", with: "")
        #expect(!old.contains("streams") && !old.contains("paths"), "\(old)")
        #expect(try ControlLine.decode(HostRequest.self, from: Data(old.utf8)).get() == .migrateSend(arguments: plain))
        let prepare = MigratePrepareArguments(id: sampleID, secret: sampleSecret, vm: "web01", datastore: "ds01", streams: 3)
        #expect(try roundTrip(HostRequest.migratePrepare(arguments: prepare)).1 == .migratePrepare(arguments: prepare))
        let tooMany = String(decoding: try ControlJSON.encoder.encode(HostRequest.migratePrepare(arguments: prepare)), as: UTF8.self)
            .replacingOccurrences(of: "\"streams\":3", with: "\"streams\":40")
        #expect(ControlLine.decode(HostRequest.self, from: Data(tooMany.utf8)).failureValue?.message
                == "migrate-prepare: streams must be a whole number of streams between 1 and 16, not 40")
    }

    @Test("announce knobs travel: an empty schedule (Notify Switches off), drop-announces; the decoder refuses what cannot be")
    func announceKnobs() throws {
        let none = MigratePrepareArguments(id: sampleID, secret: sampleSecret, vm: "web01", datastore: "ds01", announceMs: [])
        #expect(try roundTrip(HostRequest.migratePrepare(arguments: none)).1 == .migratePrepare(arguments: none))
        let dropping = MigratePrepareArguments(id: sampleID, secret: sampleSecret, vm: "web01", datastore: "ds01", dropAnnounces: 2)
        let (line, back) = try roundTrip(HostRequest.migratePrepare(arguments: dropping))
        #expect(back == .migratePrepare(arguments: dropping) && line.contains("\"drop-announces\":2"), "\(line)")
        // An older coordinator's request drops nothing.
        let old = line.replacingOccurrences(of: ",\"drop-announces\":2", with: "").replacingOccurrences(of: "\"drop-announces\":2,", with: "")
        #expect(!old.contains("drop-announces"))
        #expect(try ControlLine.decode(HostRequest.self, from: Data(old.utf8)).get()
                == .migratePrepare(arguments: MigratePrepareArguments(id: sampleID, secret: sampleSecret, vm: "web01", datastore: "ds01")))
        for (bad, message) in [
            (line.replacingOccurrences(of: "\"drop-announces\":2", with: "\"drop-announces\":6"),
             "--drop-announces 6 is more than the 5 announces of --announce 0,50,200,450,800"),
            (line.replacingOccurrences(of: "\"drop-announces\":2", with: "\"drop-announces\":-1"),
             "--drop-announces must be a whole number of announces between 0 and 100, not -1"),
            (line.replacingOccurrences(of: "[0,50,200,450,800]", with: "[]"),
             "--drop-announces 2 has nothing to drop: --announce none sends no announce"),
            (line.replacingOccurrences(of: "\"drop-announces\":2", with: "\"drop-announces\":0")
                 .replacingOccurrences(of: "[0,50,200,450,800]", with: "[]").replacingOccurrences(of: "\"garp\":false", with: "\"garp\":true"),
             "--garp goes out with the first RARP, and --announce none sends none; drop one of them"),
        ] {
            #expect(ControlLine.decode(HostRequest.self, from: Data(bad.utf8)).failureValue?.message == "migrate-prepare: \(message)", "\(bad)")
        }
    }

    @Test func malformedIdAndSecretAreRefusedByName() throws {
        let bad = "{\"migration-resolve\":{\"id\":\"m1\",\"decision\":\"maybe\"}}"
        let error = try #require(ControlLine.decode(HostRequest.self, from: Data(bad.utf8)).failureValue)
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix("migration-resolve: argument \"decision\""), "\(error.message)")
        let send = MigrateSendArguments(vm: "web01", id: sampleID, secret: sampleSecret, destination: IPv4Address("192.168.100.12")!)
        let line = String(decoding: try ControlJSON.encoder.encode(HostRequest.migrateSend(arguments: send)), as: UTF8.self)
        let shortSecret = line.replacingOccurrences(of: String(repeating: "ab", count: 32), with: "abcd")
        let secretError = try #require(ControlLine.decode(HostRequest.self, from: Data(shortSecret.utf8)).failureValue)
        #expect(secretError.message == "migrate-send: argument \"arguments.secret\": the migration secret must be 64 hex digits")
    }
}

extension Result {
    var failureValue: Failure? { if case let .failure(error) = self { error } else { nil } }
}

@Suite("migrate-prepare: --announce-ipv6")
struct AnnounceIPv6CodecTests {
    static let id = sampleID
    static let secret = sampleSecret

    @Test("travels as announce-ipv6; absent (an older coordinator) means na, the CLI's default")
    func travels() throws {
        let off = MigratePrepareArguments(id: Self.id, secret: Self.secret, vm: "web01", datastore: "ds01", announceIPv6: .none)
        let line = String(decoding: try ControlJSON.encoder.encode(HostRequest.migratePrepare(arguments: off)), as: UTF8.self)
        #expect(line.contains("\"announce-ipv6\":\"none\""), "\(line)")
        #expect(try ControlLine.decode(HostRequest.self, from: Data(line.utf8)).get() == .migratePrepare(arguments: off))
        let old = line.replacingOccurrences(of: ",\"announce-ipv6\":\"none\"", with: "").replacingOccurrences(of: "\"announce-ipv6\":\"none\",", with: "")
        #expect(!old.contains("announce-ipv6"))
        guard case let .migratePrepare(arguments) = try ControlLine.decode(HostRequest.self, from: Data(old.utf8)).get() else {
            Issue.record("not a migrate-prepare")
            return
        }
        #expect(arguments.announceIPv6 == .na)
        let bad = line.replacingOccurrences(of: "\"announce-ipv6\":\"none\"", with: "\"announce-ipv6\":\"ndp\"")
        #expect(ControlLine.decode(HostRequest.self, from: Data(bad.utf8)).failureValue != nil)
    }
}
