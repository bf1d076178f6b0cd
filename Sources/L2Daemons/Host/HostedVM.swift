import Foundation
import L2Guest
import L2Wire

/// A VM on this host plus the lock that serialises the threads touching it (the uplink reader, the
/// vCPU ticker, the control socket, a migration). Frames that arrive while the VM is stunned are
/// queued here, bounded, so a migration can carry them to the destination instead of losing them.
final class HostedVM: @unchecked Sendable {
    static let maximumQueuedFrames = 4096

    let datastore: String
    private let lock = NSLock()
    private let vm: VirtualMachine
    private var queued: [[UInt8]] = []
    private var queueOverflow = 0
    /// Set while the VM is stunned for switchover: frames for it go to `queued`.
    private var holdingFrames = false

    init(vm: VirtualMachine, datastore: String) {
        self.vm = vm
        self.datastore = datastore
    }

    var configuration: VMConfiguration { vm.configuration }
    var mac: MACAddress { vm.configuration.mac }
    var name: String { vm.configuration.name }
    /// Guest memory is thread-safe for a migration's copier; everything else goes through `with`.
    var memory: GuestMemory { vm.memory }

    /// Frames dropped because the stun queue was full.
    var framesDroppedWhileStunned: Int { lock.withLock { queueOverflow } }

    func with<R>(_ body: (VirtualMachine) throws -> R) rethrows -> R {
        try lock.withLock { try body(vm) }
    }

    /// Delivers a frame: answered now, or queued while the VM is stunned.
    func deliver(_ frame: ArraySlice<UInt8>, now: UInt64) -> [[UInt8]] {
        lock.withLock {
            if holdingFrames {
                if queued.count < Self.maximumQueuedFrames { queued.append(Array(frame)) } else { queueOverflow += 1 }
                return []
            }
            return vm.handle(frame: frame, now: now)
        }
    }

    /// Stuns the VM and starts queueing its frames.
    func stun(now: UInt64) throws {
        try lock.withLock {
            try vm.stun(now: now)
            holdingFrames = true
        }
    }

    /// Takes the frames queued since the stun (and keeps queueing until `stopHolding`).
    func takeQueuedFrames() -> [[UInt8]] {
        lock.withLock {
            let frames = queued
            queued.removeAll()
            return frames
        }
    }

    /// Stops queueing; returns what was still queued (to answer locally or forward).
    func stopHolding() -> [[UInt8]] {
        lock.withLock {
            holdingFrames = false
            let frames = queued
            queued.removeAll()
            return frames
        }
    }

    /// Answers frames that were queued while it was stunned (after a failed switchover).
    func answer(_ frames: [[UInt8]], now: UInt64) -> [[UInt8]] {
        lock.withLock { frames.flatMap { vm.handle(frame: $0[...], now: now) } }
    }
}
