import ArgumentParser
import Foundation
import L2Edge
import L2Wire
#if canImport(Glibc)
import Glibc
#endif

/// `l2motion udp-probe ADDRESS`: asks the VM's UDP counter service every interval from the
/// namespace it runs in (`ip netns exec l2m-client01 l2motion udp-probe 10.10.0.10`) and prints one
/// line per reply, until SIGINT/SIGTERM or --count.
struct UDPProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udp-probe", abstract: "Query a VM's UDP counter service (port 7777) repeatedly; prints one line per reply.")

    @Argument(help: "The VM's IPv4 address.") var address: String
    @Option(help: "UDP port.") var port: UInt16 = 7777
    @Option(help: "Milliseconds between requests.") var interval: Double = 20
    @Option(help: "Stop after this many requests (default: until a signal).") var count: Int?
    @Option(help: "The lab it belongs to (only recorded, so `lab down` finds it).") var lab = "l2m"

    func run() throws {
        SignalWaiter.blockTerminationSignals()
        guard let ip = IPv4Address(address)?.rawValue else { throw ValidationError("\(address) is not an IPv4 address") }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_INET, SOCK_DGRAM)") }
        let descriptor = OwnedDescriptor(taking: fd)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = port.bigEndian
        remote.sin_addr = in_addr(s_addr: ip.bigEndian)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SystemError("connect", address) }
        try descriptor.setNonBlocking()
        var sequence: UInt64 = 0
        var sentAt: [UInt64: UInt64] = [:]
        var buffer = [UInt8](repeating: 0, count: 2048)
        let step = UInt64(interval * 1e6)
        var nextSend = SystemClock.monotonicNanoseconds()
        while count.map({ Int(sequence) < $0 }) ?? true || !sentAt.isEmpty {
            if SignalWaiter.pollTermination(milliseconds: 0) != nil { break }
            let now = SystemClock.monotonicNanoseconds()
            if now >= nextSend && count.map({ Int(sequence) < $0 }) ?? true {
                sequence += 1
                var request = withUnsafeBytes(of: sequence.bigEndian) { Array($0) }
                request += [UInt8](repeating: 0, count: 8)
                _ = try? request.withUnsafeBytes { try descriptor.write($0) }
                sentAt[sequence] = now
                nextSend += step
            }
            if let received = try buffer.withUnsafeMutableBytes({ try descriptor.read(into: $0) }), received >= 16 {
                let counter = buffer[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let echoed = buffer[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                if let started = sentAt.removeValue(forKey: echoed) {
                    print("reply seq=\(echoed) counter=\(counter) rtt_us=\((SystemClock.monotonicNanoseconds() - started) / 1000) at_ns=\(SystemClock.wallNanoseconds())")
                }
                continue
            }
            if count != nil, Int(sequence) >= count!, now > nextSend + 1_000_000_000 { break }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = nextSend > now ? Int32(min((nextSend - now) / 1_000_000, 100)) : 0
            _ = poll(&entry, 1, max(wait, 1))
        }
        print("sent count=\(sequence) unanswered=\(sentAt.count)")
    }
}
