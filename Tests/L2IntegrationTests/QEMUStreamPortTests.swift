import Foundation
import L2Control
import L2Edge
import L2Switch
import L2Wire
import Logging
import Testing
@testable import L2Daemons

/// A `qemu=` port through the switch's real forwarding loop, without root: the test plays QEMU's
/// `-netdev stream` (a unix stream socket, a 4-byte big-endian length before each frame) against a
/// socket-pair port. Frames that arrive several to a read or split across reads, a QEMU that goes
/// away and the next one that takes the port, and a QEMU that announces a frame over the port's MTU.
@Suite("QEMU stream port (no root)", .serialized)
struct QEMUStreamPortTests {
    /// A switch with p1 a QEMU stream port and p2 a socket pair.
    final class Bench {
        let directory = "/tmp/l2m-qemuport-\(getpid())-\(UUID().uuidString.prefix(8))"
        var socketPath: String { directory + "/q.sock" }
        let daemon: SwitchDaemon
        let qemuPort: QEMUStreamPort
        let peer: OwnedDescriptor
        private let forwarding: DispatchSemaphore

        init() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let specs = [try PortSpec(parsing: "name=q1,qemu=\(directory)/q.sock"), PortSpec(name: "p2", namespace: "none", interface: "sock2")]
            let qemu = try QEMUStreamPort(path: directory + "/q.sock", frameLimit: specs[0].switchMTU + 18)
            let pair = try DatagramSocketPort.pair(name: "sock2")
            qemuPort = qemu
            peer = pair.peer
            let settings = SwitchSettings(name: "sw", ports: specs, captureDirectory: directory, controlSocket: directory + "/sw.sock")
            daemon = try SwitchDaemon(settings: settings, logger: Logger(label: "qemu-port")) { [qemu, pair.port] }
            forwarding = daemon.startForwarding()
        }

        func stop() {
            daemon.stopForwarding(forwarding)
            daemon.shutdown()
            peer.close()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Connects as a QEMU would.
        func connectQEMU() throws -> OwnedDescriptor {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            let owned = OwnedDescriptor(taking: fd)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(socketPath.utf8)
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(result == 0, "connect to \(socketPath): errno \(errno)")
            return owned
        }

        /// The next frame out of p2 (up to 10 s).
        func receiveFromPair() throws -> [UInt8]? {
            var entry = pollfd(fd: peer.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 10_000) > 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 10_000)
            let count = try buffer.withUnsafeMutableBytes { try peer.read(into: $0) }
            return count.map { Array(buffer.prefix($0)) }
        }

        func state() -> PortEndpointState { daemon.endpointStates()[0] }

        /// Waits up to 10 s for the QEMU port's state to satisfy `condition`.
        func waitForState(_ condition: (PortEndpointState) -> Bool) -> Bool {
            for _ in 0..<1000 {
                if condition(state()) { return true }
                usleep(10_000)
            }
            return condition(state())
        }
    }

    static func prefixed(_ frame: [UInt8]) -> [UInt8] {
        let (a, b, c, d) = LengthPrefixedFraming.prefix(for: frame.count)
        return [a, b, c, d] + frame
    }

    /// Reads one length-prefixed frame from a QEMU side (up to 10 s).
    static func readFrame(from qemu: OwnedDescriptor) throws -> [UInt8]? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if received.count >= 4 {
                let length = Int(received[0]) << 24 | Int(received[1]) << 16 | Int(received[2]) << 8 | Int(received[3])
                if received.count >= 4 + length { return Array(received[4..<(4 + length)]) }
            }
            var entry = pollfd(fd: qemu.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 10_000) > 0 else { return nil }
            guard let count = try chunk.withUnsafeMutableBytes({ try qemu.read(into: $0) }), count > 0 else { return nil }
            received += chunk.prefix(count)
        }
    }

    @Test("frames cross both ways, several to a write or split across writes; the port is listed as connected")
    func framesCrossBothWays() throws {
        let bench = try Bench()
        defer { bench.stop() }
        #expect(bench.state().state == "listening")
        let qemu = try bench.connectQEMU()
        let (vm, other) = (TestFrames.mac(0x51), TestFrames.mac(0x52))
        // Two frames in one write: both come out, in order.
        let first = TestFrames.frame(to: TestFrames.broadcast, from: vm, tag: 1)
        let second = TestFrames.frame(to: other, from: vm, tag: 2)
        try qemu.writeAll(Self.prefixed(first) + Self.prefixed(second))
        #expect(try bench.receiveFromPair() == first)
        #expect(try bench.receiveFromPair() == second)
        #expect(bench.waitForState { $0.state == "connected" && $0.counters["connections"] == 1 })
        // One frame split in three writes, the length itself cut in two.
        let third = TestFrames.frame(to: other, from: vm, tag: 3)
        let bytes = Self.prefixed(third)
        for piece in [bytes[0..<2], bytes[2..<20], bytes[20...]] {
            try qemu.writeAll(Array(piece))
            usleep(20_000)
        }
        #expect(try bench.receiveFromPair() == third)
        // The other way: a frame to the VM's MAC (learned on q1) reaches QEMU with its length before it.
        let reply = TestFrames.frame(to: vm, from: other, tag: 4)
        #expect(try reply.withUnsafeBytes { try bench.peer.write($0) } == reply.count)
        #expect(try Self.readFrame(from: qemu) == reply)
        let counters = bench.daemon.withCore { $0.counters(of: PortID(1)) }
        #expect(counters?.rxFrames == 3 && counters?.txFrames == 1)
    }

    @Test("a QEMU that goes away is counted; the next QEMU to connect takes the port")
    func reconnect() throws {
        let bench = try Bench()
        defer { bench.stop() }
        let vm = TestFrames.mac(0x61)
        do {
            let qemu = try bench.connectQEMU()
            try qemu.writeAll(Self.prefixed(TestFrames.frame(to: TestFrames.broadcast, from: vm, tag: 1)))
            #expect(try bench.receiveFromPair() != nil)
            qemu.close()
        }
        #expect(bench.waitForState { $0.state == "listening" && $0.counters["disconnects"] == 1 })
        // While no QEMU is connected, a frame for the VM is counted as not connected.
        let lost = TestFrames.frame(to: vm, from: TestFrames.mac(0x62), tag: 2)
        #expect(try lost.withUnsafeBytes { try bench.peer.write($0) } == lost.count)
        #expect(bench.waitForState { $0.counters["not_connected"] == 1 })
        let next = try bench.connectQEMU()
        let frame = TestFrames.frame(to: TestFrames.broadcast, from: vm, tag: 3)
        try next.writeAll(Self.prefixed(frame))
        #expect(try bench.receiveFromPair() == frame)
        #expect(bench.waitForState { $0.state == "connected" && $0.counters["connections"] == 2 })
    }

    @Test("a length over the port's MTU is counted, the connection dropped, and the switch keeps forwarding")
    func oversizedLength() throws {
        let bench = try Bench()
        defer { bench.stop() }
        let qemu = try bench.connectQEMU()
        try qemu.writeAll([0x00, 0x01, 0x00, 0x00] + [UInt8](repeating: 0, count: 64))
        #expect(bench.waitForState { $0.counters["invalid_lengths"] == 1 && $0.state == "listening" })
        var probe = [UInt8](repeating: 0, count: 16)
        var entry = pollfd(fd: qemu.rawValue, events: Int16(POLLIN), revents: 0)
        #expect(poll(&entry, 1, 10_000) > 0)
        #expect(try probe.withUnsafeMutableBytes { try qemu.read(into: $0) } == 0, "the switch closed the connection")
        let next = try bench.connectQEMU()
        let frame = TestFrames.frame(to: TestFrames.broadcast, from: TestFrames.mac(0x71), tag: 1)
        try next.writeAll(Self.prefixed(frame))
        #expect(try bench.receiveFromPair() == frame)
    }

    @Test("a socket path that exists is refused before anything is made, and the port removes its socket when closed")
    func socketPath() throws {
        let directory = "/tmp/l2m-qemupath-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/taken.sock"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        do {
            try SwitchPortFactory.preflight([try PortSpec(parsing: "name=q,qemu=\(path)")])
            Issue.record("an existing path was accepted")
        } catch {
            #expect("\(error)".contains("\(path) exists"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: path)
        let port = try QEMUStreamPort(path: path, frameLimit: 1518)
        #expect(FileManager.default.fileExists(atPath: path))
        port.close()
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
