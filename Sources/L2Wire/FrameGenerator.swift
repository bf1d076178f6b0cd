/// Builds the bad and hostile frames a switch must survive: runts, frames over the MTU, truncated
/// 802.1Q tags, random bytes, multicast and all-zero source MACs, and a flood of random source MACs.
///
/// Pure and deterministic: the same seed, kinds and MTU give the same frames in the same order, so a
/// failing run can be replayed. Kinds are taken round-robin from the list it was made with. No
/// allocation per frame once the caller's buffer has grown to the largest frame.
///
/// What a learning switch does with each kind (`SwitchCore`'s drop reasons):
///
/// | kind | length | switch |
/// |---|---|---|
/// | `runt` | 1–13 | `runt` (the kernel refuses to send under 14 bytes, even for root) |
/// | `oversize` | 14 + MTU + 15 … 14 + MTU + 200 | `oversize` |
/// | `bad-vlan` | 14–17, EtherType 0x8100 | `runt` (a tagged header needs 18) |
/// | `random` | 14–1514 | anything: it may be a valid frame, and is then forwarded or flooded |
/// | `multicast-source`, `zero-source` | 60 | `bad_source` |
/// | `mac-flood` | 60 | learned and forwarded (broadcast or unknown unicast: flooded) |
public struct FrameGenerator: Sendable {
    /// One kind of generated frame; raw values are the names on the command line.
    public enum Kind: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
        case runt
        case oversize
        case badVLAN = "bad-vlan"
        case random
        case multicastSource = "multicast-source"
        case zeroSource = "zero-source"
        case macFlood = "mac-flood"
        /// A valid broadcast frame whose source is the generator's `source`: a station sending
        /// another's MAC (the mac-spoof scenario).
        case spoof

        /// Every kind except `mac-flood`: the frames a switch must drop or may forward, but not learn
        /// in bulk.
        public static let bad: [Kind] = [.runt, .oversize, .badVLAN, .random, .multicastSource, .zeroSource]

        public var description: String { rawValue }

        /// Parses a comma-separated list (`runt,oversize`, or `bad` for every bad kind); the error
        /// names the word it did not know and lists the kinds.
        public static func parseList(_ text: String) throws(FrameKindError) -> [Kind] {
            var kinds: [Kind] = []
            for word in text.split(separator: ",").map({ String($0.filter { $0 != " " }) }) where !word.isEmpty {
                if word == "bad" {
                    kinds += bad
                } else if let kind = Kind(rawValue: word) {
                    kinds.append(kind)
                } else {
                    throw FrameKindError(description: "frame kind \"\(word)\" is unknown; use bad or "
                                         + allCases.map(\.rawValue).joined(separator: ", "))
                }
            }
            guard !kinds.isEmpty else {
                throw FrameKindError(description: "no frame kind given; use bad or "
                                     + allCases.map(\.rawValue).joined(separator: ", "))
            }
            return kinds
        }
    }

    /// The EtherType of the generated valid frames: IEEE 802 "local experimental 1", which no
    /// receiving stack acts on.
    public static let experimentalEtherType: UInt16 = 0x88B5
    /// Length of the generated valid frames (the Ethernet minimum without FCS).
    public static let validFrameLength = 60

    public let kinds: [Kind]
    /// The switch port's MTU, against which `oversize` frames are built.
    public let mtu: Int
    /// Source MAC of `runt`, `oversize`, `bad-vlan` and `spoof` frames.
    public let source: MACAddress
    private var random: SplitMix64
    private var position = 0

    /// - Parameters:
    ///   - kinds: the kinds to cycle through, in order (not empty).
    ///   - mtu: the switch port's MTU (68...65535).
    ///   - source: the source MAC of runts, oversize and bad-VLAN frames.
    ///   - seed: the PRNG seed.
    public init(kinds: [Kind], mtu: Int = 1500, source: MACAddress, seed: UInt64) {
        precondition(!kinds.isEmpty, "FrameGenerator needs at least one kind")
        precondition((68...65535).contains(mtu), "MTU \(mtu) is out of range; use 68...65535")
        self.kinds = kinds
        self.mtu = mtu
        self.source = source
        random = SplitMix64(seed: seed)
    }

    /// The lengths a kind's frames take for a port with this MTU.
    public static func lengths(of kind: Kind, mtu: Int) -> ClosedRange<Int> {
        switch kind {
        case .runt: 1...13
        case .oversize: (14 + mtu + 15)...(14 + mtu + 200)
        case .badVLAN: 14...17
        case .random: 14...1514
        case .multicastSource, .zeroSource, .macFlood, .spoof: validFrameLength...validFrameLength
        }
    }

    /// Replaces `frame` with the next frame (kinds round-robin) and returns its kind.
    @discardableResult
    public mutating func next(into frame: inout [UInt8]) -> Kind {
        let kind = kinds[position]
        position = (position + 1) % kinds.count
        build(kind, into: &frame)
        return kind
    }

    /// Replaces `frame` with one frame of `kind`.
    public mutating func build(_ kind: Kind, into frame: inout [UInt8]) {
        frame.removeAll(keepingCapacity: true)
        let range = Self.lengths(of: kind, mtu: mtu)
        let length = range.lowerBound + random.next(below: range.count)
        switch kind {
        case .runt, .random:
            appendRandom(length, to: &frame)
        case .oversize:
            appendHeader(destination: .broadcast, source: source, etherType: Self.experimentalEtherType, to: &frame)
            appendRandom(length - 14, to: &frame)
        case .badVLAN:
            appendHeader(destination: .broadcast, source: source, etherType: EtherType.vlan.rawValue, to: &frame)
            appendRandom(length - 14, to: &frame)
        case .multicastSource:
            // Group bit set; the rest random (so broadcast, too, now and then).
            let mac = MACAddress(rawValue: random.next() & 0xFFFF_FFFF_FFFF | 0x0100_0000_0000)
            appendValid(destination: .broadcast, source: mac, to: &frame)
        case .zeroSource:
            appendValid(destination: .broadcast, source: .zero, to: &frame)
        case .spoof:
            appendValid(destination: .broadcast, source: source, to: &frame)
        case .macFlood:
            let destination: MACAddress = random.next() & 1 == 0 ? .broadcast : randomUnicast()
            appendValid(destination: destination, source: randomUnicast(), to: &frame)
        }
    }

    /// A random unicast, locally administered, non-zero MAC (group bit clear, local bit set).
    public mutating func randomUnicast() -> MACAddress {
        MACAddress(rawValue: random.next() & 0xFEFF_FFFF_FFFF | 0x0200_0000_0000)
    }

    // MARK: internals

    private func appendHeader(destination: MACAddress, source: MACAddress, etherType: UInt16, to frame: inout [UInt8]) {
        let d = destination.octets, s = source.octets
        frame.append(d.0); frame.append(d.1); frame.append(d.2); frame.append(d.3); frame.append(d.4); frame.append(d.5)
        frame.append(s.0); frame.append(s.1); frame.append(s.2); frame.append(s.3); frame.append(s.4); frame.append(s.5)
        frame.append(UInt8(etherType >> 8))
        frame.append(UInt8(etherType & 0xFF))
    }

    /// A 60-byte frame with the experimental EtherType and a zero payload.
    private func appendValid(destination: MACAddress, source: MACAddress, to frame: inout [UInt8]) {
        appendHeader(destination: destination, source: source, etherType: Self.experimentalEtherType, to: &frame)
        for _ in 14..<Self.validFrameLength { frame.append(0) }
    }

    private mutating func appendRandom(_ count: Int, to frame: inout [UInt8]) {
        var left = count
        while left > 0 {
            var word = random.next()
            for _ in 0..<min(8, left) {
                frame.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
            left -= min(8, left)
        }
    }
}

extension FrameGenerator {
    /// What a run of the generator did: frames handed to the kernel and refused by it, per kind.
    ///
    /// As JSON: `{"interface":"eth0","kinds":[{"kind":"runt","sent":0,"refused":3,"refusal":"Invalid
    /// argument"},…],"seconds":2.5,"interface_dropped":0,"stalled":false}`.
    public struct Report: Codable, Hashable, Sendable {
        /// One kind's tally.
        public struct KindTally: Codable, Hashable, Sendable {
            public var kind: Kind
            /// Frames the kernel accepted.
            public var sent: Int = 0
            /// Frames the kernel refused (a send error), e.g. runts under 14 bytes.
            public var refused: Int = 0
            /// Why the last refused frame was refused (strerror), if any was.
            public var refusal: String?

            public init(kind: Kind) { self.kind = kind }
        }

        public var interface: String
        /// One tally per kind, in the order the kinds were first given.
        public var kinds: [KindTally]
        public var seconds: Double = 0
        /// Frames the interface itself dropped meanwhile (its `tx_dropped` grew by this much): sent,
        /// but lost before the switch read them. Nil if it could not be read.
        public var interfaceDropped: UInt64?
        /// True if the kernel accepted nothing for so long that the run gave up early.
        public var stalled = false

        public init(interface: String, kinds: [Kind]) {
            self.interface = interface
            var seen: [Kind] = []
            for kind in kinds where !seen.contains(kind) { seen.append(kind) }
            self.kinds = seen.map(KindTally.init)
        }

        /// Counts one frame of `kind`: sent, or refused with a reason.
        public mutating func record(_ kind: Kind, refusal: String? = nil) {
            guard let index = kinds.firstIndex(where: { $0.kind == kind }) else { return }
            if let refusal {
                kinds[index].refused += 1
                kinds[index].refusal = refusal
            } else {
                kinds[index].sent += 1
            }
        }

        /// The tally of one kind (zero counts if it was not generated).
        public subscript(kind: Kind) -> KindTally {
            kinds.first { $0.kind == kind } ?? KindTally(kind: kind)
        }

        public var sent: Int { kinds.reduce(0) { $0 + $1.sent } }
        public var sendErrors: Int { kinds.reduce(0) { $0 + $1.refused } }

        /// One line: `eth0: sent 2000 frames in 1.00 s (2000/s): runt 0 (334 refused: Invalid
        /// argument), oversize 333, …; send errors 334; interface dropped 0`.
        public var summary: String {
            let rate = seconds > 0 ? Int((Double(sent) / seconds).rounded()) : 0
            let perKind = kinds.map { tally in
                tally.refused == 0 ? "\(tally.kind) \(tally.sent)"
                    : "\(tally.kind) \(tally.sent) (\(tally.refused) refused by the kernel: \(tally.refusal ?? "?"))"
            }.joined(separator: ", ")
            let seconds = (self.seconds * 100).rounded() / 100
            var line = "\(interface): sent \(sent) frames in \(seconds) s (\(rate)/s): \(perKind); send errors \(sendErrors)"
            if let interfaceDropped { line += "; interface dropped \(interfaceDropped)" }
            if stalled { line += "; stopped early: the kernel accepted no frame for 5 s" }
            return line
        }

        enum CodingKeys: String, CodingKey {
            case interface, kinds, seconds, stalled
            case interfaceDropped = "interface_dropped"
        }
    }
}

/// A `--kind` list that names no kind or an unknown one, with the kinds there are.
public struct FrameKindError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
}
