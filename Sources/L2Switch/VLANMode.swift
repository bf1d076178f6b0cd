import L2Wire

/// How a switch port treats 802.1Q VLANs.
///
/// - `unaware` (the default, and every port of the default lab): frames pass unchanged, tagged or
///   not, and all such ports share one flooding domain, "VLAN 0", apart from every VLAN.
/// - `access(N)`: the port belongs to VLAN N alone; frames are untagged in and out, and a tagged
///   frame arriving on it is dropped (`tagged_on_access`).
/// - `trunk(allowed, native:)`: frames of the allowed VLANs are tagged in and out; untagged frames
///   belong to the native VLAN when there is one and are dropped otherwise, as are frames tagged
///   with a VLAN not allowed (`vlan_not_allowed`). The native VLAN leaves the port untagged.
public enum PortVLANMode: Hashable, Sendable, CustomStringConvertible {
    case unaware
    case access(UInt16)
    case trunk(VLANSet, native: UInt16?)

    public var isAware: Bool { self != .unaware }

    /// The VLAN an untagged frame arriving here belongs to: 0 (unaware), the access VLAN, the
    /// trunk's native VLAN, or nil (an untagged frame on a trunk without one is dropped).
    public var untaggedVLAN: UInt16? {
        switch self {
        case .unaware: 0
        case let .access(vlan): vlan
        case let .trunk(_, native): native
        }
    }

    /// Whether the port carries `vlan` (0 for the unaware ports' domain).
    public func carries(_ vlan: UInt16) -> Bool {
        switch self {
        case .unaware: vlan == 0
        case let .access(id): vlan == id
        case let .trunk(allowed, native): vlan != 0 && (allowed.contains(vlan) || native == vlan)
        }
    }

    /// How the port sends frames of `vlan`, nil if it does not carry it.
    func form(for vlan: UInt16) -> EgressForm? {
        guard carries(vlan) else { return nil }
        switch self {
        case .unaware: return .asReceived
        case .access: return .untagged
        case let .trunk(_, native): return native == vlan ? .untagged : .tagged
        }
    }

    /// `unaware`, `access 10`, `trunk 10:20:30-40`, `trunk 10:20 native 1`.
    public var description: String {
        switch self {
        case .unaware: "unaware"
        case let .access(vlan): "access \(vlan)"
        case let .trunk(allowed, native): "trunk \(allowed)" + (native.map { " native \($0)" } ?? "")
        }
    }

    /// Checks the ids (1...4094) and that a trunk carries at least one VLAN.
    public func validate(port: PortID) throws(SwitchError) {
        switch self {
        case .unaware:
            return
        case let .access(vlan):
            guard VLANSet.validIDs.contains(vlan) else { throw .invalidVLAN(port: port, vlan: Int(vlan)) }
        case let .trunk(allowed, native):
            if let native, !VLANSet.validIDs.contains(native) { throw .invalidVLAN(port: port, vlan: Int(native)) }
            guard !allowed.isEmpty || native != nil else { throw .emptyTrunk(port: port) }
        }
    }
}

extension PortVLANMode {
    /// Writes the mode as flat keys, as the port syntax has them: `vlan` for an access port,
    /// `trunk` (the canonical list) and `native` for a trunk, nothing for an unaware port.
    public func encode<Key: CodingKey>(to container: inout KeyedEncodingContainer<Key>, vlan: Key, trunk: Key, native: Key) throws {
        switch self {
        case .unaware: break
        case let .access(id): try container.encode(id, forKey: vlan)
        case let .trunk(allowed, nativeVLAN):
            try container.encode(allowed, forKey: trunk)
            try container.encodeIfPresent(nativeVLAN, forKey: native)
        }
    }

    /// Reads what `encode(to:vlan:trunk:native:)` wrote; no key at all is an unaware port.
    public init<Key: CodingKey>(from container: KeyedDecodingContainer<Key>, vlan: Key, trunk: Key, native: Key) throws {
        if let id = try container.decodeIfPresent(UInt16.self, forKey: vlan) {
            self = .access(id)
        } else if let allowed = try container.decodeIfPresent(VLANSet.self, forKey: trunk) {
            self = .trunk(allowed, native: try container.decodeIfPresent(UInt16.self, forKey: native))
        } else {
            self = .unaware
        }
    }
}

/// How a port sends the frames of a VLAN it carries.
enum EgressForm: UInt8, Hashable, Sendable {
    /// Exactly as received (unaware ports).
    case asReceived
    /// Without a tag (access ports, a trunk's native VLAN).
    case untagged
    /// With the VLAN's tag (a trunk's other VLANs).
    case tagged

    /// What to do to a frame that arrived tagged or not, to send it in this form tagged with `vlan`.
    @inline(__always)
    func encoding(vlan: UInt16, taggedOnIngress: Bool) -> EgressEncoding {
        switch self {
        case .asReceived: .keep
        case .untagged: taggedOnIngress ? .pop : .keep
        case .tagged: taggedOnIngress ? .keep : .push(vlan)
        }
    }
}

/// What the forwarding path does to one copy of a frame before it writes it to a port.
public enum EgressEncoding: Hashable, Sendable, CustomStringConvertible {
    /// Send the bytes as received.
    case keep
    /// Insert an 802.1Q tag with this VLAN id after the source MAC (an untagged frame to a trunk).
    case push(UInt16)
    /// Remove the outer 802.1Q tag (a tagged frame to an access port or a trunk's native VLAN).
    case pop

    public var description: String {
        switch self {
        case .keep: "keep"
        case let .push(vlan): "push tag \(vlan)"
        case .pop: "pop tag"
        }
    }
}
