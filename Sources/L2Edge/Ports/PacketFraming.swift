import CTap
import L2Wire
#if canImport(Glibc)
import Glibc
#endif

/// Reading a frame from an AF_PACKET socket as it was on the wire. The kernel takes an 802.1Q tag off
/// a frame before such a socket sees it and reports it beside the frame (PACKET_AUXDATA); this puts it
/// back, so a tagged frame from an attached interface never looks untagged, and moves the frame's
/// virtio-net header offsets with it.
public enum PacketFraming {
    /// Room the read keeps at the end of `buffer` for the tag it may put back.
    static let tagRoom = VLANTagging.tagLength

    /// Reads one frame (after a `VirtioNetHeader` when `virtioHeader`) into `buffer`. Returns the byte
    /// count (header included), nil when none is waiting.
    ///
    /// The corresponding C function is `l2m_packet_recv` (recvmsg).
    @inline(never)
    public static func receive(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, virtioHeader: Bool) throws(SystemError) -> Int? {
        guard let base = buffer.baseAddress, buffer.count > tagRoom + VirtioNetHeader.length + 14 else { return nil }
        var tci: Int32 = -1
        var tpid: Int32 = 0
        let count = retryingOnInterrupt { l2m_packet_recv(descriptor, base, buffer.count - tagRoom, &tci, &tpid) }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw SystemError("recvmsg")
        }
        let frameStart = virtioHeader ? VirtioNetHeader.length : 0
        let frameLength = count - frameStart
        guard tci >= 0, frameLength >= 12 else { return count }
        // The tag goes between the source MAC and the EtherType: what follows moves 4 bytes on.
        let tagAt = frameStart + 12
        memmove(base + tagAt + tagRoom, base + tagAt, frameLength - 12)
        buffer[tagAt] = UInt8(truncatingIfNeeded: tpid >> 8)
        buffer[tagAt + 1] = UInt8(truncatingIfNeeded: tpid)
        buffer[tagAt + 2] = UInt8(truncatingIfNeeded: tci >> 8)
        buffer[tagAt + 3] = UInt8(truncatingIfNeeded: tci)
        if virtioHeader, let header = try? VirtioNetHeader(parsing: UnsafeRawBufferPointer(buffer)) {
            header.shifted(by: tagRoom).write(to: buffer)
        }
        return count + tagRoom
    }
}
