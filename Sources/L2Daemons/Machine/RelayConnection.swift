import Foundation
import L2Control
import L2Edge
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One connection to a machine relay, on its own thread: reads the relay line
/// (`{"relay":"host-esx02"}`), connects to that daemon's socket in the relay's run folder, passes on
/// what came after the line and splices the two until they are done. A line that is malformed or
/// names no daemon here gets one error reply (`ControlReply.failure`) naming the lab part and what
/// the relay can reach, then the connection closes.
struct RelayConnection {
    /// How long a client may take to send its relay line before the relay hangs up.
    static let firstLineSeconds = 10

    let client: OwnedDescriptor
    let relay: MachineRelay

    func serve() {
        defer { client.close() }
        UnixSocket.setReceiveTimeout(client, seconds: Self.firstLineSeconds)
        guard let first = readFirstLine() else { return }
        let daemon: OwnedDescriptor
        do throws(ControlError) {
            guard let line = first.line else {
                throw ControlError(.badRequest, "first line longer than \(RelayLine.maximumBytes) bytes; send {\"relay\":\"host-NAME\"} or {\"relay\":\"switch-NAME\"} first")
            }
            let target = try RelayLine.decode(line)
            daemon = try connect(to: target)
        } catch {
            refuse(error)
            return
        }
        defer { daemon.close() }
        UnixSocket.setReceiveTimeout(client, seconds: 0)
        if !first.rest.isEmpty {
            guard (try? daemon.writeAll(first.rest)) != nil else { return }
        }
        Splice.run(client, daemon)
    }

    /// The first line without its newline (nil: longer than allowed) and the bytes read after it;
    /// nil if the client left or said nothing in time.
    private func readFirstLine() -> (line: [UInt8]?, rest: [UInt8])? {
        var pending = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                guard newline < RelayLine.maximumBytes else { return (nil, []) }
                return (Array(pending[..<newline]), Array(pending[(newline + 1)...]))
            }
            if pending.count >= RelayLine.maximumBytes { return (nil, []) }
            let count = chunk.withUnsafeMutableBytes { raw in (try? client.read(into: raw)) ?? nil }
            guard let count, count > 0 else {
                relay.logger.debug("relay connection closed or silent before its relay line")
                return nil
            }
            pending.append(contentsOf: chunk[0..<count])
        }
    }

    private func connect(to target: RelayTarget) throws(ControlError) -> OwnedDescriptor {
        do {
            return try UnixSocket.connect(to: target.socket(in: relay.folder))
        } catch {
            let what = switch error.errno {
            case ENOENT: "no daemon \(target) behind the relay of lab \(relay.lab)"
            case ECONNREFUSED: "daemon \(target) behind the relay of lab \(relay.lab) does not accept connections (its socket is there: has it stopped?)"
            default: "cannot reach daemon \(target) behind the relay of lab \(relay.lab): \(SystemError("connect", errno: error.errno))"
            }
            throw ControlError(.unreachable, what)
        }
    }

    /// Answers with the error, adding what the relay can reach, and logs it.
    private func refuse(_ error: ControlError) {
        let known = relay.reachableTargets().map(\.description)
        var message = error.message
        if error.code != .unreachable { message = "relay of lab \(relay.lab): \(message)" }
        message += "; it relays \(known.isEmpty ? "no daemon (none runs in \(relay.folder))" : known.joined(separator: ", "))"
        relay.logger.info("refused a relay connection: \(message)")
        var out = [UInt8](ControlReply.failure(ControlError(error.code, message)).line)
        out.append(UInt8(ascii: "\n"))
        _ = try? client.writeAll(out)
    }
}
