import ArgumentParser
import Foundation
import L2Control
import L2Daemons
import L2Edge

/// `l2motion machine-relay --lab PART`: serves this machine's relay socket for a lab across machines.
struct MachineRelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "machine-relay",
        abstract: "Relay other machines' control requests to this machine's part of a lab across machines, until SIGINT/SIGTERM.",
        discussion: """
            Serves /run/l2motion/<PART>/machine.sock (root only). A client sends {"relay":"host-esx02"} or
            {"relay":"switch-pswitch"} as its first line; the relay connects it to that daemon's control
            socket in the same run folder and then only copies bytes. It opens no network port and
            authenticates nobody: forward the socket over SSH from the coordinating machine, e.g.
              ssh -N -L /tmp/lab-b.sock:/run/l2motion/lab-b/machine.sock root@machine-b
            """)

    @Option(help: "This machine's part of the lab (<lab>-<machine>): its run folder /run/l2motion/<PART> holds the daemons it relays to.")
    var lab: String

    func validate() throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        guard !lab.isEmpty, lab.allSatisfy(allowed.contains) else {
            throw ValidationError("lab part \"\(lab)\" must be ASCII letters, digits, - or _")
        }
        let socket = RunFolder(lab: lab).machineSocket
        guard socket.utf8.count <= UnixSocket.maximumPathBytes else {
            throw ValidationError("the relay socket \(socket) is \(socket.utf8.count) bytes; a Unix socket path must be under 108: use a shorter lab name")
        }
    }

    func run() throws {
        SignalWaiter.blockTerminationSignals()
        let logger = LoggingSetup.bootstrap(label: "l2motion.machine-relay.\(lab)")
        let folder = RunFolder(lab: lab)
        let lease = try RunFolderLease(folder)
        defer { lease.release() }
        let relay = try MachineRelay(lab: lab, folder: folder.path, socket: folder.machineSocket, logger: logger)
        relay.run()
    }
}
