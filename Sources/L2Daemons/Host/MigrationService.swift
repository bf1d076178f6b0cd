import L2Control

/// The host's migration endpoint (filled in with the migration engine).
final class MigrationService: @unchecked Sendable {
    unowned let host: HostDaemon
    init(host: HostDaemon) { self.host = host }
    func startListening() throws {}
    func stop() {}
    func handle(_ request: ControlRequest) -> ControlReply? { nil }
}
