import L2Guest
import L2Wire

/// Everything a host daemon's control socket serves, one case per command, typed arguments.
/// On the wire: `{"power-on":{"vm":"web01","datastore":"ds01"}}`, `{"host-info":{}}`,
/// `{"port-group-remove":{"label":"Production"}}`.
public enum HostRequest: ControlRequestKind, Equatable {
    /// The host's name, interfaces, memory, port groups, datastores and VMs → `HostInfo`.
    case hostInfo
    /// Power on a VM from a datastore, its workload writing at `dirtyRate` if given (else at its
    /// preset's rate) → `VMSummary`.
    case powerOn(vm: String, datastore: String, dirtyRate: DirtyRate? = nil)
    /// Power off a VM → `Nothing`.
    case powerOff(vm: String)
    /// The VMs here; `scan: false` skips the memory scan (cheap, for look-ups) → `[VMSummary]`.
    case listVMs(scan: Bool)
    /// One VM's figures → `VMSummary`.
    case vmStats(vm: String)
    /// Destination preflight and arming of the listener for one migration → `PrepareResult`.
    case migratePrepare(arguments: MigratePrepareArguments)
    /// Source: run the migration to its end → `MigrationProgress` (the final record).
    case migrateSend(arguments: MigrateSendArguments)
    /// One migration's record on this host → `MigrationProgress`.
    case migrationStatus(id: String)
    /// The coordinator's decision for a migration whose end this host could not see → `ResolveResult`.
    case migrationResolve(id: String, decision: ResolveDecision)
    /// Drop a migration this host prepared or runs → `Nothing`. For a destination paused in post-copy
    /// whose source is gone: stop the VM (it is lost).
    case migrateCancel(id: String)
    /// Source: reconnect a migration paused in post-copy and run it to its end → `MigrationProgress`.
    case migrateRecover(id: String)
    /// The migrations paused in post-copy here, either side → `[MigrationProgress]`.
    case pausedMigrations
    /// Whether a file the coordinator made on the source's datastore is visible here → `ProbeResult`.
    case datastoreProbe(datastore: String, file: String)
    /// Create (or, with `remove`, delete) an empty probe file in a datastore's folder as this host
    /// mounts it, for a coordinator that cannot write there itself (the host is on another machine):
    /// the shared-storage preflight's mark. `file` must be a `DatastoreMark` name → `Nothing`.
    case datastoreMark(datastore: String, file: String, remove: Bool)
    /// Whether the vMotion interface reaches an address → `ReachResult`.
    case vmotionReach(address: IPv4Address)
    /// Whether the path from vMotion interface `interface` to `address` carries frames of the
    /// interface's full MTU with DF set (`vmkping -d -s 8972`) → `MTUProbeResult`.
    case vmotionMTUProbe(interface: String, address: IPv4Address)
    /// Add a port group to the host's virtual switch (`esxcli network vswitch standard portgroup add`),
    /// on VLAN `vlan` (nil or 0: untagged) with its forged-transmits policy (nil: accept) → the port
    /// groups now, `[PortGroup]`.
    case addPortGroup(label: String, vlan: UInt16? = nil, forgedTransmits: ForgedTransmitsPolicy? = nil)
    /// Remove a port group no VM on this host uses → the port groups now, `[PortGroup]`.
    case removePortGroup(label: String)
    /// Make a VM send frames whose source MAC is another's, through its host's virtual switch (a
    /// spoofing guest) → `SendAsResult`.
    case sendAs(arguments: SendAsArguments)

    enum CodingKeys: String, CodingKey, CaseIterable {
        case hostInfo = "host-info"
        case powerOn = "power-on"
        case powerOff = "power-off"
        case listVMs = "list-vms"
        case vmStats = "vm-stats"
        case migratePrepare = "migrate-prepare"
        case migrateSend = "migrate-send"
        case migrationStatus = "migration-status"
        case migrationResolve = "migration-resolve"
        case migrateCancel = "migrate-cancel"
        case migrateRecover = "migrate-recover"
        case pausedMigrations = "paused-migrations"
        case datastoreProbe = "datastore-probe"
        case datastoreMark = "datastore-mark"
        case vmotionReach = "vmotion-reach"
        case vmotionMTUProbe = "vmotion-mtu-probe"
        case addPortGroup = "port-group-add"
        case removePortGroup = "port-group-remove"
        case sendAs = "send-as"
    }

    enum AddPortGroupCodingKeys: String, CodingKey {
        case label, vlan
        case forgedTransmits = "forged-transmits"
    }

    enum PowerOnCodingKeys: String, CodingKey {
        case vm, datastore
        case dirtyRate = "dirty-rate"
    }

    public static let daemon = "host"
    public static var commands: [String] { CodingKeys.allCases.map(\.rawValue) }

    public var command: String {
        let key: CodingKeys = switch self {
        case .hostInfo: .hostInfo
        case .powerOn: .powerOn
        case .powerOff: .powerOff
        case .listVMs: .listVMs
        case .vmStats: .vmStats
        case .migratePrepare: .migratePrepare
        case .migrateSend: .migrateSend
        case .migrationStatus: .migrationStatus
        case .migrationResolve: .migrationResolve
        case .migrateCancel: .migrateCancel
        case .migrateRecover: .migrateRecover
        case .pausedMigrations: .pausedMigrations
        case .datastoreProbe: .datastoreProbe
        case .datastoreMark: .datastoreMark
        case .vmotionReach: .vmotionReach
        case .vmotionMTUProbe: .vmotionMTUProbe
        case .addPortGroup: .addPortGroup
        case .removePortGroup: .removePortGroup
        case .sendAs: .sendAs
        }
        return key.rawValue
    }
}

/// The host's calls, each with its reply type.
public enum HostCall {
    public static let hostInfo = ControlCall<HostRequest, HostInfo>(.hostInfo)
    public static func powerOn(_ vm: String, datastore: String, dirtyRate: DirtyRate? = nil) -> ControlCall<HostRequest, VMSummary> {
        .init(.powerOn(vm: vm, datastore: datastore, dirtyRate: dirtyRate))
    }
    public static func powerOff(_ vm: String) -> ControlCall<HostRequest, Nothing> { .init(.powerOff(vm: vm)) }
    public static func listVMs(scan: Bool = true) -> ControlCall<HostRequest, [VMSummary]> { .init(.listVMs(scan: scan)) }
    public static func vmStats(_ vm: String) -> ControlCall<HostRequest, VMSummary> { .init(.vmStats(vm: vm)) }
    public static func migratePrepare(_ arguments: MigratePrepareArguments) -> ControlCall<HostRequest, PrepareResult> { .init(.migratePrepare(arguments: arguments)) }
    public static func migrateSend(_ arguments: MigrateSendArguments) -> ControlCall<HostRequest, MigrationProgress> { .init(.migrateSend(arguments: arguments)) }
    public static func migrationStatus(_ id: String) -> ControlCall<HostRequest, MigrationProgress> { .init(.migrationStatus(id: id)) }
    public static func migrationResolve(_ id: String, _ decision: ResolveDecision) -> ControlCall<HostRequest, ResolveResult> { .init(.migrationResolve(id: id, decision: decision)) }
    public static func migrateCancel(_ id: String) -> ControlCall<HostRequest, Nothing> { .init(.migrateCancel(id: id)) }
    public static func migrateRecover(_ id: String) -> ControlCall<HostRequest, MigrationProgress> { .init(.migrateRecover(id: id)) }
    public static let pausedMigrations = ControlCall<HostRequest, [MigrationProgress]>(.pausedMigrations)
    public static func datastoreProbe(_ datastore: String, file: String) -> ControlCall<HostRequest, ProbeResult> { .init(.datastoreProbe(datastore: datastore, file: file)) }
    public static func datastoreMark(_ datastore: String, file: String, remove: Bool) -> ControlCall<HostRequest, Nothing> {
        .init(.datastoreMark(datastore: datastore, file: file, remove: remove))
    }
    public static func vmotionReach(_ address: IPv4Address) -> ControlCall<HostRequest, ReachResult> { .init(.vmotionReach(address: address)) }
    public static func vmotionMTUProbe(interface: String, to address: IPv4Address) -> ControlCall<HostRequest, MTUProbeResult> {
        .init(.vmotionMTUProbe(interface: interface, address: address))
    }
    public static func addPortGroup(_ label: String, vlan: UInt16? = nil, forgedTransmits: ForgedTransmitsPolicy? = nil) -> ControlCall<HostRequest, [PortGroup]> {
        .init(.addPortGroup(label: label, vlan: vlan, forgedTransmits: forgedTransmits))
    }
    public static func removePortGroup(_ label: String) -> ControlCall<HostRequest, [PortGroup]> { .init(.removePortGroup(label: label)) }
    public static func sendAs(_ arguments: SendAsArguments) -> ControlCall<HostRequest, SendAsResult> { .init(.sendAs(arguments: arguments)) }
}
