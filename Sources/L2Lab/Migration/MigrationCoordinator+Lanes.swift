import L2Control
import L2Wire

/// Several streams and Multi-NIC vMotion in the preflight: when both hosts have more than one vMotion
/// NIC of the same name (vmk1, vmk2), the lanes alternate over them (lane k over NIC k mod the
/// count), each pair checked to reach its peer first; with one shared NIC every lane goes over vmk1.
extension MigrationCoordinator {
    func planLanes(_ preflight: inout Preflight, streams: Int, source: (name: String, info: HostInfo),
                   destination: (name: String, info: HostInfo)) throws {
        let sourceNICs = source.info.vmotionNICs ?? []
        let destinationNICs = destination.info.vmotionNICs ?? []
        let pairs = sourceNICs.compactMap { nic in
            destinationNICs.first { $0.interface == nic.interface }.map { (nic, $0) }
        }
        guard pairs.count > 1, pairs[0].0.interface == source.info.vmkernel else {
            preflight.checks.append("streams: \(streams) lanes, all over \(source.info.vmkernel) (the hosts share one vMotion NIC)")
            return
        }
        for (local, remote) in pairs.dropFirst() {
            guard try directory.host(source.name, HostCall.vmotionReach(remote.address)).reached else {
                throw MigrationError("\(source.name)'s \(local.interface) \(local.address) cannot reach \(destination.name)'s \(remote.interface) \(remote.address); check the second vMotion segment, or migrate with --streams 1")
            }
        }
        preflight.paths = pairs.map { VMotionPath(interface: $0.0.interface, destination: $0.1.address) }
        let used = pairs.prefix(streams)
        let lanes = used.map { local, remote in "\(local.interface) \(local.address) → \(remote.address)" }.joined(separator: ", ")
        preflight.checks.append("Multi-NIC vMotion: \(streams) lanes alternate over \(lanes)")
    }
}
