/// An IEEE 802.1Q tag: priority code point, drop-eligible indicator and VLAN identifier.
public struct VLANTag: Hashable, Sendable, CustomStringConvertible {
    /// Priority code point, 0...7.
    public let pcp: UInt8
    /// Drop-eligible indicator (formerly CFI).
    public let dei: Bool
    /// VLAN identifier, 0...4095.
    public let vid: UInt16

    /// A tag; traps if `vid` > 4095 or `pcp` > 7 (a programming error, not an input error).
    public init(vid: UInt16, pcp: UInt8 = 0, dei: Bool = false) {
        precondition(vid < 4096, "VLAN id \(vid) out of range 0...4095")
        precondition(pcp < 8, "VLAN priority \(pcp) out of range 0...7")
        self.vid = vid
        self.pcp = pcp
        self.dei = dei
    }

    /// Decodes the 16-bit tag control information.
    public init(tci: UInt16) {
        vid = tci & 0x0FFF
        dei = tci & 0x1000 != 0
        pcp = UInt8(truncatingIfNeeded: tci >> 13)
    }

    /// The 16-bit tag control information as sent on the wire.
    public var tci: UInt16 { UInt16(pcp) << 13 | (dei ? 0x1000 : 0) | vid }

    /// tcpdump's form: `vlan 100, p 0` (with `, DEI` when set).
    public var description: String { "vlan \(vid), p \(pcp)" + (dei ? ", DEI" : "") }
}

/// A view over an Ethernet II frame (without FCS), optionally carrying one 802.1Q tag.
///
/// Lengths are checked once in the initializer; afterwards no accessor can trap. The view reads
/// relative to `bytes.startIndex`, so any slice works.
///
/// ```
/// 0      6      12         (12  14   16)
/// | dst  | src  | type ... | 0x8100 TCI | type | payload
/// ```
public struct EthernetFrame: Hashable, Sendable, CustomStringConvertible {
    enum Field {
        static let destination = 0
        static let source = 6
        static let etherType = 12
        static let header = 14
        static let tci = 14
        static let innerEtherType = 16
        static let taggedHeader = 18
    }

    /// The smallest frame on the wire without its 4-byte FCS; `build` pads up to it.
    public static let minimumLength = 60

    /// The whole frame.
    public let bytes: ArraySlice<UInt8>
    /// 14, or 18 with an 802.1Q tag.
    public let headerLength: Int
    /// The 802.1Q tag, if the outer EtherType is 0x8100.
    public let vlan: VLANTag?

    /// Parses a frame; throws `.truncated` below 14 bytes, or below 18 when tagged.
    public init(_ bytes: ArraySlice<UInt8>) throws(WireError) {
        guard bytes.count >= Field.header else {
            throw .truncated(layer: "Ethernet", needed: Field.header, available: bytes.count)
        }
        if bytes.u16(at: Field.etherType) == EtherType.vlan.rawValue {
            guard bytes.count >= Field.taggedHeader else {
                throw .truncated(layer: "802.1Q", needed: Field.taggedHeader, available: bytes.count)
            }
            vlan = VLANTag(tci: bytes.u16(at: Field.tci))
            headerLength = Field.taggedHeader
        } else {
            vlan = nil
            headerLength = Field.header
        }
        self.bytes = bytes
    }

    /// Parses a frame held in an array.
    public init(_ bytes: [UInt8]) throws(WireError) { try self.init(bytes[...]) }

    public var destination: MACAddress { bytes.mac(at: Field.destination) }
    public var source: MACAddress { bytes.mac(at: Field.source) }

    /// The EtherType of the payload: the inner one when the frame is tagged.
    public var etherType: EtherType { EtherType(rawValue: bytes.u16(at: headerLength - 2)) }

    /// Everything after the header, including any padding up to 60 bytes.
    public var payload: ArraySlice<UInt8> { bytes.from(headerLength) }

    /// The tcpdump-like one-line summary (see `FrameSummary`).
    public var description: String { FrameSummary.describe(self) }

    /// Builds a frame, zero-padded to 60 bytes (no FCS).
    public static func build<Payload: Collection>(
        destination: MACAddress, source: MACAddress, vlan: VLANTag? = nil,
        etherType: EtherType, payload: Payload
    ) -> [UInt8] where Payload.Element == UInt8 {
        let header = vlan == nil ? Field.header : Field.taggedHeader
        var frame: [UInt8] = []
        frame.reserveCapacity(max(minimumLength, header + payload.count))
        frame.append(destination)
        frame.append(source)
        if let vlan {
            frame.appendBE(EtherType.vlan.rawValue)
            frame.appendBE(vlan.tci)
        }
        frame.appendBE(etherType.rawValue)
        frame.append(contentsOf: payload)
        if frame.count < minimumLength {
            frame.append(contentsOf: repeatElement(0, count: minimumLength - frame.count))
        }
        return frame
    }
}
