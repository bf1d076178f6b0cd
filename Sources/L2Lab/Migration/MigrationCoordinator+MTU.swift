import L2Control
import L2Edge
import L2Wire

/// The MTU preflight: before anything moves, the vMotion path must carry frames of the vMotion
/// interface's full MTU with Don't Fragment set (vCenter's `vmkping -d -s 8972`). A path that does
/// not (a switch port or a vmk left at 1500 on a 9000 segment) passes the small pings of the reach
/// check and then stalls the first full-size segment of the stream; this finds it in milliseconds.
extension MigrationCoordinator {
    /// Probes each vMotion path from the source host (vmk1 to the destination's vmk1, and the other
    /// Multi-NIC pairs when the lanes use them), which runs the probe in its own namespace wherever
    /// it runs; adds one line per path to the checks.
    func checkMTU(_ preflight: inout Preflight, source: String, sourceInterface: String) throws {
        let paths = preflight.paths.isEmpty ? [VMotionPath(interface: sourceInterface, destination: preflight.vmotionAddress)] : preflight.paths
        for path in paths {
            let result = try directory.host(source, HostCall.vmotionMTUProbe(interface: path.interface, to: path.destination))
            guard let mtu = result.mtu else {
                throw MigrationError("\(source): \(result.failure ?? "cannot read the MTU of \(path.interface)"); migrate with --skip-mtu-check to go without the MTU check")
            }
            guard result.carried else {
                throw MigrationError("the vMotion path \(source) \(path) does not carry \(mtu)-byte frames with DF set: \(result.failure ?? "no reply"); check the vMotion switch port's and the vmk's MTU (both ends), or migrate with --skip-mtu-check")
            }
            preflight.checks.append("MTU: \(path) carries \(mtu)-byte frames with DF set (ping -M do -s \(mtu - MTUProbe.headerBytes))")
        }
    }
}
