/// Whether a segment's MTU fits the underlay its VXLAN ports cross, pure: VXLAN wraps each frame in
/// an outer IPv4 header (20), UDP (8), VXLAN (8) and the inner Ethernet header (14), 50 bytes, 54
/// when the tunnel carries 802.1Q tags. A 9000-byte vMotion segment needs an underlay of 9050.
public struct UnderlayFit: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// The segment's MTU fits.
        case fits
        /// The segment runs at this lower MTU on this machine.
        case lowered(to: Int)
        /// Refused: the underlay cannot carry even a minimal frame, or lowering was not allowed.
        case refused
    }

    public static let overhead = 50
    public static let tagOverhead = 4

    public var segment: String
    public var mtu: Int
    public var underlayMTU: Int
    /// The underlay interface measured (for the message).
    public var underlayInterface: String
    public var tagged: Bool
    public var verdict: Verdict

    /// Decides for one segment; `strict`: refuse instead of lowering.
    public init(segment: String, mtu: Int, underlayMTU: Int, underlayInterface: String, tagged: Bool, strict: Bool) {
        self.segment = segment
        self.mtu = mtu
        self.underlayMTU = underlayMTU
        self.underlayInterface = underlayInterface
        self.tagged = tagged
        let room = underlayMTU - Self.overhead - (tagged ? Self.tagOverhead : 0)
        if mtu <= room {
            verdict = .fits
        } else if strict || room < 576 {
            verdict = .refused
        } else {
            verdict = .lowered(to: room)
        }
    }

    public var needed: Int { mtu + Self.overhead + (tagged ? Self.tagOverhead : 0) }

    /// The verdict in words, with what to do when it is not `fits`.
    public var message: String {
        switch verdict {
        case .fits:
            return "segment \(segment): MTU \(mtu) fits the underlay (\(underlayInterface) MTU \(underlayMTU), VXLAN needs \(needed))"
        case let .lowered(to):
            return "segment \(segment): MTU \(mtu) does not fit the underlay (\(underlayInterface) MTU \(underlayMTU); VXLAN needs \(needed)): lowered to \(to) on this machine; give the underlay MTU \(needed) to keep \(mtu)"
        case .refused:
            return "segment \(segment): MTU \(mtu) does not fit the underlay (\(underlayInterface) MTU \(underlayMTU); VXLAN needs \(needed)); raise the underlay's MTU to \(needed) or lower the segment's mtu to \(max(68, underlayMTU - needed + mtu))"
        }
    }
}
