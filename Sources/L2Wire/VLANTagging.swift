/// Adding and removing the one 802.1Q tag of a frame, as a VLAN-aware port does: a host's virtual
/// switch in VST mode tags what its VMs send on the uplink and untags what it delivers to them.
///
/// ```
/// untagged: | dst | src | type | payload
/// tagged:   | dst | src | 0x8100 TCI | type | payload      (4 bytes longer)
/// ```
///
/// Both read relative to `startIndex`, so any slice works.
public enum VLANTagging {
    /// Where the tag goes: right after the two MAC addresses.
    static let tagOffset = 12
    /// The bytes an 802.1Q tag adds after the source MAC.
    public static let tagLength = 4

    /// Whether `frame` carries a whole 802.1Q tag (outer EtherType 0x8100 and its TCI).
    public static func isTagged(_ frame: ArraySlice<UInt8>) -> Bool {
        frame.count >= tagOffset + tagLength && frame.u16(at: tagOffset) == EtherType.vlan.rawValue
    }

    /// The VLAN id of `frame`'s 802.1Q tag; 0 for an untagged frame, a priority-tagged one (VID 0) or
    /// one too short to hold a whole tag.
    public static func vlanID(of frame: ArraySlice<UInt8>) -> UInt16 {
        isTagged(frame) ? VLANTag(tci: frame.u16(at: tagOffset + 2)).vid : 0
    }

    /// `frame` with `tag` inserted after the source MAC (4 bytes longer; a 60-byte frame becomes 64,
    /// as on a trunk). A frame shorter than the two MAC addresses is returned unchanged.
    public static func inserting(_ tag: VLANTag, into frame: ArraySlice<UInt8>) -> [UInt8] {
        guard frame.count >= tagOffset else { return Array(frame) }
        var tagged: [UInt8] = []
        tagged.reserveCapacity(frame.count + tagLength)
        tagged.append(contentsOf: frame.sub(0, tagOffset))
        tagged.appendBE(EtherType.vlan.rawValue)
        tagged.appendBE(tag.tci)
        tagged.append(contentsOf: frame.from(tagOffset))
        return tagged
    }

    /// `frame` without its outer 802.1Q tag (4 bytes shorter); an untagged frame, or one too short to
    /// hold a whole tag, is returned as it is.
    public static func removingTag(from frame: ArraySlice<UInt8>) -> [UInt8] {
        guard isTagged(frame) else { return Array(frame) }
        var untagged: [UInt8] = []
        untagged.reserveCapacity(frame.count - tagLength)
        untagged.append(contentsOf: frame.sub(0, tagOffset))
        untagged.append(contentsOf: frame.from(tagOffset + tagLength))
        return untagged
    }
}

/// Pushing and popping the outer 802.1Q tag in raw memory: what the VLAN-aware production switch does
/// to a copy bound for a trunk (push) or an access port (pop). No allocation: the caller owns both buffers.
extension VLANTagging {
    static let macsLength = 12

    /// Whether `frame` carries an 802.1Q tag (EtherType 0x8100 after the MACs, and room for it).
    public static func isTagged(_ frame: UnsafeRawBufferPointer) -> Bool {
        frame.count >= macsLength + tagLength + 2 && frame[12] == 0x81 && frame[13] == 0x00
    }

    /// Copies `frame` into `destination` with `tag` inserted after the source MAC and returns the
    /// length written (`frame.count + 4`). `frame` must hold the two MACs (12 bytes) and
    /// `destination` at least `frame.count + 4` bytes.
    @discardableResult
    public static func push(_ tag: VLANTag, from frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        precondition(frame.count >= macsLength && destination.count >= frame.count + tagLength, "push needs the MACs and 4 spare bytes")
        let out = destination.baseAddress!, source = frame.baseAddress!
        out.copyMemory(from: source, byteCount: macsLength)
        let tci = tag.tci
        out.storeBytes(of: UInt8(0x81), toByteOffset: 12, as: UInt8.self)
        out.storeBytes(of: UInt8(0x00), toByteOffset: 13, as: UInt8.self)
        out.storeBytes(of: UInt8(truncatingIfNeeded: tci >> 8), toByteOffset: 14, as: UInt8.self)
        out.storeBytes(of: UInt8(truncatingIfNeeded: tci), toByteOffset: 15, as: UInt8.self)
        (out + macsLength + tagLength).copyMemory(from: source + macsLength, byteCount: frame.count - macsLength)
        return frame.count + tagLength
    }

    /// Copies `frame` into `destination` without its outer 802.1Q tag and returns the length written
    /// (`frame.count - 4`). `frame` must be tagged (`isTagged`) and `destination` hold `frame.count - 4`.
    @discardableResult
    public static func pop(from frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        precondition(isTagged(frame) && destination.count >= frame.count - tagLength, "pop needs a tagged frame")
        let out = destination.baseAddress!, source = frame.baseAddress!
        out.copyMemory(from: source, byteCount: macsLength)
        (out + macsLength).copyMemory(from: source + macsLength + tagLength, byteCount: frame.count - macsLength - tagLength)
        return frame.count - tagLength
    }

    /// `frame` with `tag` pushed (tests and tools; the switch uses the buffer form).
    public static func pushing(_ tag: VLANTag, to frame: [UInt8]) -> [UInt8] {
        precondition(frame.count >= macsLength)
        var out = [UInt8](repeating: 0, count: frame.count + tagLength)
        frame.withUnsafeBytes { source in out.withUnsafeMutableBytes { _ = push(tag, from: source, into: $0) } }
        return out
    }

    /// `frame` without its outer tag, or nil if it has none.
    public static func popping(_ frame: [UInt8]) -> [UInt8]? {
        frame.withUnsafeBytes { source -> [UInt8]? in
            guard isTagged(source) else { return nil }
            var out = [UInt8](repeating: 0, count: frame.count - tagLength)
            out.withUnsafeMutableBytes { _ = pop(from: source, into: $0) }
            return out
        }
    }
}

extension VirtioNetHeader {
    /// The header for the same frame after a tag was pushed (`delta` +4) or popped (-4) before its
    /// network header: the partial checksum's start (when one is asked for) and the headers' length
    /// (when set, for a super-frame) move with the payload. The checksum offset is relative to the
    /// start and stays.
    public func shifted(by delta: Int) -> VirtioNetHeader {
        var shifted = self
        if needsChecksum { shifted.checksumStart = UInt16(truncatingIfNeeded: Int(checksumStart) + delta) }
        if headerLength != 0 { shifted.headerLength = UInt16(truncatingIfNeeded: Int(headerLength) + delta) }
        return shifted
    }
}
