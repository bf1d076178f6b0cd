import Foundation
import L2Control
import L2Edge
import L2Guest
import L2Lab
import Testing

/// Bad input against web01's TCP from a real namespace, before and during a migration: a SYN flood
/// from spoofed sources (half-open connections that never complete), segments with wrong checksums
/// and a slowloris client. They are counted and dropped, the table stays bounded, real clients still
/// get answers, and the migration is unaffected.
@Suite(.serialized, .enabled(if: RootEnvironment.shouldRun))
struct TCPBadInputIntegrationTests {
    /// Sends COUNT SYNs to 10.10.0.10:80 from spoofed 10.10.0.200-249 (raw IPv4, so their SYN-ACKs
    /// go unanswered), then BAD segments with a wrong TCP checksum; Python's raw socket, as root.
    static let flood = """
        import random, socket, struct, sys, time
        count, bad = int(sys.argv[1]), int(sys.argv[2])
        def checksum(data):
            if len(data) % 2: data += b"\\0"
            s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
            while s >> 16: s = (s & 0xFFFF) + (s >> 16)
            return ~s & 0xFFFF
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        dst = socket.inet_aton("10.10.0.10")
        for n in range(count + bad):
            src = socket.inet_aton("10.10.0.%d" % (200 + n % 50))
            tcp = struct.pack("!HHIIBBHHH", random.randint(1024, 65535), 80, random.getrandbits(32), 0, 5 << 4, 0x02, 64240, 0, 0)
            csum = checksum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
            if n >= count: csum ^= 0x5555
            tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), n & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            raw.sendto(ip + tcp, ("10.10.0.10", 0))
            if n % 10 == 9: time.sleep(0.002)  # about 5,000 segments/s: a flood, not a burst the queues drop
        """

    @Test("a SYN flood, bad checksums and a slowloris client are counted and dropped; curl still works and the migration is unaffected")
    func floodDuringMigration() throws {
        try RootEnvironment.require()
        let lab = try TestLab()
        defer { lab.tearDown() }
        let script = lab.sandbox.directory + "/flood.py"
        try Self.flood.write(toFile: script, atomically: true, encoding: .utf8)
        // The spoofed sources come from client01's MAC: the VM answers them there, and client01's
        // kernel drops SYN-ACKs for addresses it does not have, so the connections stay half-open.
        _ = try lab.exec("client01", ["python3", script, "3000", "40"])
        // The host works through what queued in its uplink meanwhile.
        func seen(_ host: String) -> UInt64 {
            guard let tcp = try? lab.host(host, HostCall.vmStats("web01")).statistics.tcp else { return 0 }
            return tcp.segmentsReceived + tcp.droppedBadChecksum
        }
        #expect(lab.sandbox.waitUntil(seconds: 60) { seen("esx01") >= 3040 }, "every segment reached the VM: \(seen("esx01"))")
        let before = try lab.host("esx01", HostCall.vmStats("web01"))
        let tcp = try #require(before.statistics.tcp)
        #expect(tcp.droppedBadChecksum == 40, "\(tcp)")
        #expect(tcp.synEvicted > 2000, "the oldest half-open connections made room: \(tcp)")
        #expect((before.statistics.tcpConnections ?? .max) <= 128, "the table stays bounded")
        #expect(try lab.exec("client01", ["curl", "-sS", "--max-time", "5", "http://10.10.0.10/"]).contains("host: esx01"),
                "a real client still gets in after the flood")

        // A slowloris client holds a partial request; the flood goes on during the migration.
        let slow = try lab.sandbox.spawn(["ip", "netns", "exec", lab.namespace("client01"), "python3", "-c",
                                          "import socket, time; s = socket.create_connection(('10.10.0.10', 80)); s.send(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n'); time.sleep(30)"],
                                         log: "slowloris")
        let flooding = try lab.sandbox.spawn(["ip", "netns", "exec", lab.namespace("client01"), "python3", script, "20000", "200"], log: "flood")
        Thread.sleep(forTimeInterval: 0.2)
        let report = try ControlJSON.decoder.decode(MigrationReport.self, from: Data(
            try lab.run(["migrate", "web01", "--to", "esx02", "--json"]).utf8))
        #expect(report.runsOn == "esx02" && report.result.verified, "\(report.outcome)")
        _ = flooding.wait(seconds: 60)
        #expect(lab.sandbox.waitUntil(seconds: 60) {
            (try? lab.host("esx02", HostCall.vmStats("web01")).statistics.tcp?.droppedBadChecksum ?? 0) ?? 0 >= 200
        }, "the flood's last segments (bad checksums) reached the VM on esx02")
        #expect(try lab.exec("client01", ["curl", "-sS", "--max-time", "5", "http://10.10.0.10/"]).contains("host: esx02"))
        let after = try #require(try lab.host("esx02", HostCall.vmStats("web01")).statistics.tcp)
        #expect(after.synEvicted > 0 && after.droppedBadChecksum > 0, "the flood after the move is counted on esx02: \(after)")
        slow.terminate(graceSeconds: 1)
    }
}
