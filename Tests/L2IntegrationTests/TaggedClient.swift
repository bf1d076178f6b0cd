import Foundation
import L2Edge
import L2Wire
#if canImport(Glibc)
import Glibc
#endif

/// A client that speaks 802.1Q itself, for machines whose kernel has no VLAN subinterfaces (no 8021q
/// module): an AF_PACKET socket on an interface of a lab namespace, opened from a thread that joined
/// that namespace for the moment it takes (a socket keeps the namespace it was made in). It sends
/// frames as given, tags included, and receives them as they were on the wire (`PacketSocket.receive`
/// puts back the tag the kernel takes off).
final class TaggedClient: @unchecked Sendable {
    let socket: PacketSocket
    let mac: MACAddress
    let ip: IPv4Address

    init(namespace: String, interface: String, mac: MACAddress, ip: IPv4Address) throws {
        self.mac = mac
        self.ip = ip
        socket = try Self.openSocket(namespace: namespace, interface: interface)
    }

    /// Opens the socket on a thread of its own inside `namespace`; that thread ends right after.
    static func openSocket(namespace: String, interface: String) throws -> PacketSocket {
        let result = LockedValue(Result<PacketSocket, any Error>.failure(RootEnvironmentError(message: "the namespace thread did not run")))
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            let descriptor = open(NetworkNamespace.path(namespace), O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                result.set(.failure(RootEnvironmentError(message: "cannot open \(NetworkNamespace.path(namespace)): errno \(errno)")))
                return
            }
            defer { close(descriptor) }
            guard Self.setNetworkNamespace(descriptor) == 0 else {
                result.set(.failure(RootEnvironmentError(message: "setns into \(namespace) failed: errno \(errno)")))
                return
            }
            result.set(Result { try PacketSocket(interface: interface, promiscuous: true) })
        }
        thread.start()
        done.wait()
        return try result.get().get()
    }

    /// setns(fd, CLONE_NEWNET) for the calling thread. Glibc declares setns only under _GNU_SOURCE,
    /// which Swift's Glibc module does not define, so the test looks it up by name.
    static func setNetworkNamespace(_ descriptor: Int32) -> Int32 {
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return -1 }
        let cloneNewNet: Int32 = 0x4000_0000
        return unsafeBitCast(symbol, to: SetNS.self)(descriptor, cloneNewNet)
    }

    func send(_ frame: [UInt8]) throws { try socket.send(frame) }

    /// The first frame that `matches` within `seconds`, as it was on the wire; nil if none came.
    func receive(seconds: Double = 5, where matches: (EthernetFrame) -> Bool) throws -> [UInt8]? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var poller = pollfd(fd: socket.descriptor.rawValue, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, 100)
            while let range = try socket.receive(into: buffer) {
                let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[range]))
                if let frame = try? EthernetFrame(bytes), matches(frame) { return bytes }
            }
        }
        return nil
    }

    /// "Who has `target`?" from this client, on `vlan` (nil: untagged).
    func arpRequest(for target: IPv4Address, vlan: UInt16?) -> [UInt8] {
        EthernetFrame.build(destination: .broadcast, source: mac, vlan: vlan.map { VLANTag(vid: $0) }, etherType: .arp,
                            payload: ARPPacket.request(senderMAC: mac, senderIP: ip, targetIP: target).bytes)
    }

    /// An ICMP echo request to `target` at `targetMAC`, on `vlan`.
    func echoRequest(to target: IPv4Address, at targetMAC: MACAddress, vlan: UInt16?, sequence: UInt16) -> [UInt8] {
        Frames.icmpEcho(sourceMAC: mac, destinationMAC: targetMAC, vlan: vlan.map { VLANTag(vid: $0) }, source: ip, destination: target,
                        identifier: 0x4C32, sequence: sequence, payload: Array("l2motion vlan test".utf8))
    }
}

/// A value one thread sets and another reads once the first is done.
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func get() -> Value { lock.withLock { value } }
}
