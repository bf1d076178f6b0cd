import Synchronization

/// A switch port on a TAP device: one frame per `read` and `write`, after a virtio-net header when
/// the device was opened with one. Carrier changes reach the device (`TUNSETCARRIER`), so the kernel
/// side sees the cable pulled.
public final class TapPort: SwitchPort {
    public let device: TapDevice
    private let carrier = Atomic<Bool>(true)

    public init(_ device: TapDevice) { self.device = device }

    public var name: String { device.name }

    public var channel: FrameChannel {
        FrameChannel(descriptor: device.descriptor.rawValue, acceptsOffloads: device.hasVirtioHeader)
    }

    public var hasCarrier: Bool { carrier.load(ordering: .relaxed) }

    public func setCarrier(_ on: Bool) throws(SystemError) {
        try device.setCarrier(on)
        carrier.store(on, ordering: .relaxed)
    }

    public func close() { device.close() }
}
