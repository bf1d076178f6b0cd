import Foundation
import L2Control
import L2Edge

/// The TAP devices behind a switch's `tap` ports: created here (in the root namespace), kernel sides
/// moved into their namespaces and renamed.
enum TapPorts {
    /// Frames the kernel queues towards the switch on each TAP before it drops.
    static let txQueueLength = 4096

    /// What can be checked before anything is created: the namespace exists, the name is free there.
    static func preflight(_ spec: PortSpec) throws {
        guard NetworkNamespace.exists(spec.namespace) else {
            throw ConfigurationError("port \(spec.name): network namespace \(spec.namespace) does not exist; create it with `ip netns add \(spec.namespace)` or start the lab with `l2motion lab up`")
        }
        if NetworkNamespace.linkExists(spec.interface, in: spec.namespace) {
            throw ConfigurationError("port \(spec.name): namespace \(spec.namespace) already has an interface \(spec.interface); choose another ifname, remove it, or join it with attach=\(spec.interface),netns=\(spec.namespace)")
        }
    }

    /// With `offloads`, the TAP is opened with a virtio-net header and accepts partial checksums and
    /// TCP super-frames (TSO), so its kernel side sends 64 KiB super-frames instead of MTU-sized frames.
    static func make(_ spec: PortSpec, name: String, offloads: Bool) throws -> TapDevice {
        let tap = try TapDevice(name: name, virtioHeader: offloads)
        do {
            if offloads { try tap.setOffload([.checksum, .tcpSegmentation]) }
            // A longer queue on the kernel side (default 1000) absorbs bursts the forwarding thread has
            // not read yet, instead of dropping them (TCP then backs off).
            _ = try? CommandRunner.run(["ip", "link", "set", "dev", tap.name, "txqueuelen", String(txQueueLength)])
            try NetworkNamespace.adopt(link: tap.name, as: .init(
                namespace: spec.namespace, name: spec.interface, mtu: spec.mtu, address: spec.address?.description,
                ipv6Addresses: spec.addresses6.map(\.description)))
        } catch {
            tap.close()
            throw error
        }
        return tap
    }
}
