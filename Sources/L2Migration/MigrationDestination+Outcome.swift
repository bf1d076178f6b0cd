import L2Guest

/// Commit or abort: before the VM resumes here every failure discards what the migration created;
/// after it, the VM keeps running and the coordinator decides (never two running copies, never a
/// silent kill).
extension MigrationDestination {
    /// A malformed, unexpected or unopenable message: discard before the resume, ask the coordinator after.
    mutating func protocolFailure(_ error: MigrationProtocolError) -> [DestinationAction] {
        switch phase {
        case .awaitingHello, .awaitingSpec, .allocating, .receiving:
            return send(.abort(reason: error.description)) + discard(error.description)
        case .resuming, .running, .postcopyActive, .postcopyPaused:
            return awaitCoordinator("after the VM resumed here: \(error.description)")
        case .committed, .discarded, .awaitingCoordinator:
            return []
        }
    }

    /// Frees what this migration created; the VM stays on the source.
    mutating func discard(_ reason: String) -> [DestinationAction] {
        phase = .discarded
        memory = nil
        receivedHashes = []
        runningDigest = PageHash.Running()
        storedPages = []
        return [.discard(reason: reason)]
    }

    /// The VM runs here but the source never committed: the coordinator decides.
    mutating func awaitCoordinator(_ reason: String) -> [DestinationAction] {
        phase = .awaitingCoordinator
        return [.awaitCoordinator(reason: reason)]
    }
}
