import L2Lab

/// The running lab, VM and client a continuity probe (`ping-test`, `tcp-test`) uses: the named ones,
/// or the lab's first VM and first client; a clear error otherwise.
struct ProbeTarget {
    let state: LabState
    let vm: VMNode
    let client: ClientNode

    init(lab: String, vm name: String?, client clientName: String?) throws {
        guard let state = LabState.load(lab: lab) else {
            throw UserFacingError("lab \(lab) is not up; start it with `l2motion lab up`")
        }
        guard let vm = name.flatMap({ state.topology.vm(named: $0) }) ?? (name == nil ? state.topology.vms.first : nil) else {
            throw UserFacingError("no VM \(name ?? "") in lab \(state.name) (VMs: \(state.topology.vms.map(\.name).joined(separator: ", ")))")
        }
        guard let client = clientName.flatMap({ state.topology.client(named: $0) })
                ?? (clientName == nil ? state.topology.clients.first : nil) else {
            throw UserFacingError("no client \(clientName ?? "") in lab \(state.name)")
        }
        self.state = state
        self.vm = vm
        self.client = client
    }
}
