import L2Control

extension HostDaemon {
    /// Answers one control request; a bad request gets an error reply and the host keeps running.
    func handle(_ request: ControlRequest) -> ControlReply {
        do {
            switch request.command {
            case "status", "host-info":
                return .result(info())
            case "power-on":
                let vm = try request.required("vm")
                let datastore = try request.required("datastore")
                return .result(try powerOn(vm: vm, datastore: datastore))
            case "power-off":
                try powerOff(vm: try request.required("vm"))
                return .done
            case "list-vms":
                let hosted = stateLock.withLock { vms.values.sorted { $0.name < $1.name } }
                let scan = request.arguments["scan"] != "false"
                return .result(hosted.map { summary(of: $0, scanMemory: scan) })
            case "vm-stats":
                return .result(summary(of: try hostedVM(try request.required("vm"))))
            default:
                if let reply = migrations.handle(request) { return reply }
                return .failure("unknown command \"\(request.command)\"; the host knows host-info, power-on, power-off, list-vms, vm-stats, migrate-prepare, migrate-send, migration-status, migration-resolve")
            }
        } catch {
            return .failure("\(error)")
        }
    }
}

extension ControlRequest {
    /// The argument `key`, or an error naming it.
    public func required(_ key: String) throws -> String {
        guard let value = arguments[key], !value.isEmpty else {
            throw ConfigurationError("\"\(command)\" needs the argument \"\(key)\"")
        }
        return value
    }
}
