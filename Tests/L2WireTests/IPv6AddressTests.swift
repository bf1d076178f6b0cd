import Foundation
import Testing
@testable import L2Wire

@Suite("IPv6 addresses")
struct IPv6AddressTests {
    @Test("RFC 4291 text forms parse; RFC 5952 prints them canonically", arguments: [
        ("fd00:10:10::10", "fd00:10:10::10"),
        ("fd00:0010:0010:0000:0000:0000:0000:0010", "fd00:10:10::10"),
        ("FD00:10:10:0:0:0:0:10", "fd00:10:10::10"),
        ("::", "::"),
        ("::1", "::1"),
        ("fe80::", "fe80::"),
        ("2001:db8::1", "2001:db8::1"),
        // RFC 5952 4.2.2: one zero group is not compressed.
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        // 4.2.3: the longest run is compressed; of equal runs, the first.
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        // 4.3: lower case; 4.1: no leading zeros.
        ("2001:DB8:0AB:000C::1", "2001:db8:ab:c::1"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        // Embedded IPv4 (RFC 4291 2.2 form 3); mapped addresses print mixed (RFC 5952 5).
        ("::ffff:10.10.0.10", "::ffff:10.10.0.10"),
        ("::FFFF:0a0a:000a", "::ffff:10.10.0.10"),
        ("64:ff9b::1.2.3.4", "64:ff9b::102:304"),
        ("ff02::1:ff00:10", "ff02::1:ff00:10"),
    ])
    func roundTrip(text: String, canonical: String) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test("malformed text is refused", arguments: [
        "", ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", "::1%eth0",
        "fd00::/64", ":1::", "1::2:", "1:2:3:4:5:6:7:8::", "::1.2.3", "1.2.3.4::", "::ffff:1.2.3.4:5", " ::1",
        "1:2:3:4:5:6:1.2.3.4:8", "1:2:3:4:5:6:7:1.2.3.4",
    ])
    func refused(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test("bytes, halves and groups agree")
    func layout() throws {
        let address = try #require(IPv6Address("fd00:10:10::10"))
        #expect(address.high == 0xfd00_0010_0010_0000 && address.low == 0x10)
        #expect(address.groups == [0xfd00, 0x10, 0x10, 0, 0, 0, 0, 0x10])
        #expect(IPv6Address(bytes: address.bytes, at: 0) == address)
    }

    @Test("EUI-64 link-local of 00:50:56:00:00:10 is fe80::250:56ff:fe00:10")
    func linkLocal() {
        let address = IPv6Address.linkLocal(eui64: MACAddress(0x00, 0x50, 0x56, 0x00, 0x00, 0x10))
        #expect(address.description == "fe80::250:56ff:fe00:10")
        #expect(address.isLinkLocal && !address.isMulticast)
        // The U/L bit flips both ways: a locally administered MAC gets a cleared bit.
        #expect(IPv6Address.linkLocal(eui64: MACAddress(0x02, 0, 0, 0, 0, 0x64)).description == "fe80::ff:fe00:64")
    }

    @Test("solicited-node group of fd00:10:10::10 is ff02::1:ff00:10, at 33:33:ff:00:00:10")
    func solicitedNode() throws {
        let address = try #require(IPv6Address("fd00:10:10::10"))
        #expect(address.solicitedNode.description == "ff02::1:ff00:10")
        #expect(address.solicitedNode.isSolicitedNodeMulticast && address.solicitedNode.isMulticast)
        #expect(address.solicitedNode.multicastMAC.description == "33:33:ff:00:00:10")
        #expect(IPv6Address.allNodes.multicastMAC.description == "33:33:00:00:00:01")
        #expect(IPv6Address.allNodes.multicastMAC.isIPv6Multicast && IPv6Address.allNodes.multicastMAC.isMulticast)
        #expect(try #require(IPv6Address("fe80::250:56ff:fe00:10")).solicitedNode.description == "ff02::1:ff00:10")
        #expect(!address.isSolicitedNodeMulticast && !IPv6Address.allNodes.isSolicitedNodeMulticast)
    }

    @Test("scopes", arguments: [
        ("fe80::1", true, false), ("febf::1", true, false), ("fec0::1", false, false), ("ff02::1", false, true),
        ("fd00:10:10::10", false, false), ("::", false, false),
    ])
    func scopes(text: String, linkLocal: Bool, multicast: Bool) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.isLinkLocal == linkLocal && address.isMulticast == multicast)
    }

    @Test("interfaces parse with a prefix, default ULA maps decimal octets to hex groups")
    func interfaces() throws {
        let interface = try #require(IPv6Interface("fd00:10:10::10/64"))
        #expect(interface.prefixLength == 64 && interface.description == "fd00:10:10::10/64")
        #expect(interface.contains(try #require(IPv6Address("fd00:10:10::100"))))
        #expect(!interface.contains(try #require(IPv6Address("fd00:10:11::100"))))
        #expect(IPv6Interface("fd00::1/129") == nil && IPv6Interface("fd00::1") == nil && IPv6Interface("fd00::1/x") == nil)
        #expect(IPv6Interface("::/0")?.contains(.allNodes) == true)
        #expect(IPv6Interface("fd00::1/128")?.contains(try #require(IPv6Address("fd00::2"))) == false)
        #expect(IPv6Interface.defaultULA(for: IPv4Address(10, 10, 0, 10)).description == "fd00:10:10::10/64")
        #expect(IPv6Interface.defaultULA(for: IPv4Address(10, 10, 0, 100)).description == "fd00:10:10::100/64")
        #expect(IPv6Interface.defaultULA(for: IPv4Address(192, 168, 1, 254)).description == "fd00:192:168:1::254/64")
        #expect(IPv6Interface.linkLocal(eui64: MACAddress(0x00, 0x50, 0x56, 0, 0, 0x10)).description == "fe80::250:56ff:fe00:10/64")
    }

    @Test("Codable as strings; a bad string says how to write one")
    func codable() throws {
        let value = [try #require(IPv6Interface("fd00:10:10::10/64"))]
        let json = try JSONEncoder().encode(value)
        #expect(String(decoding: json, as: UTF8.self) == #"["fd00:10:10::10\/64"]"#)
        #expect(try JSONDecoder().decode([IPv6Interface].self, from: json) == value)
        #expect(try JSONDecoder().decode([IPv6Address].self, from: Data(#"["fe80::1"]"#.utf8)) == [try #require(IPv6Address("fe80::1"))])
        do {
            _ = try JSONDecoder().decode([IPv6Address].self, from: Data(#"["fe80::g"]"#.utf8))
            Issue.record("decoded a bad address")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription.contains("is not an IPv6 address; write hex groups"))
        }
    }
}
