import Foundation
import L2Control
import L2Edge

/// The TAP devices behind a switch's ports: created here (in the root namespace), kernel sides
/// moved into their namespaces and renamed. Creation is all-or-nothing: a failure half-way closes
/// what was made, which removes those devices.
public final class TapPorts: Sendable {
    public let specs: [PortSpec]
    public let taps: [TapDevice]
    /// Frames the kernel queues towards the switch on each TAP before it drops.
    public static let txQueueLength = 4096

    /// Checks everything that can be checked before anything is created: names, MTUs, namespaces.
    public static func preflight(_ specs: [PortSpec]) throws {
        try validatePorts(specs)
        for spec in specs where !NetworkNamespace.exists(spec.namespace) {
            throw ConfigurationError("port \(spec.name): network namespace \(spec.namespace) does not exist; create it with `ip netns add \(spec.namespace)` or start the lab with `l2motion lab up`")
        }
        for spec in specs where NetworkNamespace.linkExists(spec.interface, in: spec.namespace) {
            throw ConfigurationError("port \(spec.name): namespace \(spec.namespace) already has an interface \(spec.interface); choose another ifname or remove it")
        }
    }

    /// With `offloads`, every TAP is opened with a virtio-net header and accepts partial checksums
    /// and TCP super-frames (TSO), so its kernel side sends 64 KiB super-frames instead of MTU-sized
    /// frames. All ports of a switch do the same, so a super-frame only ever goes to a port that
    /// takes super-frames.
    public let offloads: Bool

    public init(specs: [PortSpec], tapPrefix: String, offloads: Bool) throws {
        try Self.preflight(specs)
        var created: [TapDevice] = []
        do {
            for (index, spec) in specs.enumerated() {
                let tap = try TapDevice(name: "\(tapPrefix)\(index)", virtioHeader: offloads)
                created.append(tap)
                if offloads { try tap.setOffload([.checksum, .tcpSegmentation]) }
                // A longer queue on the kernel side (default 1000) absorbs bursts the forwarding
                // thread has not read yet, instead of dropping them (TCP then backs off).
                _ = try? CommandRunner.run(["ip", "link", "set", "dev", tap.name, "txqueuelen", String(Self.txQueueLength)])
                try NetworkNamespace.adopt(link: tap.name, as: .init(
                    namespace: spec.namespace, name: spec.interface, mtu: spec.mtu, address: spec.address?.description))
            }
        } catch {
            for tap in created { tap.close() }
            throw error
        }
        self.specs = specs
        self.taps = created
        self.offloads = offloads
    }

    public func closeAll() {
        for tap in taps { tap.close() }
    }
}
