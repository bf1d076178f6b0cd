import L2Migration
#if canImport(Glibc)
import Glibc
#endif

/// What a pump reports from the connection: bytes that arrived, or that the connection closed (why).
enum PumpEvent {
    case received(ArraySlice<UInt8>)
    case closed(String)
}

/// The moments of an outgoing migration at which the source driver shows its pump the state machine:
/// each turn of its loop, before it produces more bytes, and right after the VM was stunned, before
/// the final round is queued.
enum SourceMoment: Equatable {
    case turn
    case stunned
}

/// The byte stream a migration driver runs over: an output queue written as the connection accepts it,
/// and reads handed over as they come. `StreamPump` moves bytes over the kernel's TCP;
/// `FaultInjectingPump` wraps one to misbehave once, where a fault plan says. Drivers are generic over
/// it, so the plain pump's loop is specialised and pays nothing for the wrappers.
protocol MigrationPump {
    /// The connection is gone (closed by either side, or failed); nothing more is read or written.
    var closed: Bool { get }
    var hasPendingOutput: Bool { get }
    var pendingOutputBytes: Int { get }
    /// Bytes written to the connection that the peer's kernel has not acknowledged yet.
    var unacknowledgedBytes: Int { get }

    /// Queues bytes to send after what is already queued.
    mutating func enqueue(_ bytes: [UInt8])
    /// Hands the emptied output buffer to `fill` (to encode straight into it) when all was sent.
    mutating func refill(_ fill: (inout [UInt8]) -> Void)
    /// Waits up to `timeoutMilliseconds` for the connection, writes what it can, and hands each read to
    /// `received` (valid only during the call). Returns why the connection closed, if it did.
    mutating func turn(timeoutMilliseconds: Int32, received: (ArraySlice<UInt8>) -> Void) -> String?
    /// The descriptor and the events the pump waits for, for one poll over several pumps (`LaneSet`);
    /// nil once closed.
    var pollEntry: pollfd? { get }
    /// The I/O that poll found ready (`revents`), as `turn` does after its own poll.
    mutating func service(revents: Int16, received: (ArraySlice<UInt8>) -> Void) -> String?
    /// Writes what the connection takes right now, without waiting and without reading.
    mutating func writeAvailable()
    /// Closes at once, dropping what is queued.
    mutating func abort()
    /// Tries to send what is queued for up to `milliseconds`, then closes.
    mutating func flushAndClose(milliseconds: Int)
    /// The source driver is at `moment` with `source` in this state. Events returned (a closed
    /// connection) are handled before anything else the driver does next. The plain pump returns none.
    mutating func observe(_ source: MigrationSource, at moment: SourceMoment) -> [PumpEvent]
}

extension MigrationPump {
    /// `turn(timeoutMilliseconds:received:)` for callers that use the pump while they handle what
    /// came: what was read comes back as events (copied, since the input buffer is reused), then
    /// `.closed` if the connection closed.
    mutating func turn(timeoutMilliseconds: Int32) -> [PumpEvent] {
        var events: [PumpEvent] = []
        if let reason = turn(timeoutMilliseconds: timeoutMilliseconds, received: { events.append(.received(Array($0)[...])) }) {
            events.append(.closed(reason))
        }
        return events
    }
}
