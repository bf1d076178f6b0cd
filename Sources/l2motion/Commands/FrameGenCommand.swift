import ArgumentParser
import Foundation
import L2Control
import L2Edge
import L2Wire
#if canImport(Glibc)
import Glibc
#endif

/// `l2motion frame-gen --interface eth0 --kind bad --count 20000 --rate 5000`: sends bad or hostile
/// raw frames through an AF_PACKET socket from the namespace it runs in
/// (`ip netns exec l2m-client01 l2motion frame-gen …`) and prints what it sent per kind.
struct FrameGenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frame-gen",
        abstract: "Send runts, oversize frames, bad 802.1Q tags, random bytes, bad source MACs or a MAC flood from a namespace.",
        discussion: """
            Run it inside a host's namespace:
              ip netns exec l2m-client01 l2motion frame-gen --interface eth0 --kind bad --count 20000 --rate 5000
            Kinds (--kind, comma list, sent round-robin; `bad` = every kind but mac-flood):
              runt (1-13 bytes), oversize (MTU+15...MTU+200 bytes of payload), bad-vlan (0x8100, 14-17 bytes),
              random (14-1514 random bytes), multicast-source, zero-source, mac-flood (random unicast sources),
              spoof (valid broadcast frames from --source: a station sending another station's MAC).
            It stops after --count frames or --seconds, whichever comes first (one of them is required).
            The kernel refuses frames under 14 bytes, and frames over the interface's own MTU: they are
            counted as send errors. To let oversize frames reach the switch, raise the interface's MTU
            above the switch port's (`ip link set eth0 mtu 9000`) and give the port's with --mtu.
            """)

    @Option(help: "The interface to send on (in the current namespace).")
    var interface: String

    @Option(help: "Frame kinds, comma-separated: bad, \(FrameGenerator.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: String

    @Option(help: "Stop after this many frames.")
    var count: Int?

    @Option(help: "Stop after this many seconds.")
    var seconds: Double?

    @Option(help: "Frames per second (default: as fast as the kernel takes them).")
    var rate: Double?

    @Option(help: "PRNG seed: the same seed sends the same frames.")
    var seed: UInt64 = 1

    @Option(help: "The switch port's MTU, for oversize frames.")
    var mtu: Int = 1500

    @Option(help: "Source MAC of runt, oversize, bad-vlan and spoof frames (default: the interface's).")
    var source: String?

    @Flag(help: "Print the report as JSON instead of a line.")
    var json = false

    /// Gives up when the kernel accepts nothing for this long (a queue that never drains).
    static let stallNanoseconds: UInt64 = 5_000_000_000

    func validate() throws {
        do { _ = try FrameGenerator.Kind.parseList(kind) } catch { throw ValidationError(error.description) }
        guard count != nil || seconds != nil else {
            throw ValidationError("give --count or --seconds (or both): frame-gen always stops by itself")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
        if let seconds, !(seconds > 0 && seconds <= 86_400) { throw ValidationError("--seconds must be in (0, 86400], got \(seconds)") }
        if let rate, !(rate > 0 && rate <= 100_000_000) { throw ValidationError("--rate must be positive, got \(rate)") }
        guard (68...65535).contains(mtu) else { throw ValidationError("--mtu \(mtu) is out of range; use 68...65535") }
        if let source, MACAddress(source) == nil { throw ValidationError("--source \(source) is not a MAC address like 02:00:00:00:00:01") }
        try PortSpec.validateInterfaceName(interface, what: "--interface")
    }

    func run() throws {
        SignalWaiter.blockTerminationSignals()
        let kinds = try FrameGenerator.Kind.parseList(kind)
        let sysfs = "/sys/class/net/\(interface)"
        guard let sourceMAC = source.flatMap(MACAddress.init) ?? Self.readLine("\(sysfs)/address").flatMap(MACAddress.init) else {
            throw UserFacingError("no interface \(interface) in this namespace (no \(sysfs)/address); run it with ip netns exec NS")
        }
        if kinds.contains(.oversize), let interfaceMTU = Self.readLine("\(sysfs)/mtu").flatMap(Int.init),
           FrameGenerator.lengths(of: .oversize, mtu: mtu).upperBound > interfaceMTU + 18 {
            FileHandle.standardError.write(Data("""
                note: \(interface) has MTU \(interfaceMTU): the kernel refuses frames over \(interfaceMTU + 14) bytes, \
                so some or all oversize frames will be send errors; raise it with `ip link set \(interface) mtu 9000`\n
                """.utf8))
        }
        let socket = try PacketSocket(interface: interface, promiscuous: false)
        var generator = FrameGenerator(kinds: kinds, mtu: mtu, source: sourceMAC, seed: seed)
        var report = FrameGenerator.Report(interface: interface, kinds: kinds)
        let droppedBefore = Self.readLine("\(sysfs)/statistics/tx_dropped").flatMap(UInt64.init)

        var frame: [UInt8] = []
        frame.reserveCapacity(FrameGenerator.lengths(of: .oversize, mtu: mtu).upperBound)
        let start = SystemClock.monotonicNanoseconds()
        let deadline = seconds.map { start + UInt64($0 * 1e9) } ?? UInt64.max
        let interval = rate.map { 1e9 / $0 }
        var attempted = 0
        var lastProgress = start
        generation: while count.map({ attempted < $0 }) ?? true {
            var now = SystemClock.monotonicNanoseconds()
            if now >= deadline { break }
            if attempted & 1023 == 0, SignalWaiter.pollTermination(milliseconds: 0) != nil { break }
            if let interval {
                let due = start + UInt64(Double(attempted) * interval)
                if due > now {
                    SystemClock.sleep(nanoseconds: min(due, deadline) - now)
                    continue
                }
            }
            let kind = generator.next(into: &frame)
            attempted += 1
            // Retry a frame while the socket's queue is full; a refusal is final.
            while true {
                do {
                    if try socket.send(frame) {
                        report.record(kind)
                        lastProgress = now
                        break
                    }
                } catch {
                    report.record(kind, refusal: String(cString: strerror(error.errno)))
                    break
                }
                now = SystemClock.monotonicNanoseconds()
                if now >= deadline { break generation }
                if now - lastProgress > Self.stallNanoseconds {
                    report.stalled = true
                    break generation
                }
                var entry = pollfd(fd: socket.descriptor.rawValue, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 1)
                SystemClock.sleep(nanoseconds: 50_000)
            }
        }
        report.seconds = Double(SystemClock.monotonicNanoseconds() - start) / 1e9
        // Give the queues a moment to hand their last frames to the device before reading its drops.
        SystemClock.sleep(nanoseconds: 100_000_000)
        if let droppedBefore, let droppedAfter = Self.readLine("\(sysfs)/statistics/tx_dropped").flatMap(UInt64.init) {
            report.interfaceDropped = droppedAfter >= droppedBefore ? droppedAfter - droppedBefore : nil
        }
        if json {
            try printJSON(report)
        } else {
            print(report.summary)
        }
    }

    private static func readLine(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
