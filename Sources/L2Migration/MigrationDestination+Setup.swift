import L2Guest

/// Setup: the hello must prove the migration key before anything is looked at; the spec must fit this
/// host (memory, port group label, datastore); the memory is allocated, then `specAccepted` answers.
extension MigrationDestination {
    /// The first hello of this endpoint: right migration, right protocol version, proof of the key;
    /// then the cipher both modes allow.
    mutating func acceptHello(id: MigrationID, version: UInt16, authentication: HelloAuthentication) -> [DestinationAction] {
        guard id == settings.migrationID else {
            return reject("hello for migration \(id), but the coordinator announced migration \(settings.migrationID)")
        }
        guard version == UInt16(MigrationWire.version) else {
            return reject("hello speaks protocol version \(version), this host speaks \(MigrationWire.version)")
        }
        guard authentication.isValid(id: id, key: settings.secret) else {
            return reject("authentication failed: the hello's code was not made with the key the coordinator gave this host for migration \(id)")
        }
        switch MigrationEncryptionMode.negotiate(source: authentication.encryption, destination: settings.encryption) {
        case let .failure(failure):
            let reason = "\(failure.reason) (source \(authentication.encryption), destination \(settings.encryption))"
            return send(.specRejected(reason: reason)) + discard("hello rejected: \(reason)")
        case let .success(chosen):
            cipher = chosen
            report.encryption = chosen
        }
        sourceNonce = authentication.nonce
        phase = .awaitingSpec
        return []
    }

    /// The VM's description: refused with the reason unless it fits this host; else memory is asked for.
    mutating func acceptSpec(_ spec: MigrationSpec) -> [DestinationAction] {
        if let problem = validate(spec) {
            return send(.specRejected(reason: problem)) + discard(problem)
        }
        self.spec = spec
        report.vmName = spec.vmName
        phase = .allocating
        return [.allocateMemory(spec)]
    }

    /// The driver created the VM's memory (zero-filled, `spec.memoryBytes` long).
    public mutating func memoryAllocated(_ memory: GuestMemory, now: UInt64) -> [DestinationAction] {
        guard phase == .allocating, let spec else { return [] }
        guard UInt64(memory.byteCount) == spec.memoryBytes else {
            return memoryAllocationFailed(reason: "allocated \(memory.byteCount) bytes, the spec needs \(spec.memoryBytes)", now: now)
        }
        self.memory = memory
        decoder.pageCount = memory.pageCount
        receivedHashes = [UInt64](repeating: PageHash.zeroPage, count: memory.pageCount)
        runningDigest = PageHash.Running()
        storedPages = [UInt64](repeating: 0, count: (memory.pageCount + 63) / 64)
        phase = .receiving
        lastActivity = now
        guard let sourceNonce, let cipher else { return [] }
        let acceptance = SpecAcceptance(id: settings.migrationID, cipher: cipher, sourceNonce: sourceNonce, nonce: nonce,
                                        spec: spec, key: settings.secret)
        let accepted = MigrationEncoder.encode(.specAccepted(acceptance))
        guard cipher == .aes256GCM else { return [.send(accepted)] }
        // From here on both directions are sealed. A legitimate source sends nothing between the spec and
        // our answer; anything buffered is treated as sealed (and fails unless it is).
        var secure = SecureChannel(secret: settings.secret, id: settings.migrationID, sourceNonce: sourceNonce,
                                   destinationNonce: nonce, role: .destination)
        do throws(SecureChannelError) {
            try decoder.startDecrypting(with: &secure)
        } catch {
            channel = secure
            return [.send(accepted)] + protocolFailure(.secureChannel(error))
        }
        channel = secure
        return [.send(accepted)] + decodeReceived(now: now)
    }

    /// The driver could not create the VM's memory.
    public mutating func memoryAllocationFailed(reason: String, now: UInt64) -> [DestinationAction] {
        guard phase == .allocating else { return [] }
        let text = "could not allocate the VM's memory: \(reason)"
        return send(.specRejected(reason: text)) + discard(text)
    }

    /// The driver resumed the VM (after `.resumeVM`): tells the source, with this time.
    private func validate(_ spec: MigrationSpec) -> String? {
        if spec.pageSize != UInt32(GuestMemory.pageSize) {
            return "page size \(spec.pageSize) is not supported (this host uses \(GuestMemory.pageSize))"
        }
        if spec.memoryBytes == 0 || spec.memoryBytes % UInt64(GuestMemory.pageSize) != 0 {
            return "memory size \(spec.memoryBytes) is not a positive multiple of \(GuestMemory.pageSize)"
        }
        if spec.memoryBytes > settings.maxMemoryBytes {
            return "VM \(spec.vmName) needs \(spec.memoryBytes) bytes of memory; this host allows at most \(settings.maxMemoryBytes)"
        }
        if !settings.portGroups.contains(spec.portGroup) {
            let have = settings.portGroups.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return "port group \"\(spec.portGroup)\" not found on this host (it has: \(have)); labels must match exactly, case included"
        }
        if let datastores = settings.datastores, !datastores.contains(spec.datastore) {
            let have = datastores.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return "datastore \"\(spec.datastore)\" is not mounted on this host (it has: \(have)); the VM's files must be on shared storage"
        }
        return nil
    }

    private mutating func reject(_ reason: String) -> [DestinationAction] {
        send(.abort(reason: reason)) + discard("hello rejected: \(reason)")
    }

}
