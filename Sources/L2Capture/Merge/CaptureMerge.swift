/// Several switches' pcapng captures as one file that tells a story: one section, every switch's
/// ports as interfaces named "switch/port", every packet record in time order, and events (a
/// migration's pre-copy, rounds, stun, resume, announces …) as comments on the frames they happened at.
/// Pure: files in, bytes out; `l2motion annotate` and the demo do the reading and writing.
///
/// What the merged file keeps and changes:
/// - **Interfaces** are numbered in input order, each switch's in its own order, and renamed
///   "`switch`/`port`" (a port without a name becomes "`switch`/if`N`"); description, link type,
///   snaplen and filter are kept; timestamps are written in nanoseconds whatever the input's resolution.
/// - **Packets** keep their bytes, lengths, direction, packet id and comments. They are sorted by
///   time; equal times keep input order (switch order, then file order), so the sort is stable.
/// - **Packet ids are not renumbered.** A switch's `epb_packetid` is the frame's number in that
///   switch's own file, and its comments refer to those numbers ("was esx01 until packet 4711"), so
///   ids stay as they are: in the merged file an id is unique per switch (read it with the interface
///   name's "switch/" prefix), not across switches, and it is not the merged frame number.
/// - **Events** become comments after a frame's own. An anchored event goes on the frame it names
///   (a switch and that switch's frame number). Any other event goes on the first frame at or after
///   its time, since a comment "round 2 starts" belongs on the first frame of round 2, not on the
///   last frame of round 1; an event later than every frame goes on the last frame. Outbound copies
///   (egress records) are never chosen: the frame is commented where it entered the switch. With a
///   preferred switch, only that switch's frames are candidates (if it has any).
/// - **Statistics blocks** follow the packets, in time order, renumbered to the new interfaces.
public enum CaptureMerge {
    /// One switch's capture.
    public struct Input: Sendable {
        public var switchName: String
        public var file: PcapngFile

        public init(switchName: String, file: PcapngFile) {
            self.switchName = switchName
            self.file = file
        }
    }

    /// The merged file and what went into it.
    public struct Output: Sendable {
        public var bytes: [UInt8]
        /// Packet records written.
        public var frames: Int
        /// The interfaces' new names, in their new order.
        public var interfaceNames: [String]
        /// One per event, in the order the events were given.
        public var placements: [EventPlacement]
        /// Statistics blocks written.
        public var statistics: Int
    }

    /// Merges `inputs` in time order and places `events` as comments. `application` is the section
    /// header's `shb_userappl` (e.g. "l2motion 0.3.0"); `comment`, if any, the section's comment.
    public static func merge(_ inputs: [Input], events: [CaptureEvent], application: String, comment: String? = nil) -> Output {
        var bases: [Int] = []
        var interfaces: [[UInt8]] = []
        var names: [String] = []
        for input in inputs {
            bases.append(names.count)
            for (index, interface) in input.file.interfaces.enumerated() {
                let name = "\(input.switchName)/\(interface.name ?? "if\(index)")"
                names.append(name)
                interfaces.append(PcapngBlocks.interfaceDescription(
                    CaptureInterface(name: name, description: interface.description, linkType: interface.linkType),
                    snaplen: Int(interface.snaplen), filter: interface.filter))
            }
        }
        let timeline = Timeline(inputs)
        let placements = events.map { timeline.place($0, inputs: inputs) }
        var added: [Int: [String]] = [:]  // merged position → event comments
        let byTime = placements.indices.sorted {
            (placements[$0].event.wallNanoseconds, $0) < (placements[$1].event.wallNanoseconds, $1)
        }
        for index in byTime {
            guard let frame = placements[index].frame else { continue }
            added[Int(frame) - 1, default: []].append(placements[index].event.text)
        }

        var bytes = PcapngBlocks.sectionHeader(application: application, comment: comment)
        bytes.reserveCapacity(inputs.reduce(bytes.count) { $0 + $1.file.packets.reduce(0) { $0 + $1.bytes.count + 48 } })
        for interface in interfaces { bytes += interface }
        for (position, entry) in timeline.order.enumerated() {
            let packet = inputs[entry.input].file.packets[entry.packet]
            bytes += PcapngBlocks.enhancedPacket(
                interface: bases[entry.input] + packet.interface, wallNanoseconds: packet.wallNanoseconds,
                originalLength: packet.originalLength, bytes: packet.bytes, direction: packet.direction,
                packetID: packet.packetID, comments: packet.comments + (added[position] ?? []))
        }
        let statistics = inputs.indices.flatMap { input in
            inputs[input].file.statistics.map { (block: $0, interface: bases[input] + $0.interface) }
        }.sorted { ($0.block.wallNanoseconds, $0.interface) < ($1.block.wallNanoseconds, $1.interface) }
        for (block, interface) in statistics {
            bytes += PcapngBlocks.interfaceStatistics(interface: interface, wallNanoseconds: block.wallNanoseconds,
                                                      startNanoseconds: nil, received: block.received, dropped: block.dropped)
        }
        return Output(bytes: bytes, frames: timeline.order.count, interfaceNames: names, placements: placements,
                      statistics: statistics.count)
    }
}
