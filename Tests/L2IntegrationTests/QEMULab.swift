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
            for (tap, guest) in [("tapb", b), ("tapc", c)] { try guest.waitForTAP(tap, in: vmhost) }
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

    /// `ping -c COUNT` from the client namespace; the replies received and ping's output.
    func ping(_ address: String, count: Int = 3) -> (received: Int, output: String) {
        QEMUGuest.ping(from: client, to: address, count: count)
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
