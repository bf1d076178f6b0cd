/// One-line, tcpdump-like descriptions of frames and packets, so a failing test reads like a capture.
///
/// Never throws and never traps: whatever cannot be parsed is shown as `malformed: <reason>` at the
/// layer where parsing stopped. Examples:
///
/// ```
/// 00:50:56:00:00:10 > ff:ff:ff:ff:ff:ff, RARP, Reverse Request who-is 00:50:56:00:00:10 tell 00:50:56:00:00:10, length 46
/// 00:50:56:00:00:64 > 00:50:56:00:00:10, IPv4, 10.10.0.100 > 10.10.0.10: ICMP echo request, id 7, seq 3, length 64
/// 00:50:56:00:00:64 > ff:ff:ff:ff:ff:ff, vlan 100, p 0, ARP, Request who-has 10.10.0.10 tell 10.10.0.100, length 46
/// 5e:a3:6b:0c:11:64 > 33:33:ff:00:00:10, IPv6, fd00:10:10::100 > ff02::1:ff00:10: ICMP6, neighbor solicitation, who has fd00:10:10::10, length 32
/// ```
public struct FrameSummary: Hashable, Sendable, CustomStringConvertible {
    /// The frame's bytes.
    public let bytes: ArraySlice<UInt8>

    public init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
    public init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    public var description: String { Self.describe(bytes) }

    /// Describes raw frame bytes; `malformed: <reason>` if not even the Ethernet header parses.
    public static func describe(_ bytes: ArraySlice<UInt8>) -> String {
        do throws(WireError) {
            return describe(try EthernetFrame(bytes))
        } catch {
            return "malformed: \(error)"
        }
    }

    /// Describes a parsed frame: `src > dst, [vlan N, p P, ]<EtherType>, <payload>`.
    public static func describe(_ frame: EthernetFrame) -> String {
        var text = "\(frame.source) > \(frame.destination), "
        if let vlan = frame.vlan { text += "\(vlan), " }
        let etherType = frame.etherType
        text += "\(etherType), "
        let payload = frame.payload
        switch etherType {
        case .arp, .rarp:
            do throws(WireError) {
                text += "\(try ARPPacket(parsing: payload)), length \(payload.count)"
            } catch {
                text += "malformed: \(error)"
            }
        case .ipv4:
            do throws(WireError) {
                text += describe(try IPv4Packet(payload))
            } catch {
                text += "malformed: \(error)"
            }
        case .ipv6:
            do throws(WireError) {
                text += describe(try IPv6Packet(payload))
            } catch {
                text += "malformed: \(error)"
            }
        default:
            text += "length \(payload.count)"
        }
        return text
    }

    /// Describes an IPv4 packet: `src > dst: <transport>`, ports appended to addresses for UDP/TCP.
    public static func describe(_ packet: IPv4Packet) -> String {
        let source = packet.source, destination = packet.destination
        let payload = packet.payload
        if packet.isLaterFragment {
            return "\(source) > \(destination): \(packet.protocol) (frag \(packet.identification):"
                + "\(payload.count)@\(Int(packet.fragmentOffset) * 8)\(packet.moreFragments ? "+" : ""))"
        }
        do throws(WireError) {
            switch packet.protocol {
            case .icmp:
                return "\(source) > \(destination): \(try ICMPv4Message(payload))"
            default:
                return try transport(packet.protocol, source: "\(source)", destination: "\(destination)", payload: payload)
            }
        } catch {
            return "\(source) > \(destination): malformed: \(error)"
        }
    }
}

extension FrameSummary {
    /// UDP and TCP (with ports) or any other protocol by number, the same over IPv4 and IPv6.
    static func transport(_ proto: IPProtocol, source: String, destination: String,
                          payload: ArraySlice<UInt8>) throws(WireError) -> String {
        switch proto {
        case .udp:
            let udp = try UDPDatagram(payload)
            return "\(source).\(udp.sourcePort) > \(destination).\(udp.destinationPort): UDP, length \(udp.payload.count)"
        case .tcp:
            let tcp = try TCPSegment(payload)
            return "\(source).\(tcp.sourcePort) > \(destination).\(tcp.destinationPort): \(tcp.summary)"
        default:
            return "\(source) > \(destination): \(proto) \(payload.count)"
        }
    }

    /// Describes an IPv6 packet: `src > dst: <transport>`; extension headers are named, not walked.
    public static func describe(_ packet: IPv6Packet) -> String {
        let source = packet.source, destination = packet.destination
        let payload = packet.payload
        if packet.hasExtensionHeaders {
            return "\(source) > \(destination): extension header \(packet.nextHeader.rawValue), length \(payload.count)"
        }
        do throws(WireError) {
            switch packet.nextHeader {
            case .icmpv6:
                return "\(source) > \(destination): \(try ICMPv6Message(payload))"
            default:
                return try transport(packet.nextHeader, source: "\(source)", destination: "\(destination)", payload: payload)
            }
        } catch {
            return "\(source) > \(destination): malformed: \(error)"
        }
    }
}

/// Describes a frame the way tcpdump would; never throws (see `FrameSummary`).
public func describe(frame: [UInt8]) -> String { FrameSummary.describe(frame[...]) }

/// Describes a frame held in a slice; never throws (see `FrameSummary`).
public func describe(frame: ArraySlice<UInt8>) -> String { FrameSummary.describe(frame) }
