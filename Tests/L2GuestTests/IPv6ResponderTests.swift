import Foundation
import Testing
import L2Wire
@testable import L2Guest

/// Golden frames between a Linux client (5e:a3:6b:0c:11:64, fd00:10:10::100) and web01
/// (00:50:56:00:00:10, fd00:10:10::10). The client's solicitations are real: captured with tcpdump
/// from this machine's kernel (Linux 6.18; the layout is what 6.1 sends too) in a namespace whose
/// veth had that MAC and address. The rest were computed by a separate Python script and shown
/// "[correct]" by tshark.
enum V6Golden {
    static func hex(_ text: String) -> [UInt8] {
        let digits = text.filter(\.isHexDigit).map { UInt8(String($0), radix: 16)! }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    static let vmMAC = MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10)
    static let ula = IPv6Interface("fd00:10:10::10/64")!

    /// What the kernel sent to resolve fd00:10:10::10 (captured): to ff02::1:ff00:10
    /// (33:33:ff:00:00:10), hop limit 255, traffic class and flow label 0, source link-layer address option.
    static let solicitation = hex("""
        3333ff0000105ea36b0c116486dd6000 000000203afffd000010001000000000 000000000100ff020000000000000000
        0001ff0000108700a32900000000fd00 00100010000000000000000000100101 5ea36b0c1164
        """)
    /// The solicited advertisement web01 must answer with (S and O set, target link-layer address).
    static let advertisement = hex("""
        5ea36b0c116400505600001086dd6000 000000203afffd000010001000000000 000000000010fd000010001000000000
        0000000001008800c6c060000000fd00 00100010000000000000000000100201 005056000010
        """)
    /// `ping -6 -s 48` from the same kernel (captured): id 0x63f6, seq 1, flow label 0xf545a.
    static let echoRequest = hex("""
        0050560000105ea36b0c116486dd600f 545a00383a40fd000010001000000000 000000000100fd000010001000000000
        00000000001080004d4163f600011ba9 146b00000000a6ec0a00000000001011 12131415161718191a1b1c1d1e1f2021
        22232425262728292a2b2c2d2e2f
        """)
    static let echoReply = hex("""
        5ea36b0c116400505600001086dd6000 000000383a40fd000010001000000000 000000000010fd000010001000000000
        00000000010081004c4163f600011ba9 146b00000000a6ec0a00000000001011 12131415161718191a1b1c1d1e1f2021
        22232425262728292a2b2c2d2e2f
        """)
    /// Duplicate address detection for fd00:10:10::10 from `::`, with Linux's nonce option (type 14,
    /// enhanced DAD): captured from this machine's kernel (Linux 6.18) with tcpdump on a veth.
    static let dadSolicitation = hex("""
        3333ff0000105ea36b0c116486dd6000 000000203aff00000000000000000000 000000000000ff020000000000000000
        0001ff00001087006c5f00000000fd00 00100010000000000000000000100e01 7bbfa32fe40f
        """)
    /// web01 defends the address: to ff02::1, solicited clear, override set.
    static let dadAdvertisement = hex("""
        33330000000100505600001086dd6000 000000203afffd000010001000000000 000000000010ff020000000000000000
        000000000001880005de20000000fd00 00100010000000000000000000100201 005056000010
        """)
    static let unsolicitedLinkLocal = hex("""
        33330000000100505600001086dd6000 000000203afffe800000000000000250 56fffe000010ff020000000000000000
        0000000000018800547d20000000fe80 000000000000025056fffe0000100201 005056000010
        """)
}

@Suite("IPv6 responder")
struct IPv6ResponderTests {
    static func responder(_ ipv6: [IPv6Interface] = [V6Golden.ula]) -> NetworkResponder {
        NetworkResponder(mac: V6Golden.vmMAC, ip: IPv4Address(10, 10, 0, 10), ipv6: ipv6)
    }

    static let memory = try! GuestMemory(pageCount: 4)

    @Test("the kernel's solicitation to the solicited-node group gets the golden solicited advertisement")
    func solicitation() {
        var responder = Self.responder()
        #expect(responder.handle(frame: V6Golden.solicitation, memory: Self.memory) == V6Golden.advertisement)
        #expect(responder.statistics.neighborAdvertisements == 1 && responder.statistics.ignored == 0)
        #expect(responder.statistics.answered == 1)
    }

    @Test("echo request gets the golden reply (hop limit 64, flow label 0)")
    func echo() {
        var responder = Self.responder()
        #expect(responder.handle(frame: V6Golden.echoRequest, memory: Self.memory) == V6Golden.echoReply)
        #expect(responder.statistics.echoV6Replies == 1)
    }

    @Test("duplicate address detection from :: is answered to all nodes with S clear")
    func dad() {
        var responder = Self.responder()
        #expect(responder.handle(frame: V6Golden.dadSolicitation, memory: Self.memory) == V6Golden.dadAdvertisement)
    }

    @Test("the link-local address answers a unicast solicitation and a ping too")
    func linkLocal() throws {
        var responder = Self.responder([])
        let linkLocal = try #require(IPv6Address("fe80::250:56ff:fe00:10"))
        let client = try #require(IPv6Address("fe80::5ca3:6bff:fe0c:1164"))
        let clientMAC = MACAddress(0x5e, 0xa3, 0x6b, 0x0c, 0x11, 0x64)
        // A unicast probe (neighbour unreachability detection): to the address and MAC themselves.
        let probe = Frames.neighborSolicitation(sourceMAC: clientMAC, source: client, target: linkLocal,
                                                destination: linkLocal, destinationMAC: V6Golden.vmMAC)
        let answer = responder.handle(frame: probe, memory: Self.memory)
        let reply = try #require(answer)
        let packet = try IPv6Packet(try EthernetFrame(reply).payload)
        #expect(packet.source == linkLocal && packet.destination == client && packet.hopLimit == 255)
        let na = try NeighborAdvertisement(try ICMPv6Message(packet.payload))
        #expect(na.solicited && na.override && na.targetLinkLayerAddress == V6Golden.vmMAC)
        let ping = Frames.icmpv6Echo(sourceMAC: clientMAC, destinationMAC: V6Golden.vmMAC, source: client, destination: linkLocal,
                                     identifier: 1, sequence: 2, payload: [1, 2, 3])
        #expect(responder.handle(frame: ping, memory: Self.memory) != nil)
        // With "ipv6": [] the ULA is not the VM's.
        #expect(responder.handle(frame: V6Golden.solicitation, memory: Self.memory) == nil)
        #expect(responder.statistics.neighborAdvertisements == 1 && responder.statistics.echoV6Replies == 1)
    }

    @Test("bad checksums, hop limits other than 255, other targets and extension headers are ignored and counted")
    func ignored() {
        var badChecksum = V6Golden.solicitation
        badChecksum[85] ^= 0x01
        var hopLimit = V6Golden.solicitation
        hopLimit[21] = 64
        var otherTarget = V6Golden.solicitation
        otherTarget[14 + 40 + 8 + 15] = 0x11
        var hopByHop = V6Golden.echoRequest
        hopByHop[20] = 0
        var badEcho = V6Golden.echoRequest
        badEcho[100] ^= 0x40
        var responder = Self.responder()
        for frame in [badChecksum, hopLimit, otherTarget, hopByHop, badEcho] {
            #expect(responder.handle(frame: frame, memory: Self.memory) == nil)
        }
        #expect(responder.statistics.ignored == 5 && responder.statistics.answered == 0)
    }

    @Test("unsolicited advertisements: one per address, link-local first, to all nodes with O set and S clear")
    func unsolicited() throws {
        var responder = Self.responder()
        let frames = responder.unsolicitedNeighborAdvertisements()
        #expect(frames.count == 2 && frames[0] == V6Golden.unsolicitedLinkLocal)
        let packet = try IPv6Packet(try EthernetFrame(frames[1]).payload)
        let na = try NeighborAdvertisement(try ICMPv6Message(packet.payload))
        #expect(packet.source == V6Golden.ula.address && packet.destination == .allNodes && packet.hopLimit == 255)
        #expect(na.override && !na.solicited && na.target == V6Golden.ula.address && na.targetLinkLayerAddress == V6Golden.vmMAC)
        #expect(responder.statistics.unsolicitedNAs == 2)
    }

    @Test("statistics from an older host (no IPv6 counters) still decode")
    func oldStatistics() throws {
        let old = #"{"arpReplies": 3, "echoReplies": 2, "udpReplies": 1, "gratuitousARPs": 1, "ignored": 7}"#
        let statistics = try JSONDecoder().decode(ResponderStatistics.self, from: Data(old.utf8))
        #expect(statistics.arpReplies == 3 && statistics.ignored == 7 && statistics.neighborAdvertisements == 0 && statistics.unsolicitedNAs == 0)
        // The coding list names every counter, so none is silently left out of the JSON.
        #expect(Mirror(reflecting: ResponderStatistics()).children.compactMap(\.label) == ResponderStatistics.counters.map(\.key))
        var counted = ResponderStatistics()
        counted.echoV6Replies = 4
        #expect(try JSONDecoder().decode(ResponderStatistics.self, from: JSONEncoder().encode(counted)) == counted)
    }

    @Test("configuration: ipv6 absent means the default ULA, [] link-local only, listed ones as given")
    func configuration() throws {
        let plain = try VMConfiguration.parse(json: web01JSON)
        #expect(plain.ipv6 == nil)
        #expect(plain.effectiveIPv6 == [V6Golden.ula])
        #expect(plain.ipv6Interfaces.map(\.description) == ["fe80::250:56ff:fe00:10/64", "fd00:10:10::10/64"])
        let none = try VMConfiguration.parse(json: web01("ipv6", "[]"))
        #expect(none.ipv6 == [] && none.ipv6Interfaces.map(\.description) == ["fe80::250:56ff:fe00:10/64"])
        let two = try VMConfiguration.parse(json: web01("ipv6", #"["fd00:10:10::10/64", "2001:db8::10/48"]"#))
        #expect(two.effectiveIPv6.map(\.description) == ["fd00:10:10::10/64", "2001:db8::10/48"])
        // Encoded back as given; absent stays absent.
        #expect(try VMConfiguration.parse(json: jsonEncode(two)) == two)
        #expect(!String(decoding: try jsonEncode(plain), as: UTF8.self).contains("ipv6"))
        let vm = try VirtualMachine(configuration: two)
        #expect(vm.responder.ipv6.addresses.map(\.description) == ["fe80::250:56ff:fe00:10", "fd00:10:10::10", "2001:db8::10"])
    }

    @Test("configuration: bad IPv6 entries are named by index", arguments: [
        (#"["fd00::1"]"#, "ipv6[0]", "is not an IPv6 address with prefix"),
        (#"["fd00::1/64", "fd00::2/129"]"#, "ipv6[1]", "is not an IPv6 address with prefix"),
        (#"["ff02::1/64"]"#, "ipv6[0]", "is a multicast address"),
        (#"["::/64"]"#, "ipv6[0]", "is the unspecified address"),
        (#"["fe80::1/64"]"#, "ipv6[0]", "is link-local"),
        (#"["fd00::1/0"]"#, "ipv6[0]", "prefix /0"),
        (#"["fd00::1/64", "fd00::1/96"]"#, "ipv6[1]", "listed twice"),
        (#""fd00::1/64""#, "ipv6", "must be a list of strings"),
    ])
    func badConfiguration(value: String, field: String, message: String) {
        let found = problems(web01("ipv6", value))
        #expect(found.contains { $0.field == field && $0.message.contains(message) }, "\(found)")
    }
}
