import L2Switch
import L2Wire

/// One switch port as a report names it: its number (`p3`) and its name (`esx02`, the node it leads to).
public struct SwitchPortRef: Codable, Sendable, Hashable, CustomStringConvertible {
    public var id: PortID
    public var name: String

    public init(id: PortID, name: String) {
        self.id = id
        self.name = name
    }

    /// "client01's port p1", or "port p1" when the port has no name of its own.
    public var owned: String { name == id.description ? "port \(id)" : "\(name)'s port \(id)" }

    public var description: String { name == id.description ? name : "\(name) (\(id))" }
}

/// A station move (or a learn after aging) of the migrating VM's MAC that the report names: where it
/// came from and went, by which captured frame, and when relative to the resume.
public struct StationMove: Codable, Sendable, Equatable {
    /// The port the MAC was on before; nil for a learn (the entry had aged out).
    public var from: SwitchPortRef?
    /// The port the frame came in on, where the switch now has the MAC.
    public var to: SwitchPortRef
    /// The frame's number in the segment capture.
    public var frame: UInt64
    /// Wall-clock ns at which the switch read the frame.
    public var timeNs: UInt64
    /// `timeNs` minus the destination's resume, in ms (negative: before the resume).
    public var afterResumeMs: Double

    public init(from: SwitchPortRef?, to: SwitchPortRef, frame: UInt64, timeNs: UInt64, afterResumeMs: Double) {
        self.from = from
        self.to = to
        self.frame = frame
        self.timeNs = timeNs
        self.afterResumeMs = afterResumeMs
    }

    enum CodingKeys: String, CodingKey {
        case from, to, frame
        case timeNs = "time-ns"
        case afterResumeMs = "after-resume-ms"
    }
}

/// What the production switch did with the VM's MAC around one migration: the relearn (the move onto
/// the destination host's uplink port) and every station move by another port.
public struct RelearnMatch: Sendable, Equatable {
    /// The first move onto the destination's port after the resume (or by an announce); nil if none.
    public var relearn: StationMove?
    /// Whether `relearn` was caused by one of the destination's announce frames (RARP), rather than
    /// by another frame such as the VM's own traffic.
    public var relearnByAnnounce: Bool
    /// Moves of the MAC onto a port that is neither the destination's nor (before the stun) the
    /// source's, and moves onto the destination's port before the VM resumed there by a frame that
    /// is no announce: someone else sent the VM's MAC.
    public var conflicts: [StationMove]
    /// The first move onto the destination's port that the switch refused (`move-ignored`: its
    /// hold-down kept the MAC where it was); nil if none was.
    public var ignored: StationMove? = nil
}

/// Attributes the production switch's learning events for a migrating VM's MAC (pure: events in,
/// attribution out).
///
/// The first move of the MAC is not the relearn: a client that sends the VM's MAC as its source
/// during the migration moves it first (issue 23: "relearned −364.20 ms after resume"). Instead the
/// relearn is the move onto the destination's uplink port, matched by port and by the frame numbers
/// of the destination's announces in the capture; every move by another port is a conflict.
public enum RelearnMatcher {
    /// - Parameters:
    ///   - events: the switch's events since the migration began, oldest first (those of other MACs
    ///     than `mac`, and kinds other than `learned`, `moved` and `move-ignored`, are ignored).
    ///   - mac: the migrating VM's MAC.
    ///   - destinationPort: the switch port of the destination host's uplink.
    ///   - sourcePort: the source host's uplink port, where the VM's own frames come from until the stun.
    ///   - announceFrames: the capture frame numbers of the destination's announces.
    ///   - stunAt: wall-clock ns of the stun (nil: the resume stands for it).
    ///   - resumedAt: wall-clock ns of the destination's resume.
    public static func match(events: [SwitchEventSnapshot], mac: MACAddress, destinationPort: PortID, sourcePort: PortID?,
                             announceFrames: [UInt64], stunAt: UInt64?, resumedAt: UInt64) -> RelearnMatch {
        let announces = Set(announceFrames)
        let stun = stunAt ?? resumedAt
        var match = RelearnMatch(relearn: nil, relearnByAnnounce: false, conflicts: [])
        for event in events where event.mac == mac && (event.kind == .moved || event.kind == .learned || event.kind == .moveIgnored) {
            let move = StationMove(
                from: event.oldPort.map { SwitchPortRef(id: $0, name: event.oldPortName ?? $0.description) },
                to: SwitchPortRef(id: event.newPort, name: event.newPortName), frame: event.frameNumber,
                timeNs: event.timeNs, afterResumeMs: Double(Int64(bitPattern: event.timeNs &- resumedAt)) / 1e6)
            if event.kind == .moveIgnored {
                if event.newPort == destinationPort && match.ignored == nil && match.relearn == nil { match.ignored = move }
                continue
            }
            let byAnnounce = announces.contains(event.frameNumber)
            if event.newPort == destinationPort && (byAnnounce || event.timeNs >= resumedAt) {
                if match.relearn == nil {
                    match.relearn = move
                    match.relearnByAnnounce = byAnnounce
                }
            } else if event.newPort == sourcePort && event.timeNs < stun {
                continue  // the VM's own frames on the source, e.g. relearned there after aging
            } else {
                match.conflicts.append(move)
            }
        }
        return match
    }
}
