/// An ARP or RARP operation code; an open set, so unknown codes still parse and print.
public struct ARPOperation: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let request = ARPOperation(rawValue: 1)
    public static let reply = ARPOperation(rawValue: 2)
    /// RARP "request reverse" (RFC 903): what QEMU and ESXi send to make switches relearn a MAC.
    public static let reverseRequest = ARPOperation(rawValue: 3)
    public static let reverseReply = ARPOperation(rawValue: 4)

    public var description: String {
        switch self {
        case .request: "Request"
        case .reply: "Reply"
        case .reverseRequest: "Reverse Request"
        case .reverseReply: "Reverse Reply"
        default: "Unknown opcode \(rawValue)"
        }
    }
}

/// An ARP/RARP packet for Ethernet and IPv4 (RFC 826, RFC 903): a parsed and emitted value.
///
/// Only the Ethernet/IPv4 form exists (htype 1, ptype 0x0800, hlen 6, plen 4); parsing rejects any
/// other with `.invalidField`, so every value serializes to exactly 28 bytes.
public struct ARPPacket: Hashable, Sendable, CustomStringConvertible {
    enum Field {
        static let hardwareType = 0
        static let protocolType = 2
        static let hardwareLength = 4
        static let protocolLength = 5
        static let operation = 6
        static let senderMAC = 8
        static let senderIP = 14
        static let targetMAC = 18
        static let targetIP = 24
    }

    /// Length of the serialized packet.
    public static let length = 28

    /// Always 1 (Ethernet).
    public let hardwareType: UInt16 = 1
    /// Always IPv4 (0x0800).
    public let protocolType: EtherType = .ipv4
    /// Always 6.
    public let hardwareLength: UInt8 = 6
    /// Always 4.
    public let protocolLength: UInt8 = 4
    public var operation: ARPOperation
    public var senderMAC: MACAddress
    public var senderIP: IPv4Address
    public var targetMAC: MACAddress
    public var targetIP: IPv4Address

    public init(operation: ARPOperation, senderMAC: MACAddress, senderIP: IPv4Address,
                targetMAC: MACAddress, targetIP: IPv4Address) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    /// Parses the first 28 bytes of `bytes` (trailing Ethernet padding is ignored).
    public init(parsing bytes: ArraySlice<UInt8>) throws(WireError) {
        guard bytes.count >= Field.senderMAC else {
            throw .truncated(layer: "ARP", needed: Self.length, available: bytes.count)
        }
        let htype = bytes.u16(at: Field.hardwareType)
        guard htype == 1 else { throw .invalidField(layer: "ARP", field: "hardware type", value: Int(htype)) }
        let ptype = bytes.u16(at: Field.protocolType)
        guard ptype == EtherType.ipv4.rawValue else {
            throw .invalidField(layer: "ARP", field: "protocol type", value: Int(ptype))
        }
        let hlen = bytes.u8(at: Field.hardwareLength)
        guard hlen == 6 else { throw .invalidField(layer: "ARP", field: "hardware length", value: Int(hlen)) }
        let plen = bytes.u8(at: Field.protocolLength)
        guard plen == 4 else { throw .invalidField(layer: "ARP", field: "protocol length", value: Int(plen)) }
        guard bytes.count >= Self.length else {
            throw .truncated(layer: "ARP", needed: Self.length, available: bytes.count)
        }
        operation = ARPOperation(rawValue: bytes.u16(at: Field.operation))
        senderMAC = bytes.mac(at: Field.senderMAC)
        senderIP = bytes.ipv4(at: Field.senderIP)
        targetMAC = bytes.mac(at: Field.targetMAC)
        targetIP = bytes.ipv4(at: Field.targetIP)
    }

    /// Parses an array.
    public init(parsing bytes: [UInt8]) throws(WireError) { try self.init(parsing: bytes[...]) }

    /// Appends the 28-byte wire form.
    public func write(to buffer: inout [UInt8]) {
        buffer.appendBE(hardwareType)
        buffer.appendBE(protocolType.rawValue)
        buffer.append(hardwareLength)
        buffer.append(protocolLength)
        buffer.appendBE(operation.rawValue)
        buffer.append(senderMAC)
        buffer.append(senderIP)
        buffer.append(targetMAC)
        buffer.append(targetIP)
    }

    /// The 28-byte wire form.
    public var bytes: [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.length)
        write(to: &buffer)
        return buffer
    }

    /// QEMU's announce payload: reverse request, sender = target = `mac`, both IPs 0.0.0.0.
    public static func rarpAnnounce(mac: MACAddress) -> ARPPacket {
        ARPPacket(operation: .reverseRequest, senderMAC: mac, senderIP: .any, targetMAC: mac, targetIP: .any)
    }

    /// A gratuitous ARP request: sender IP = target IP = `ip`, target MAC zero.
    public static func gratuitous(mac: MACAddress, ip: IPv4Address) -> ARPPacket {
        ARPPacket(operation: .request, senderMAC: mac, senderIP: ip, targetMAC: .zero, targetIP: ip)
    }

    /// A request asking who has `targetIP`.
    public static func request(senderMAC: MACAddress, senderIP: IPv4Address, targetIP: IPv4Address) -> ARPPacket {
        ARPPacket(operation: .request, senderMAC: senderMAC, senderIP: senderIP, targetMAC: .zero, targetIP: targetIP)
    }

    /// The reply a host owning `request.targetIP` with hardware address `mac` sends back.
    public static func reply(to request: ARPPacket, mac: MACAddress) -> ARPPacket {
        ARPPacket(operation: .reply, senderMAC: mac, senderIP: request.targetIP,
                  targetMAC: request.senderMAC, targetIP: request.senderIP)
    }

    /// tcpdump's text without the trailing length, e.g. `Request who-has 10.10.0.10 tell 10.10.0.100`.
    public var description: String {
        switch operation {
        case .request:
            let target = targetMAC.isZero ? "" : " (\(targetMAC))"
            return "Request who-has \(targetIP)\(target) tell \(senderIP)"
        case .reply:
            return "Reply \(senderIP) is-at \(senderMAC)"
        case .reverseRequest:
            return "Reverse Request who-is \(targetMAC) tell \(senderMAC)"
        case .reverseReply:
            return "Reverse Reply \(targetMAC) at \(targetIP)"
        default:
            return "Unknown opcode \(operation.rawValue)"
        }
    }
}

/// The frames a hypervisor sends after a migration so the network finds the VM at its new port.
public enum Announce {
    /// Exactly QEMU's 60-byte announce frame (`net/announce.c`): broadcast, EtherType RARP,
    /// reverse request with sender = target = `mac`, IPs 0.0.0.0, zero padding.
    public static func rarpFrame(for mac: MACAddress) -> [UInt8] {
        EthernetFrame.build(destination: .broadcast, source: mac, etherType: .rarp,
                            payload: ARPPacket.rarpAnnounce(mac: mac).bytes)
    }

    /// A 60-byte broadcast gratuitous ARP request for `ip` at `mac`, refreshing peers' ARP caches.
    public static func gratuitousARPFrame(mac: MACAddress, ip: IPv4Address) -> [UInt8] {
        EthernetFrame.build(destination: .broadcast, source: mac, etherType: .arp,
                            payload: ARPPacket.gratuitous(mac: mac, ip: ip).bytes)
    }
}
