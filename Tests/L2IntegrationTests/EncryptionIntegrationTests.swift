import Foundation
import L2Control
import L2Edge
import L2Daemons
import L2Lab
import Testing

/// Encrypted vMotion on the wire: with a full-length capture of the vMotion segment, guest memory
/// is readable in the TCP 8000 stream when encryption is disabled and nowhere when it is required.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct EncryptionIntegrationTests {
    /// The start of every VM's page 0: the boot record's magic, "L2MOTION" in little-endian bytes.
    static let guestMarker = Array("L2MOTION".utf8)

    static func containsMarker(_ frames: [CapturedFrame]) -> Bool {
        frames.contains { frame in
            guard frame.bytes.count >= guestMarker.count else { return false }
            return (0...(frame.bytes.count - guestMarker.count)).contains { offset in
                frame.bytes[offset] == guestMarker[0] && Array(frame.bytes[offset..<(offset + guestMarker.count)]) == guestMarker
            }
        }
    }

    @Test("guest memory is visible in clear with encryption disabled and absent with it required")
    func noGuestMemoryInClear() throws {
        try RootEnvironment.require()
        let lab = try TestLab(yaml: { TestLab.yaml(name: $0, memory: 64, touched: 16, vmotionSnaplen: 65535) })
        defer { lab.tearDown() }
        let capture = lab.state.capturePath(of: "vmotion")

        let clear = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--encryption", "disabled", "--json"]).utf8))
        #expect(clear.result.status.rawValue == "completed")
        #expect(clear.result.encryption?.rawValue == "none")
        let afterClear = try lab.switchCall("vmotion", SwitchCall.captureFlush).frames
        #expect(Self.containsMarker(try PcapReader.readAll(path: capture, filter: "tcp port 8000")),
                "with encryption disabled the boot record crosses the wire in clear")

        let sealed = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx01", "--encryption", "required", "--json"]).utf8))
        #expect(sealed.result.status.rawValue == "completed")
        #expect(sealed.result.encryption?.rawValue == "aes-256-gcm")
        #expect(sealed.result.verified)
        _ = try lab.switchCall("vmotion", SwitchCall.captureFlush)
        let encryptedFrames = try PcapReader.readAll(path: capture, filter: "tcp port 8000").filter { $0.number > afterClear }
        #expect(encryptedFrames.count > 100, "the second migration's stream is in the capture")
        #expect(!Self.containsMarker(encryptedFrames), "with encryption required no guest memory appears in clear")
    }

    @Test("garbage and a truncated hello on TCP 8000 are logged and dropped; nothing is created")
    func rogueBytesOnTheMigrationPort() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        // A rogue peer on the migration port: garbage, then a truncated hello. The host logs and closes.
        for payload in ["GET / HTTP/1.0\\r\\n\\r\\n", "L2MV\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x43abc"] {
            _ = try? lab.exec("esx01", ["bash", "-c", "printf '\(payload)' > /dev/tcp/192.168.100.12/8000"])
        }
        // The event: the host has logged both rogue connections and why it closed each.
        func rogueLines() -> Int {
            let log = (try? String(contentsOfFile: lab.folder.log("host-esx02"), encoding: .utf8)) ?? ""
            return log.components(separatedBy: "vMotion connection from 192.168.100.11").count - 1
        }
        #expect(lab.sandbox.waitUntil(seconds: 10) { rogueLines() >= 2 },
                "the host logged each rogue connection and why it closed it: \(rogueLines()) lines")
        #expect(try lab.host("esx02", HostCall.listVMs()).isEmpty, "nothing was created")
        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--json"]).utf8))
        #expect(report.runsOn == "esx02", "a real migration still works afterwards")
    }
}
