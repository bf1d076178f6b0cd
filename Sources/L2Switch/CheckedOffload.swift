import L2Wire

/// A frame's virtio-net header after its one check against the frame it came with
/// (`VirtioNetHeader.problem(with:)`): the port that read the frame checks it, completes a partial
/// checksum through it, and hands it to `SwitchCore.receive`, which trusts the verdict instead of
/// checking again.
public struct CheckedOffload: Hashable, Sendable {
    public let header: VirtioNetHeader
    /// The header describes the frame; false: the switch drops the frame as `bad_offload`.
    public let fitsFrame: Bool

    /// Checks `header` against `frame` (the Ethernet frame after the header).
    @inlinable
    public init(_ header: VirtioNetHeader, checkedAgainst frame: UnsafeRawBufferPointer) {
        self.init(header: header, fitsFrame: header.problem(with: frame) == nil)
    }

    @usableFromInline
    init(header: VirtioNetHeader, fitsFrame: Bool) {
        self.header = header
        self.fitsFrame = fitsFrame
    }

    /// Fills in the frame's partial checksum when the header asks for one and describes the frame (an
    /// ordinary frame; a super-frame's segments get theirs when they are cut), as a NIC would, so the
    /// capture and every receiver see a correct frame. Returns the header to pass on (checksum flag
    /// cleared, `dataValidFlag` set) and whether it changed.
    @inlinable
    public func completingChecksum(in frame: UnsafeMutableRawBufferPointer) -> (offload: CheckedOffload, changed: Bool) {
        guard fitsFrame, header.needsChecksum, !header.isSuperFrame else { return (self, false) }
        return (CheckedOffload(header: header.completingChecksum(in: frame), fitsFrame: true), true)
    }
}
