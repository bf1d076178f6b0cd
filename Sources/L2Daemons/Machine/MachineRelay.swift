import Foundation
import L2Control
import L2Edge
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The relay of one machine's part of a lab across machines (`l2motion machine-relay`): serves one
/// Unix socket (`RunFolder.machineSocket`, mode 0600) through which another machine's coordinator
/// reaches this part's host and switch daemons (`ControlRoute` with a relay target). It adds no
/// network listener and no authentication: on real machines the socket is forwarded over SSH, and
/// only root may connect to it. Each connection gets its own thread (`RelayConnection`).
public final class MachineRelay: Sendable {
    /// The lab part's name, for messages (`xm-b`).
    public let lab: String
    /// The run folder whose `host-*.sock` and `switch-*.sock` it relays to.
    public let folder: String
    /// The socket it serves.
    public let socket: String
    let logger: Logger
    private let listener: OwnedDescriptor
    /// Wakes the accept loop on `stop()`, so it can wait for connections with no timeout.
    private let stopEvent: WakeDescriptor
    private let stopped = Atomic<Bool>(false)

    /// Binds `socket` (a stale one is replaced); throws if the path does not fit a Unix socket
    /// address (under 108 bytes) or the bind fails.
    public init(lab: String, folder: String, socket: String, logger: Logger) throws(SystemError) {
        self.lab = lab
        self.folder = folder
        self.socket = socket
        self.logger = logger
        stopEvent = try WakeDescriptor.event()
        listener = try UnixSocket.listen(at: socket, mode: 0o600)
    }

    /// Serves until a termination signal, then stops. The caller must have blocked the termination
    /// signals (`SignalWaiter.blockTerminationSignals()`) before any thread started.
    public func run() {
        let accepting = start()
        logger.info("machine relay of lab \(lab) on \(socket), relaying to the daemons in \(folder)")
        let signal = SignalWaiter.waitForTermination()
        logger.info("machine relay of lab \(lab) stopping on signal \(signal)")
        stop()
        accepting.wait(seconds: 5)
    }

    /// Accepts connections on a background thread until `stop()`; returns that thread's end.
    @discardableResult
    public func start() -> ThreadEnd {
        NamedThread.start("relay") { [self] in acceptLoop() }
    }

    /// Stops accepting and removes the socket; connections already spliced run on until they end.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopEvent.signal()
        unlink(socket)
    }

    /// The daemons whose sockets are in the run folder now, sorted (`host-esx02`, `switch-pswitch`).
    func reachableTargets() -> [RelayTarget] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".sock") }
            .compactMap { try? RelayTarget(parsing: String($0.dropLast(5))) }
            .sorted { $0.description < $1.description }
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            guard stopEvent.wait(orReadable: listener.rawValue) else { continue }
            guard let client = UnixSocket.accept(on: listener) else { continue }
            let connection = RelayConnection(client: client, relay: self)
            NamedThread.start("relay-conn") { connection.serve() }
        }
        listener.close()
    }
}
