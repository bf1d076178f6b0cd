import L2Edge
import L2Guest
import L2Migration

/// The destination's side of switchover-ack: can the VM resume here at once? Its port group is on the
/// host's virtual switch, the uplink is up with a carrier, and every page received so far is resident
/// in memory (none swapped out or dropped), so the resume touches nothing the kernel must fetch.
struct SwitchoverReadiness {
    /// Nil when the VM can resume at once; else why not, in words that say what to fix.
    var refusal: String?
    /// What was checked, in words (shown in the migration report).
    var detail: String

    static func check(host: HostDaemon, vm: HostedVM?, spec: MigrationSpec?, storedPages: [UInt64]) -> SwitchoverReadiness {
        let hostName = host.settings.name
        guard let vm, let spec else {
            return SwitchoverReadiness(refusal: "no memory is allocated for the VM on \(hostName)", detail: "")
        }
        let labels = host.portGroupLabels()
        guard labels.contains(spec.portGroup) else {
            let existing = labels.isEmpty ? "none" : labels.map { "\"\($0)\"" }.joined(separator: ", ")
            return SwitchoverReadiness(refusal: "port group \"\(spec.portGroup)\" is no longer on \(hostName) (it has: \(existing)); add it back (l2motion host port-group add) and migrate again", detail: "")
        }
        let uplink = host.uplink.interface
        do {
            let state = try host.uplink.linkState()
            guard state.up else {
                return SwitchoverReadiness(refusal: "uplink \(uplink) of \(hostName) is administratively down; bring it up (ip link set \(uplink) up) and migrate again", detail: "")
            }
            guard state.carrier else {
                return SwitchoverReadiness(refusal: "uplink \(uplink) of \(hostName) has no carrier (its switch port is down or unplugged); the VM would be cut off after the resume", detail: "")
            }
        } catch {
            return SwitchoverReadiness(refusal: "cannot read the state of uplink \(uplink) of \(hostName): \(error)", detail: "")
        }
        let memory = vm.memory
        let stored = storedPages.reduce(0) { $0 + $1.nonzeroBitCount }
        var missing = 0
        if let resident = PageResidency.inMemory(base: UnsafeRawPointer(memory.base), pageCount: memory.pageCount),
           resident.count == storedPages.count {
            for (word, bits) in storedPages.enumerated() { missing += (bits & ~resident[word]).nonzeroBitCount }
        }
        guard missing == 0 else {
            return SwitchoverReadiness(refusal: "\(missing) of the \(stored) pages received for \(spec.vmName) are not resident on \(hostName) (memory pressure); free memory and migrate again", detail: "")
        }
        let mib = memory.byteCount >> 20
        return SwitchoverReadiness(refusal: nil, detail: "port group \"\(spec.portGroup)\" attached, uplink \(uplink) up, \(mib) MiB allocated with all \(stored) received pages resident")
    }
}
