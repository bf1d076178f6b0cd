import L2Control
import L2Edge
import L2Wire

/// The MTU preflight: before anything moves, the vMotion path must carry frames of the vMotion
/// interface's full MTU with Don't Fragment set (vCenter's `vmkping -d -s 8972`). A path that does
/// not (a switch port or a vmk left at 1500 on a 9000 segment) passes the small pings of the reach
/// check and then stalls the first full-size segment of the stream; this finds it in milliseconds.
extension MigrationCoordinator {
    /// Probes each vMotion path from the source host's namespace (vmk1 to the destination's vmk1,
    /// and the other Multi-NIC pairs when the lanes use them); adds one line per path to the checks.
    func checkMTU(_ preflight: inout Preflight, source: String, sourceInterface: String) throws {
        let lab = directory.folder.lab
        let namespace = LabState.load(lab: lab)?.topology.namespace(of: source) ?? "\(lab)-\(source)"
        let paths = preflight.paths.isEmpty ? [VMotionPath(interface: sourceInterface, destination: preflight.vmotionAddress)] : preflight.paths
        for path in paths {
            let mtu: Int
            do {
                let link = try CommandRunner.run(inNamespace: namespace, MTUProbe.linkArguments(interface: path.interface))
                guard let value = MTUProbe.mtu(fromLink: link) else { throw MigrationError("`ip -o link show` printed no MTU: \(link)") }
                mtu = value
            } catch {
                throw MigrationError("cannot read the MTU of \(source)'s \(path.interface) in namespace \(namespace): \(error); migrate with --skip-mtu-check to go without the MTU check")
            }
            do {
                try CommandRunner.run(inNamespace: namespace, MTUProbe.pingArguments(interface: path.interface, mtu: mtu, to: path.destination))
            } catch let error as CommandError {
                throw MigrationError("the vMotion path \(source) \(path) does not carry \(mtu)-byte frames with DF set: \(MTUProbe.failure(standardError: error.standardError, mtu: mtu)); check the vMotion switch port's and the vmk's MTU (both ends), or migrate with --skip-mtu-check")
            }
            preflight.checks.append("MTU: \(path) carries \(mtu)-byte frames with DF set (ping -M do -s \(mtu - MTUProbe.headerBytes))")
        }
    }
}
