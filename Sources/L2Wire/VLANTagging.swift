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
    static let tagLength = 4

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
