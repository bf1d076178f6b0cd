import Foundation
import L2Edge
import L2Migration

/// A connection that opened with a lane hello, waiting for its migration's session to admit it.
struct OfferedLane: @unchecked Sendable {
    let hello: LaneHello
    let connection: TCPSocket
    /// What arrived after the hello on the connection (already read from it).
    let rest: [UInt8]
    let peer: UInt32
}

/// Where the accept threads hand lane connections to the session of a running incoming migration:
/// the session's loop takes them at its next turn (it polls every 5 ms at most), admits them or
/// refuses them, and from then on serves them itself.
final class LaneInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var offers: [OfferedLane] = []
    private var closed = false

    /// Queues a lane; false once the session ended (the caller refuses it).
    func offer(_ lane: OfferedLane) -> Bool {
        lock.withLock {
            guard !closed else { return false }
            offers.append(lane)
            return true
        }
    }

    func take() -> [OfferedLane] {
        lock.withLock {
            defer { offers.removeAll() }
            return offers
        }
    }

    /// No more lanes: what is still queued comes back to be closed.
    func close() -> [OfferedLane] {
        lock.withLock {
            closed = true
            defer { offers.removeAll() }
            return offers
        }
    }
}
