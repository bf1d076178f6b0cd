import Foundation
import L2Control
import Testing

@Suite("Relay targets and the relay line")
struct RelayTargetTests {
    @Test(arguments: [
        ("host-esx02", RelayTarget.Kind.host, "esx02"),
        ("switch-pswitch", .switch, "pswitch"),
        ("switch-v_motion-2", .switch, "v_motion-2"),
        ("host-a", .host, "a"),
        ("host--", .host, "-"),
        ("host-" + String(repeating: "x", count: 32), .host, String(repeating: "x", count: 32)),
    ])
    func valid(text: String, kind: RelayTarget.Kind, name: String) throws {
        let target = try RelayTarget(parsing: text)
        #expect(target.kind == kind)
        #expect(target.name == name)
        #expect(target.description == text)
        #expect(target.socket(in: "/run/l2motion/xm-b") == "/run/l2motion/xm-b/\(text).sock")
    }

    @Test func socketIsTheOneTheRunFolderNames() throws {
        let folder = RunFolder(lab: "xm-b")
        #expect(try RelayTarget(parsing: ControlRoute.hostTarget("esx02")).socket(in: folder.path) == folder.hostSocket("esx02"))
        #expect(try RelayTarget(parsing: ControlRoute.switchTarget("pswitch")).socket(in: folder.path) == folder.switchSocket("pswitch"))
    }

    @Test(arguments: [
        ("", "it must start with host- or switch-"),
        ("esx02", "it must start with host- or switch-"),
        ("vm-web01", "it must start with host- or switch-"),
        ("Host-esx02", "it must start with host- or switch-"),
        ("machine", "it must start with host- or switch-"),
        ("host-", "the daemon's name must be 1-32 characters, got 0"),
        ("switch-" + String(repeating: "x", count: 33), "the daemon's name must be 1-32 characters, got 33"),
        ("host-../x", "the daemon's name may hold only ASCII letters, digits, - and _"),
        ("host-../../etc/shadow", "the daemon's name may hold only ASCII letters, digits, - and _"),
        ("host-a/b", "the daemon's name may hold only ASCII letters, digits, - and _"),
        ("host-esx02.sock", "the daemon's name may hold only ASCII letters, digits, - and _"),
        ("host-esx 02", "the daemon's name may hold only ASCII letters, digits, - and _"),
        ("host-esx\u{0}02", "the daemon's name may hold only ASCII letters, digits, - and _"),
        ("host-ésx02", "the daemon's name may hold only ASCII letters, digits, - and _"),
    ])
    func invalid(text: String, reason: String) {
        let error = #expect(throws: ControlError.self) { try RelayTarget(parsing: text) }
        #expect(error?.code == .badRequest)
        #expect(error?.message == "relay target \"\(text)\" is not a daemon name: \(reason) (host-NAME or switch-NAME)")
    }

    @Test func aLongTargetIsQuotedShortened() {
        let text = "host-" + String(repeating: "y", count: 200)
        let error = #expect(throws: ControlError.self) { try RelayTarget(parsing: text) }
        #expect(error?.message.hasPrefix("relay target \"host-\(String(repeating: "y", count: 59))…\" is not a daemon name") == true)
    }

    @Test func lineRoundTrips() throws {
        let line = RelayLine.encode(target: "host-esx02")
        #expect(String(decoding: line, as: UTF8.self) == "{\"relay\":\"host-esx02\"}\n")
        #expect(try RelayLine.decode(line.dropLast()) == RelayTarget(parsing: "host-esx02"))
    }

    @Test(arguments: ["", "not json", "[\"host-esx02\"]", "{}", "{\"relay\":7}", "{\"relay\":\"host-esx02\",\"x\":1}",
                      "{\"target\":\"host-esx02\"}", "{\"status\":{}}"])
    func malformedLinesAreBadRequests(line: String) {
        let error = #expect(throws: ControlError.self) { try RelayLine.decode(Array(line.utf8)) }
        #expect(error == ControlError(.badRequest, "the first line must name the daemon to relay to, like {\"relay\":\"host-esx02\"} or {\"relay\":\"switch-pswitch\"}"))
    }

    @Test func aLineWithAnInvalidTargetSaysWhy() {
        let error = #expect(throws: ControlError.self) { try RelayLine.decode(Array("{\"relay\":\"host-../x\"}".utf8)) }
        #expect(error?.message.hasPrefix("relay target \"host-../x\" is not a daemon name") == true)
    }

    @Test func routesDescribeThemselves() {
        #expect(ControlRoute(socket: "/tmp/b.sock", relayTarget: "host-esx02").description == "host-esx02 via /tmp/b.sock")
        #expect(ControlRoute.direct("/run/l2motion/l2m/host-esx01.sock").description == "/run/l2motion/l2m/host-esx01.sock")
    }
}
