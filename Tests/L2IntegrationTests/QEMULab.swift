import Foundation
import L2Control
import L2Edge

/// Real QEMU VMs on l2motion's switch, booted once per suite: guest A joins through a `qemu=` port
/// (QEMU's `-netdev stream` straight to the switch), guest B through the TAP its QEMU made in
/// namespace `vmhost`, joined with `attach=`. A third QEMU waits on another TAP of `vmhost`, also
/// attached, as the destination of a QEMU live migration of A. A client namespace on a TAP port
/// pings them. Addresses 10.96.N.0/24 (N from the PID), only inside the sandbox's namespaces.
final class QEMULab: SuiteFixture, @unchecked Sendable {
    let sandbox: Sandbox
    let image: QEMUGuestImage
    let client: String
    let vmhost: String
    let subnet: Int
    let socket: String
    let captureDirectory: String
    let guestA: QEMUGuest
    let guestB: QEMUGuest
    let destination: QEMUGuest
    private var switchProcess: ChildProcess?

    var clientAddress: String { "10.96.\(subnet).100" }
    var addressA: String { "10.96.\(subnet).21" }
    var addressB: String { "10.96.\(subnet).22" }
    var macA: String { String(format: "52:54:00:96:%02x:21", subnet) }
    var macB: String { String(format: "52:54:00:96:%02x:22", subnet) }
    var migrationSocket: String { sandbox.directory + "/mig.sock" }
    var streamSocket: String { sandbox.directory + "/a.sock" }

    init() throws {
        try QEMUEnvironment.require()
        image = try QEMUEnvironment.guestImage()
        sandbox = try Sandbox()
        subnet = Int(getpid() % 250) + 1
        socket = "/run/l2motion/\(sandbox.prefix)/switch-sw.sock"
        captureDirectory = sandbox.directory + "/captures"
        var started: [QEMUGuest] = []
        do {
            client = try sandbox.namespace("c")
            vmhost = try sandbox.namespace("v")
            // B and the destination first: their TAPs must exist before the switch attaches them.
            let b = try Self.start("b", mac: String(format: "52:54:00:96:%02x:22", subnet), address: "10.96.\(subnet).22/24",
                                   netdev: QEMUGuest.tap("tapb"), namespace: vmhost, incoming: nil, sandbox: sandbox, image: image)
            started.append(b)
            let c = try Self.start("dst", mac: String(format: "52:54:00:96:%02x:21", subnet), address: "10.96.\(subnet).21/24",
                                   netdev: QEMUGuest.tap("tapc"), namespace: vmhost, incoming: "unix:\(sandbox.directory)/mig.sock",
                                   sandbox: sandbox, image: image)
            started.append(c)
            for (tap, guest) in [("tapb", b), ("tapc", c)] { try Self.waitForTAP(tap, in: vmhost, of: guest) }
            switchProcess = try sandbox.l2motion(["switch", "sw", "--lab", sandbox.prefix, "--capture-dir", captureDirectory,
                                                  "--port", "name=client,netns=\(client),ifname=eth0,addr=10.96.\(subnet).100/24",
                                                  "--port", "name=qa,qemu=\(sandbox.directory)/a.sock",
                                                  "--port", "name=tapb,attach=tapb,netns=\(vmhost)",
                                                  "--port", "name=tapc,attach=tapc,netns=\(vmhost)"], log: "switch")
            let control = socket
            guard sandbox.waitUntil(seconds: 20, { (try? ControlClient.call(control, SwitchCall.status)) != nil }) else {
                throw QEMUGuestError("switch did not come up: \(sandbox.logText("switch"))")
            }
            // A connects to the listening switch (QEMU 7.2 does not retry).
            let a = try Self.start("a", mac: String(format: "52:54:00:96:%02x:21", subnet), address: "10.96.\(subnet).21/24",
                                   netdev: QEMUGuest.stream(socket: "\(sandbox.directory)/a.sock"), namespace: nil, incoming: nil,
                                   sandbox: sandbox, image: image)
            started.append(a)
            for guest in [a, b] {
                let ready = try guest.waitUntilReady()
                print("QEMU guest \(ready.address) ready \(String(format: "%.2f", Date().timeIntervalSince(guest.startedAt))) s after QEMU started (TCG)")
            }
            guestA = a
            guestB = b
            destination = c
        } catch {
            for guest in started.reversed() { guest.stop() }
            sandbox.tearDown()
            throw error
        }
    }

    private static func start(_ name: String, mac: String, address: String, netdev: String, namespace: String?, incoming: String?,
                              sandbox: Sandbox, image: QEMUGuestImage) throws -> QEMUGuest {
        try QEMUGuest(QEMUGuest.Configuration(name: name, mac: mac, address: address, netdev: netdev, directory: sandbox.directory,
                                              namespace: namespace, incoming: incoming), image: image)
    }

    private static func waitForTAP(_ tap: String, in namespace: String, of guest: QEMUGuest) throws {
        let deadline = Date().addingTimeInterval(30)
        while !NetworkNamespace.linkExists(tap, in: namespace) {
            if let status = guest.process.exitStatus {
                throw QEMUGuestError("QEMU \(guest.configuration.name) exited (status \(status)) before creating TAP \(tap)" + guest.diagnostics)
            }
            guard Date() < deadline else { throw QEMUGuestError("QEMU made no TAP \(tap) in \(namespace) within 30 s" + guest.diagnostics) }
            usleep(20_000)
        }
    }

    /// `ping -c COUNT` from the client namespace; the replies received and ping's output.
    func ping(_ address: String, count: Int = 3) -> (received: Int, output: String) {
        do {
            let output = try CommandRunner.run(inNamespace: client, ["ping", "-n", "-c", String(count), "-i", "0.2", "-W", "2", address])
            let received = output.split(separator: "\n").first { $0.contains("packets transmitted") }
                .flatMap { $0.split(separator: ",").dropFirst().first }
                .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) } ?? 0
            return (received, output)
        } catch {
            return (0, "\(error)")
        }
    }

    func capture() throws -> [CapturedFrame] {
        _ = try ControlClient.call(socket, SwitchCall.captureFlush)
        return try PcapReader.readAll(path: "\(captureDirectory)/sw.pcapng")
    }

    func tearDown() {
        for guest in [guestA, guestB, destination] { guest.stop() }
        sandbox.tearDown()
    }
}
