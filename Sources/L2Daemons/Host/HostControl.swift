import L2Control
import L2Guest

extension HostDaemon {
    /// Answers one control request; a refused request gets an error reply with its code and the host
    /// keeps running.
    func handle(_ request: HostRequest) -> ControlReply {
        do {
            switch request {
            case .hostInfo:
                return .result(info())
            case let .powerOn(vm, datastore, dirtyRate):
                return .result(try powerOn(vm: vm, datastore: datastore, dirtyRate: dirtyRate))
            case let .powerOff(vm):
                try powerOff(vm: vm)
                return .done
            case let .listVMs(scan):
                let hosted = stateLock.withLock { vms.values.sorted { $0.name < $1.name } }
                return .result(hosted.map { summary(of: $0, scanMemory: scan) })
            case let .vmStats(vm):
                return .result(summary(of: try hostedVM(vm)))
            case let .migratePrepare(arguments):
                return .result(try migrations.prepare(arguments))
            case let .migrateSend(arguments):
                return .result(try migrations.send(arguments))
            case let .migrationStatus(id):
                return .result(try migrations.status(id))
            case let .migrationResolve(id, decision):
                return .result(try migrations.resolve(id, decision))
            case let .migrateCancel(id):
                migrations.cancel(id)
                return .done
            case let .migrateRecover(id):
                return .result(try migrations.recover(id))
            case .pausedMigrations:
                return .result(migrations.pausedMigrations())
            case let .datastoreProbe(datastore, file):
                return .result(try migrations.probe(datastore: datastore, file: file))
            case let .datastoreMark(datastore, file, remove):
                try markDatastore(datastore, file: file, remove: remove)
                return .done
            case let .vmotionReach(address):
                return .result(migrations.reach(address))
            case let .vmotionMTUProbe(interface, address):
                return .result(try migrations.probeMTU(interface: interface, to: address))
            case let .addPortGroup(label, vlan, forgedTransmits):
                return .result(try addPortGroup(PortGroup(label: label, vlanID: vlan ?? 0, forgedTransmits: forgedTransmits ?? .accept)))
            case let .removePortGroup(label):
                return .result(try removePortGroup(label: label))
            case let .sendAs(arguments):
                return .result(try sendAs(arguments))
            }
        } catch {
            return .failure(ControlError(wrapping: error))
        }
    }
}
