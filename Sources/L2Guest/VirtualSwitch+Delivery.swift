import L2Wire

/// Why the virtual switch dropped a frame on purpose (a policy), as opposed to having no receiver.
public enum VirtualSwitchRefusal: Hashable, Sendable, CustomStringConvertible {
    /// "Forged transmits: reject": the VM sent a frame whose source MAC (`claimed`) is not its NIC's.
    case forgedSource(claimed: MACAddress)
    /// A VM on a tagged port group (VST) sent a frame that already carries an 802.1Q tag.
    case taggedByGuest(vlan: UInt16)

    public var description: String {
        switch self {
        case let .forgedSource(claimed): "forged transmit: source MAC \(claimed) is not the NIC's own"
        case let .taggedByGuest(vlan): "the guest tagged the frame (VLAN \(vlan)) on a port group the virtual switch tags"
        }
    }
}

/// Where the virtual switch sends one frame: to these VM NICs and/or out of the uplink, in which VLAN.
public struct VirtualSwitchDelivery: Hashable, Sendable {
    /// VM NICs (by MAC) that receive the frame, in attach order.
    public var nics: [MACAddress]
    /// Whether the frame leaves through the uplink (`vmnic0`).
    public var uplink: Bool
    /// The VLAN the frame travels in: from the uplink, its 802.1Q tag's id (0 untagged); from a VM, its
    /// port group's. The uplink's copy carries this tag (none for 0); the VMs' copies never carry one.
    public var vlan: UInt16
    /// Set when a policy dropped the frame.
    public var refusal: VirtualSwitchRefusal?

    public init(nics: [MACAddress] = [], uplink: Bool = false, vlan: UInt16 = 0, refusal: VirtualSwitchRefusal? = nil) {
        self.nics = nics
        self.uplink = uplink
        self.vlan = vlan
        self.refusal = refusal
    }

    public static let drop = VirtualSwitchDelivery()

    /// The bytes the uplink sends for `frame`: tagged with `vlan`, or as they are in VLAN 0.
    public func uplinkCopy(of frame: ArraySlice<UInt8>) -> [UInt8] {
        vlan == 0 ? Array(frame) : VLANTagging.inserting(VLANTag(vid: vlan), into: frame)
    }
}

/// The delivery decision, vSphere's Virtual Switch Tagging (VST): a port group with VLAN id N is the
/// broadcast domain of VLAN N on this host; VLAN 0 is untagged.
///
/// From the uplink: a frame tagged N goes to the NICs of port groups with VLAN N (the tag removed),
/// an untagged (or priority-tagged) one to the VLAN-0 port groups'; unicast to the one NIC with that
/// destination MAC, broadcast and multicast to every NIC of the VLAN. A frame for a VLAN no port group
/// has is dropped.
/// From a VM: if its port group rejects forged transmits, a frame whose source MAC is not the NIC's
/// own is dropped and counted. Otherwise unicast to a NIC of the same VLAN on this host stays local
/// (a physical switch would not send it back down the port it came from); anything else goes out of
/// the uplink, tagged with the port group's VLAN (none for 0); broadcast and multicast also to the
/// VLAN's other local NICs. A VM never gets its own frame.
extension VirtualSwitch {
    /// The VLAN of the port group `port` is plugged into; nil if that port group is gone (a VM still
    /// arriving by migration whose port group was removed meanwhile).
    func vlan(of port: VirtualPort) -> UInt16? {
        portGroup(labelled: port.portGroup)?.vlanID
    }

    /// Where a frame that arrived on the uplink goes. Frames shorter than an Ethernet header, or than
    /// an 802.1Q header when tagged, are dropped.
    public func deliverFromUplink(_ frame: ArraySlice<UInt8>) -> VirtualSwitchDelivery {
        guard let parsed = try? EthernetFrame(frame) else { return .drop }
        let vlan = parsed.vlan?.vid ?? 0
        let members = ports.filter { self.vlan(of: $0) == vlan }
        let destination = parsed.destination
        if destination.isMulticast {
            return members.isEmpty ? .drop : VirtualSwitchDelivery(nics: members.map(\.mac), vlan: vlan)
        }
        return members.contains { $0.mac == destination } ? VirtualSwitchDelivery(nics: [destination], vlan: vlan) : .drop
    }

    public func deliverFromUplink(_ frame: [UInt8]) -> VirtualSwitchDelivery { deliverFromUplink(frame[...]) }

    /// What the VMs of a delivery from the uplink receive: `frame` without its 802.1Q tag.
    public static func vmCopy(ofUplinkFrame frame: ArraySlice<UInt8>) -> [UInt8] {
        VLANTagging.removingTag(from: frame)
    }

    /// Where a frame sent by the VM NIC `source` goes. A NIC that is not attached (or whose port
    /// group is gone) sends nothing; a forged source on a rejecting port group is counted.
    public mutating func deliverFromVM(_ frame: ArraySlice<UInt8>, from source: MACAddress) -> VirtualSwitchDelivery {
        guard frame.count >= 14, let index = ports.firstIndex(where: { $0.mac == source }),
              let group = portGroup(labelled: ports[index].portGroup) else { return .drop }
        let claimed = MACAddress(bytes: frame, at: frame.startIndex + 6)
        if group.forgedTransmits == .reject && claimed != source {
            ports[index].forgedTransmitDrops += 1
            forgedTransmitDrops += 1
            return VirtualSwitchDelivery(vlan: group.vlanID, refusal: .forgedSource(claimed: claimed))
        }
        if group.vlanID != 0 && VLANTagging.isTagged(frame) {
            return VirtualSwitchDelivery(vlan: group.vlanID, refusal: .taggedByGuest(vlan: VLANTagging.vlanID(of: frame)))
        }
        let destination = MACAddress(bytes: frame, at: frame.startIndex)
        let neighbours = ports.filter { $0.mac != source && vlan(of: $0) == group.vlanID }
        if destination.isMulticast { return VirtualSwitchDelivery(nics: neighbours.map(\.mac), uplink: true, vlan: group.vlanID) }
        if destination == source { return .drop }
        if neighbours.contains(where: { $0.mac == destination }) { return VirtualSwitchDelivery(nics: [destination], vlan: group.vlanID) }
        return VirtualSwitchDelivery(uplink: true, vlan: group.vlanID)
    }

    public mutating func deliverFromVM(_ frame: [UInt8], from source: MACAddress) -> VirtualSwitchDelivery {
        deliverFromVM(frame[...], from: source)
    }
}
