// Internal big-endian readers and writers shared by every view and builder.
//
// Readers take an offset relative to `startIndex`: slices are not zero-based. Each view checks its
// lengths once in its initializer, after which these reads cannot go out of bounds.

extension ArraySlice where Element == UInt8 {
    @inlinable
    func u8(at offset: Int) -> UInt8 { self[startIndex + offset] }

    @inlinable
    func u16(at offset: Int) -> UInt16 {
        let i = startIndex + offset
        return UInt16(self[i]) << 8 | UInt16(self[i + 1])
    }

    @inlinable
    func u32(at offset: Int) -> UInt32 {
        let i = startIndex + offset
        return UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }

    @inlinable
    func mac(at offset: Int) -> MACAddress { MACAddress(bytes: self, at: startIndex + offset) }

    @inlinable
    func ipv4(at offset: Int) -> IPv4Address { IPv4Address(bytes: self, at: startIndex + offset) }

    @inlinable
    func ipv6(at offset: Int) -> IPv6Address { IPv6Address(bytes: self, at: startIndex + offset) }

    /// The sub-slice `offset..<offset+count`, relative to `startIndex`.
    @inlinable
    func sub(_ offset: Int, _ count: Int) -> ArraySlice<UInt8> {
        self[(startIndex + offset)..<(startIndex + offset + count)]
    }

    /// Everything from `offset` (relative to `startIndex`) to the end.
    @inlinable
    func from(_ offset: Int) -> ArraySlice<UInt8> { self[(startIndex + offset)...] }
}

extension Array where Element == UInt8 {
    @inlinable
    mutating func appendBE(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inlinable
    mutating func appendBE(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inlinable
    mutating func append(_ mac: MACAddress) {
        let o = mac.octets
        append(o.0); append(o.1); append(o.2); append(o.3); append(o.4); append(o.5)
    }

    @inlinable
    mutating func append(_ address: IPv4Address) { appendBE(address.rawValue) }

    @inlinable
    mutating func append(_ address: IPv6Address) { append(contentsOf: address.bytes) }

    /// Overwrites two bytes at absolute index `index` with `value` in network order.
    @inlinable
    mutating func storeBE(_ value: UInt16, at index: Int) {
        self[index] = UInt8(truncatingIfNeeded: value >> 8)
        self[index + 1] = UInt8(truncatingIfNeeded: value)
    }
}
