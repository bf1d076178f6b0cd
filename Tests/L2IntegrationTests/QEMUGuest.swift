import Foundation
import L2Edge

/// One QEMU VM running the test guest (`scripts/qemu-guest`) under TCG, with one virtio-net NIC on
/// the network backend the caller names, its serial console in a file, QMP on a Unix socket, and
/// QEMU's own output in a log. Optionally inside a network namespace (`ip netns exec`, so the TAP
/// QEMU makes appears there) and optionally as a migration destination (`-incoming`).
/// Ended by its PID (SIGTERM, then SIGKILL) on `stop()`.
final class QEMUGuest: @unchecked Sendable {
    /// How to start the VM.
    struct Configuration: Sendable {
        /// Short name used in file names and QEMU's `-name` (e.g. "src", "dst").
        var name: String
        var mac: String
        /// The guest's address with prefix, e.g. "10.250.7.2/24" (`l2m.ip=` on the kernel command line).
        var address: String
        /// The `-netdev` value without its id, e.g. `QEMUGuest.tap("tap0")` or `QEMUGuest.stream(socket:)`.
        var netdev: String
        /// Folder for the serial log, QMP socket and QEMU log; keep it short (socket paths < 108 bytes).
        var directory: String
        /// Runs QEMU inside this network namespace (`ip netns exec NS ...`).
        var namespace: String?
        /// `-incoming` value: "unix:PATH" to wait for a migration there, or "defer" (then `migrateIncoming`).
        var incoming: String?
        var gateway: String?
        var memoryMiB = 128
        var extraArguments: [String] = []

        init(name: String, mac: String, address: String, netdev: String, directory: String,
             namespace: String? = nil, incoming: String? = nil) {
            self.name = name
            self.mac = mac
            self.address = address
            self.netdev = netdev
            self.directory = directory
            self.namespace = namespace
            self.incoming = incoming
        }
    }

    /// `-netdev` for a TAP QEMU creates itself (named `ifname`, in QEMU's namespace), no helper scripts.
    static func tap(_ ifname: String) -> String { "tap,ifname=\(ifname),script=no,downscript=no" }

    /// `-netdev` for a stream socket QEMU connects to (QEMU 7.2: a switch port listening on `path`).
    static func stream(socket path: String) -> String { "stream,server=off,addr.type=unix,addr.path=\(path)" }

    let configuration: Configuration
    let process: ChildProcess
    let serialPath: String
    let qmpPath: String
    let logPath: String
    let startedAt = Date()
    private let lock = NSLock()
    private var client: QMPClient?

    /// Starts QEMU (it does not wait for the guest: see `waitUntilReady` and `qmp`).
    init(_ configuration: Configuration, image: QEMUGuestImage) throws {
        self.configuration = configuration
        serialPath = "\(configuration.directory)/\(configuration.name).serial"
        qmpPath = "\(configuration.directory)/\(configuration.name).qmp"
        logPath = "\(configuration.directory)/\(configuration.name).qemu.log"
        guard qmpPath.utf8.count < 108 else {
            throw QEMUGuestError("QMP socket path \(qmpPath) is \(qmpPath.utf8.count) bytes, over the 107 a Unix socket allows; use a shorter directory")
        }
        try? FileManager.default.removeItem(atPath: serialPath)
        try? FileManager.default.removeItem(atPath: qmpPath)
        process = try ChildProcess(Self.commandLine(configuration, image: image, serial: serialPath, qmp: qmpPath), logPath: logPath)
    }

    /// The full command: QEMU with TCG on `-M pc` (as fast to boot here as q35, with fewer devices to
    /// migrate), no default devices, the NIC without its option ROM (no iPXE needed, nothing to load).
    static func commandLine(_ configuration: Configuration, image: QEMUGuestImage, serial: String, qmp: String) -> [String] {
        var kernelLine = "console=ttyS0 quiet panic=-1 ipv6.disable=1 l2m.ip=\(configuration.address)"
        if let gateway = configuration.gateway { kernelLine += " l2m.gw=\(gateway)" }
        var arguments = [QEMUEnvironment.qemuBinary, "-name", "l2m-\(configuration.name)",
                         "-accel", "tcg", "-M", "pc", "-m", String(configuration.memoryMiB),
                         "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                         "-kernel", image.kernel, "-initrd", image.initrd, "-append", kernelLine,
                         "-serial", "file:\(serial)",
                         "-qmp", "unix:\(qmp),server=on,wait=off",
                         "-netdev", "\(configuration.netdev),id=net0",
                         "-device", "virtio-net-pci,netdev=net0,mac=\(configuration.mac),romfile="]
        if let incoming = configuration.incoming { arguments += ["-incoming", incoming] }
        arguments += configuration.extraArguments
        if let namespace = configuration.namespace { arguments = ["ip", "netns", "exec", namespace] + arguments }
        return arguments
    }

    var isRunning: Bool { process.isRunning }

    /// Waits for the guest's ready line on the serial console, checks it reports the configured
    /// address and MAC, and returns it. Throws at once if QEMU exits or the guest reports an error,
    /// and after `timeout` seconds with the serial log's tail.
    @discardableResult
    func waitUntilReady(timeout: Double = 180) throws -> GuestReadyLine {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let serial = serialText
            if let line = GuestReadyLine.find(in: serial) {
                guard line.address == configuration.address, line.mac.lowercased() == configuration.mac.lowercased() else {
                    throw QEMUGuestError("guest \(configuration.name) came up as \(line.address) \(line.mac), not \(configuration.address) \(configuration.mac)")
                }
                return line
            }
            if let error = serial.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("l2m-guest error") }) {
                throw QEMUGuestError("guest \(configuration.name) failed to start: \(error)" + diagnostics)
            }
            if let status = process.exitStatus {
                throw QEMUGuestError("QEMU for guest \(configuration.name) exited (status \(status)) before the guest was ready" + diagnostics)
            }
            guard Date() < deadline else {
                throw QEMUGuestError("guest \(configuration.name) not ready after \(String(format: "%g", timeout)) s (TCG on a loaded machine? it boots in about 2 s idle)" + diagnostics)
            }
            usleep(20_000)
        }
    }

    /// The QMP connection, opened on first use (QEMU serves one client at a time on the socket).
    var qmp: QMPClient {
        get throws {
            try lock.withLock {
                if let client { return client }
                let deadline = Date().addingTimeInterval(60)
                while !FileManager.default.fileExists(atPath: qmpPath) {
                    if let status = process.exitStatus {
                        throw QEMUGuestError("QEMU for guest \(configuration.name) exited (status \(status)) before opening QMP" + diagnostics)
                    }
                    guard Date() < deadline else { throw QEMUGuestError("QEMU for guest \(configuration.name) opened no QMP socket in 60 s" + diagnostics) }
                    usleep(20_000)
                }
                let opened = try QMPClient.connect(path: qmpPath)
                client = opened
                return opened
            }
        }
    }

    /// What the guest printed on its serial console so far.
    var serialText: String { (try? String(contentsOfFile: serialPath, encoding: .utf8)) ?? "" }

    /// Ends QEMU by its PID: SIGTERM, then SIGKILL after 3 s.
    func stop() {
        lock.withLock { client = nil }
        process.terminate(graceSeconds: 3)
    }

    /// The tails of the serial console and of QEMU's log, for error messages.
    var diagnostics: String {
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        func tail(_ text: String) -> String {
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).suffix(15)
            return lines.isEmpty || text.isEmpty ? "(empty)" : lines.joined(separator: "\n")
        }
        return "\n--- serial console \(serialPath) (last lines):\n\(tail(serialText))\n--- QEMU log \(logPath):\n\(tail(log))"
    }
}

/// The guest's `l2m-guest ready <address/prefix> <mac>` line.
struct GuestReadyLine: Sendable, Equatable {
    let address: String
    let mac: String

    static let prefix = "l2m-guest ready "

    /// The first ready line in a serial log, if any.
    static func find(in serial: String) -> GuestReadyLine? {
        // `\r\n` is one Character in Swift: split on every kind of line end.
        for line in serial.split(whereSeparator: \.isNewline) where line.hasPrefix(prefix) {
            let fields = line.dropFirst(prefix.count).split(whereSeparator: \.isWhitespace)
            if fields.count == 2 { return GuestReadyLine(address: String(fields[0]), mac: String(fields[1])) }
        }
        return nil
    }
}

/// A QEMU guest that did not start, with the serial console and QEMU log tails to act on.
struct QEMUGuestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension QEMUGuest {
    /// Waits (up to 30 s) until the TAP this QEMU creates while it starts exists in `namespace`;
    /// throws at once if QEMU exits first.
    func waitForTAP(_ tap: String, in namespace: String) throws {
        let deadline = Date().addingTimeInterval(30)
        while !NetworkNamespace.linkExists(tap, in: namespace) {
            if let status = process.exitStatus {
                throw QEMUGuestError("QEMU \(configuration.name) exited (status \(status)) before creating TAP \(tap)" + diagnostics)
            }
            guard Date() < deadline else { throw QEMUGuestError("QEMU \(configuration.name) made no TAP \(tap) in \(namespace) within 30 s" + diagnostics) }
            usleep(20_000)
        }
    }

    /// `ping -c COUNT` from `namespace` to `address`: the replies received and ping's output.
    static func ping(from namespace: String, to address: String, count: Int) -> (received: Int, output: String) {
        do {
            let output = try CommandRunner.run(inNamespace: namespace, ["ping", "-n", "-c", String(count), "-i", "0.2", "-W", "2", address])
            let received = output.split(separator: "\n").first { $0.contains("packets transmitted") }
                .flatMap { $0.split(separator: ",").dropFirst().first }
                .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) } ?? 0
            return (received, output)
        } catch {
            return (0, "\(error)")
        }
    }
}
