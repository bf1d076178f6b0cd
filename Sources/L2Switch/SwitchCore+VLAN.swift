import L2Wire

/// A port's VLAN mode in plain values, read per frame: no enum payload with an array in it, so
/// no reference counting on the frame path.
struct VLANRule: Sendable {
    enum Kind: UInt8, Sendable { case unaware, access, trunk }
    let kind: Kind
    /// The VLAN of untagged frames: the access VLAN, a trunk's native VLAN; 0: none (or unaware).
    let untagged: UInt16
    /// Where a trunk's 64 words of allowed VLANs start in `SwitchCore.allowedBits`.
    let bits: Int
}

/// What ingress classification made of a frame.
enum Classification {
    case vlan(UInt16)
    case drop(DropReason)
}

extension SwitchCore {
    /// The rule for a new port's mode; a trunk's allowed VLANs (and its native one) go into
    /// `allowedBits`.
    mutating func addRule(for mode: PortVLANMode) -> VLANRule {
        switch mode {
        case .unaware:
            return VLANRule(kind: .unaware, untagged: 0, bits: 0)
        case let .access(vlan):
            return VLANRule(kind: .access, untagged: vlan, bits: 0)
        case let .trunk(allowed, native):
            let start = allowedBits.count
            allowedBits += repeatElement(0, count: 64)
            for vlan in VLANSet.validIDs where allowed.contains(vlan) || native == vlan {
                allowedBits[start + Int(vlan >> 6)] |= 1 << UInt64(vlan & 63)
            }
            return VLANRule(kind: .trunk, untagged: native ?? 0, bits: start)
        }
    }

    @inline(__always)
    func allows(_ rule: VLANRule, _ vlan: UInt16) -> Bool {
        allowedBits[rule.bits + Int(vlan >> 6)] & (1 << UInt64(vlan & 63)) != 0
    }

    /// The VLAN a frame arriving on port `ingress` belongs to, or why it is dropped: a tagged frame
    /// on an access port; on a trunk, a tag it does not allow or no tag and no native VLAN. Tagged
    /// frames on unaware ports pass as VLAN 0, as they always did.
    @inline(__always)
    func classify(_ frame: UnsafeRawBufferPointer, tagged: Bool, ingress: Int) -> Classification {
        let rule = ports[ingress].rule
        switch rule.kind {
        case .unaware:
            return .vlan(0)
        case .access:
            return tagged ? .drop(.taggedOnAccess) : .vlan(rule.untagged)
        case .trunk:
            if tagged {
                let vlan = UInt16(frame[14] & 0x0F) << 8 | UInt16(frame[15])
                return vlan != 0 && vlan != 4095 && allows(rule, vlan) ? .vlan(vlan) : .drop(.vlanNotAllowed)
            }
            return rule.untagged != 0 ? .vlan(rule.untagged) : .drop(.vlanNotAllowed)
        }
    }

    /// How port `index` sends frames of `vlan`, nil if it does not carry it.
    @inline(__always)
    func egressForm(of index: Int, for vlan: UInt16) -> EgressForm? {
        let rule = ports[index].rule
        switch rule.kind {
        case .unaware: return vlan == 0 ? .asReceived : nil
        case .access: return vlan == rule.untagged ? .untagged : nil
        case .trunk: return vlan != 0 && allows(rule, vlan) ? (vlan == rule.untagged ? .untagged : .tagged) : nil
        }
    }

    /// The up ports of `vlan`'s flooding domain.
    @inline(__always)
    func floodMembers(of vlan: UInt16) -> [FloodMember] {
        guard vlan != 0, !floodListOfVLAN.isEmpty else { return floodLists[0] }
        return floodLists[Int(floodListOfVLAN[Int(vlan)])]
    }

    /// Recomputes every VLAN's flooding domain after a port was added or changed state. VLANs with
    /// the same members share one list. Not on the frame path (a security shut calls it, rarely).
    mutating func rebuildFloodLists() {
        let up = ports.filter(\.configuration.isUp).sorted { $0.id < $1.id }
        func members(_ vlan: UInt16) -> [FloodMember] {
            up.indices.compactMap { position in
                let index = portIndex[up[position].id]!
                return egressForm(of: index, for: vlan).map { FloodMember(port: up[position].id, form: $0, mtu: up[position].configuration.mtu) }
            }
        }
        var lists = [members(0), []]
        guard vlanAware else {
            floodLists = lists
            floodListOfVLAN = []
            return
        }
        var known: [[FloodMember]: Int32] = [lists[1]: 1]
        var map = [Int32](repeating: 1, count: 4096)
        let carried = ports.reduce(into: Set<UInt16>()) { carried, port in
            switch port.configuration.vlanMode {
            case .unaware: break
            case let .access(vlan): carried.insert(vlan)
            case let .trunk(allowed, native):
                carried.formUnion(allowed.ids)
                if let native { carried.insert(native) }
            }
        }
        for vlan in carried.sorted() {
            let list = members(vlan)
            if let index = known[list] {
                map[Int(vlan)] = index
            } else {
                map[Int(vlan)] = Int32(lists.count)
                known[list] = Int32(lists.count)
                lists.append(list)
            }
        }
        floodLists = lists
        floodListOfVLAN = map
    }

    /// Counts the flood's copies that ports with a smaller MTU than the frame cannot take (the
    /// flood's iterator leaves them out) as `oversize` drops on those ports.
    @inline(never)
    mutating func countTooSmall(for result: ForwardingResult, from ingress: PortID) {
        for member in floodMembers(of: result.vlan) where member.port != ingress && member.mtu < result.payloadLength {
            if let index = portIndex[member.port] { ports[index].counters.txDrops.oversize += 1 }
        }
    }
}
