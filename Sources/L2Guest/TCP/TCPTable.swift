import L2Wire

/// The TCP table in guest memory: the header page's index (4-tuple hash, state and creation time
/// per slot) and the slots' control blocks. Every read and write goes through `GuestMemory`.
struct TCPTable {
    let layout: TCPLayout
    let memory: GuestMemory

    /// Writes the header's magic and ISN key, deriving the key from the boot record (page 0: magic
    /// and boot id), so the key is as unique as the VM's boot and moves with its memory. A table
    /// written under another boot id (the VM was powered off and on) is emptied first: connections
    /// do not survive a reboot.
    func initialiseIfNeeded() {
        guard !isInitialised else { return }
        let bootID = memory.loadUInt64(at: GuestLayout.bootRecordOffset + 8)
        for slot in 0..<layout.slotCount {
            for offset in [layout.hashOffset(slot), layout.stateOffset(slot), layout.createdOffset(slot)]
            where memory.loadUInt64(at: offset) != 0 {
                memory.storeUInt64(0, at: offset)
            }
        }
        var generator = SplitMix64(seed: bootID ^ memory.loadUInt64(at: GuestLayout.bootRecordOffset) ^ 0x5443_505F_4953_4E00)
        memory.storeUInt64(generator.next(), at: layout.header + TCPLayout.keyOffset)
        memory.storeUInt64(generator.next(), at: layout.header + TCPLayout.keyOffset + 8)
        memory.storeUInt64(bootID, at: layout.header + TCPLayout.bootIDOffset)
        memory.storeUInt64(TCPLayout.magic, at: layout.header)
    }

    /// The table was initialised, under the current boot.
    var isInitialised: Bool {
        memory.loadUInt64(at: layout.header) == TCPLayout.magic
            && memory.loadUInt64(at: layout.header + TCPLayout.bootIDOffset)
            == memory.loadUInt64(at: GuestLayout.bootRecordOffset + 8)
    }

    /// RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs clock (here the guest clock).
    func initialSequenceNumber(local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16,
                               now: UInt64) -> UInt32 {
        let key0 = memory.loadUInt64(at: layout.header + TCPLayout.keyOffset)
        let key1 = memory.loadUInt64(at: layout.header + TCPLayout.keyOffset + 8)
        let hash = Self.mix(Self.tupleHash(local: local, localPort: localPort, remote: remote, remotePort: remotePort) ^ key0, key1)
        return UInt32(truncatingIfNeeded: now / 4_000) &+ UInt32(truncatingIfNeeded: hash >> 32)
    }

    /// The index key of a 4-tuple: never 0 (0 marks a free slot).
    static func tupleHash(local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16) -> UInt64 {
        let l = TCPControlBlock.words(local)
        let r = TCPControlBlock.words(remote)
        var h = mix(l.family, UInt64(localPort) | UInt64(remotePort) << 16)
        for word in [l.high, l.low, r.high, r.low] { h = mix(h, word) }
        return h | 1
    }

    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = (a ^ (b &* 0x9E37_79B9_7F4A_7C15)) &+ 0x632B_E59B_D9B4_E019
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    func hash(_ slot: Int) -> UInt64 { memory.loadUInt64(at: layout.hashOffset(slot)) }
    func state(_ slot: Int) -> TCPConnectionState {
        TCPConnectionState(rawValue: UInt8(truncatingIfNeeded: memory.loadUInt64(at: layout.stateOffset(slot)))) ?? .closed
    }
    func created(_ slot: Int) -> UInt64 { memory.loadUInt64(at: layout.createdOffset(slot)) }

    /// Slots whose index entry matches the 4-tuple's hash (reads the header page only).
    func candidates(local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16) -> [Int] {
        guard isInitialised else { return [] }
        let key = Self.tupleHash(local: local, localPort: localPort, remote: remote, remotePort: remotePort)
        return (0..<layout.slotCount).filter { hash($0) == key }
    }

    /// The slot holding the connection, checked against its control block.
    func lookup(local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16) -> Int? {
        candidates(local: local, localPort: localPort, remote: remote, remotePort: remotePort).first { slot in
            let block = load(slot)
            return block.state != .closed && block.local == local && block.remote == remote
                && block.localPort == localPort && block.remotePort == remotePort
        }
    }

    /// Used slots (from the header's index).
    var usedSlots: [Int] { (0..<layout.slotCount).filter { hash($0) != 0 } }
    var freeSlot: Int? { (0..<layout.slotCount).first { hash($0) == 0 } }

    /// The oldest slot in `state`, if any.
    func oldest(in state: TCPConnectionState) -> Int? {
        usedSlots.filter { self.state($0) == state }.min { created($0) < created($1) }
    }

    func load(_ slot: Int) -> TCPControlBlock { TCPControlBlock(memory: memory, at: layout.controlBlock(slot)) }

    /// Stores the block (changed words only) and keeps the header's index in step.
    func store(_ block: TCPControlBlock, slot: Int, previous: TCPControlBlock?) {
        block.store(to: memory, at: layout.controlBlock(slot), previous: previous)
        if previous?.state != block.state {
            memory.storeUInt64(UInt64(block.state.rawValue), at: layout.stateOffset(slot))
        }
        if previous == nil || previous?.created != block.created {
            memory.storeUInt64(block.created, at: layout.createdOffset(slot))
        }
        if previous == nil {
            memory.storeUInt64(Self.tupleHash(local: block.local, localPort: block.localPort,
                                              remote: block.remote, remotePort: block.remotePort),
                               at: layout.hashOffset(slot))
        }
    }

    /// Frees a slot: its control block and index entry become zero.
    func free(_ slot: Int, previous: TCPControlBlock) {
        TCPControlBlock().store(to: memory, at: layout.controlBlock(slot), previous: previous)
        for offset in [layout.hashOffset(slot), layout.stateOffset(slot), layout.createdOffset(slot)]
        where memory.loadUInt64(at: offset) != 0 {
            memory.storeUInt64(0, at: offset)
        }
    }

    // MARK: receive buffer

    func receivedBytes(_ slot: Int, count: Int) -> [UInt8] { memory.read(at: layout.receiveBuffer(slot), count: count) }

    /// Appends in-order input after the unread bytes.
    func appendReceived(_ bytes: ArraySlice<UInt8>, slot: Int, block: inout TCPControlBlock) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { memory.write(at: layout.receiveBuffer(slot) + Int(block.rcvFill), bytes: $0) }
        block.rcvFill += UInt32(bytes.count)
    }

    /// Removes `count` bytes from the front of the unread input.
    func consumeReceived(_ count: Int, slot: Int, block: inout TCPControlBlock) {
        let rest = Int(block.rcvFill) - count
        if rest > 0 {
            memory.write(at: layout.receiveBuffer(slot), bytes: memory.read(at: layout.receiveBuffer(slot) + count, count: rest))
        }
        block.rcvFill = UInt32(rest)
    }

    // MARK: send ring

    /// Appends output after what the ring holds; the caller checked there is room.
    func appendToRing(_ bytes: [UInt8], slot: Int, block: inout TCPControlBlock) {
        precondition(bytes.count <= block.ringFree, "send ring overflow")
        let capacity = TCPTuning.sendRingBytes
        let start = (Int(block.ringHead) + Int(block.ringLength)) % capacity
        let first = min(bytes.count, capacity - start)
        bytes.withUnsafeBytes { buffer in
            memory.write(at: layout.sendRing(slot) + start, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<first]))
            if first < bytes.count {
                memory.write(at: layout.sendRing(slot), bytes: UnsafeRawBufferPointer(rebasing: buffer[first...]))
            }
        }
        block.ringLength += UInt32(bytes.count)
    }

    /// `count` bytes of the ring starting `offset` bytes after snd.una.
    func ringBytes(_ slot: Int, block: TCPControlBlock, offset: Int, count: Int) -> [UInt8] {
        let capacity = TCPTuning.sendRingBytes
        let start = (Int(block.ringHead) + offset) % capacity
        let first = min(count, capacity - start)
        var bytes = memory.read(at: layout.sendRing(slot) + start, count: first)
        if first < count { bytes += memory.read(at: layout.sendRing(slot), count: count - first) }
        return bytes
    }

    /// Drops `count` acknowledged bytes from the front of the ring.
    func releaseFromRing(_ count: UInt32, block: inout TCPControlBlock) {
        block.ringHead = UInt32((Int(block.ringHead) + Int(count)) % TCPTuning.sendRingBytes)
        block.ringLength -= count
    }

    /// Generates pending `PatternStream` output into the free part of the ring.
    func fillPattern(_ slot: Int, block: inout TCPControlBlock) {
        while block.patternRemaining > 0, block.ringFree > 0 {
            let count = Int(min(UInt64(block.ringFree), block.patternRemaining, 16_384))
            appendToRing(PatternStream.bytes(from: block.patternOffset, count: count), slot: slot, block: &block)
            block.patternOffset += UInt64(count)
            block.patternRemaining -= UInt64(count)
        }
    }
}
