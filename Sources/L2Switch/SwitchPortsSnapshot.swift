import L2Wire

/// One port's set-up and state for `switch-ports`: its VLAN mode, MTU, port security, and whether
/// it is up, down or shut by a security violation (`err-disabled`). JSON keys are snake_case like
/// the other snapshots'; `vlan` (access), `trunk`/`native` (trunk) and `security` appear when set.
public struct SwitchPortSnapshot: Hashable, Sendable, Codable {
    public var port: PortID
    public var name: String
    /// `up`, `down` or `err-disabled`.
    public var state: String
    /// `unaware`, `access` or `trunk`.
    public var mode: String
    public var vlan: UInt16?
    public var trunk: VLANSet?
    public var native: UInt16?
    public var mtu: Int
    public var security: PortSecurity?
    public var macCount: Int
    public var movesIgnored: UInt64
    public var securityViolations: UInt64

    public init(port: PortID, configuration: PortConfiguration, errDisabled: Bool, counters: PortCounters, macCount: Int) {
        self.port = port
        name = configuration.name
        state = errDisabled ? "err-disabled" : configuration.isUp ? "up" : "down"
        switch configuration.vlanMode {
        case .unaware:
            mode = "unaware"
        case let .access(id):
            mode = "access"
            vlan = id
        case let .trunk(allowed, nativeVLAN):
            mode = "trunk"
            trunk = allowed
            native = nativeVLAN
        }
        mtu = configuration.mtu
        security = configuration.security
        self.macCount = macCount
        movesIgnored = counters.movesIgnored
        securityViolations = counters.rxDrops.securityViolation
    }

    /// The mode as a person reads it: `-`, `access 10`, `trunk 10:20 native 1`.
    public var modeDescription: String {
        switch mode {
        case "access": "access \(vlan ?? 0)"
        case "trunk": "trunk \(trunk?.description ?? "")" + (native.map { " native \($0)" } ?? "")
        default: "-"
        }
    }

    enum CodingKeys: String, CodingKey {
        case port, name, state, mode, vlan, trunk, native, mtu, security
        case macCount = "mac_count"
        case movesIgnored = "moves_ignored"
        case securityViolations = "security_violations"
    }
}

/// What one VLAN carried, for `switch-ports`: its member ports, learned stations and counters.
public struct VLANSnapshot: Hashable, Sendable, Codable {
    public var vlan: UInt16
    /// Member ports' names, in port order (up or not).
    public var ports: [String]
    public var macCount: Int
    public var frames: UInt64
    public var bytes: UInt64
    public var floods: UInt64

    public init(vlan: UInt16, ports: [String], macCount: Int, counters: VLANCounters) {
        self.vlan = vlan
        self.ports = ports
        self.macCount = macCount
        frames = counters.frames
        bytes = counters.bytes
        floods = counters.floods
    }

    enum CodingKeys: String, CodingKey {
        case vlan, ports, frames, bytes, floods
        case macCount = "mac_count"
    }
}

/// `switch-ports`' answer: every port, and every VLAN that two ports carry or that carried frames
/// (VLAN 0 for the unaware ports of a switch that also has VLAN-aware ones; a trunk allowing
/// 1-4094 alone does not list 4094 VLANs). An unaware switch lists no VLANs.
public struct SwitchPortsSnapshot: Hashable, Sendable, Codable {
    public var ports: [SwitchPortSnapshot]
    public var vlans: [VLANSnapshot]

    public init(ports: [SwitchPortSnapshot], vlans: [VLANSnapshot]) {
        self.ports = ports
        self.vlans = vlans
    }
}

extension SwitchCore {
    /// Every port's set-up and state, and the per-VLAN counters, at `now`.
    public func portsSnapshot(at now: UInt64) -> SwitchPortsSnapshot {
        let ordered = ports.sorted { $0.id < $1.id }
        let rows = ordered.map {
            SwitchPortSnapshot(port: $0.id, configuration: $0.configuration, errDisabled: $0.errDisabled, counters: $0.counters,
                               macCount: macTable.count(on: $0.id))
        }
        guard vlanAware else { return SwitchPortsSnapshot(ports: rows, vlans: []) }
        var macs: [UInt16: Int] = [:]
        for entry in macTable.entries(at: now) { macs[entry.vlan, default: 0] += 1 }
        var vlans: [VLANSnapshot] = []
        for vlan in 0...VLANSet.validIDs.upperBound {
            let members = ordered.filter { $0.configuration.vlanMode.carries(vlan) }
            guard members.count >= 2 || (!members.isEmpty && vlanCounters[Int(vlan)].frames > 0) else { continue }
            vlans.append(VLANSnapshot(vlan: vlan, ports: members.map(\.configuration.name), macCount: macs[vlan] ?? 0,
                                      counters: vlanCounters[Int(vlan)]))
        }
        return SwitchPortsSnapshot(ports: rows, vlans: vlans)
    }
}
