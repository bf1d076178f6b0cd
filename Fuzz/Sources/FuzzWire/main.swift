import FuzzSupport
import L2Wire

/// Every L2Wire parser on the same bytes, each given as a slice that does not start at index 0 (the
/// way frames arrive inside bigger buffers), every accessor and description read, and the
/// encapsulated layers parsed in turn. Parse errors are expected; traps are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzReader(data, size)
    // A prefix byte so the slice's startIndex is 1, not 0.
    let buffer = [0xEE] + Array(input.bytes)
    let bytes = buffer[1...]

    var sink = 0
    sink &+= describe(frame: bytes).utf8.count
    sink &+= describe(frame: Array(bytes)).utf8.count
    if let frame = try? EthernetFrame(bytes) {
        sink &+= frame.description.utf8.count
        sink &+= Int(frame.etherType.rawValue) &+ frame.headerLength &+ Int(frame.vlan?.tci ?? 0)
        sink &+= frame.destination.description.utf8.count &+ frame.source.description.utf8.count
        sink &+= layers(frame.payload)
        // What the guest's network stack answers (it faces every frame on its port group).
        sink &+= Frames.arpReply(to: frame, ip: IPv4Address(10, 10, 0, 10), mac: MACAddress(0, 0x50, 0x56, 0, 0, 0x10))?.count ?? 0
        if let ip = try? IPv4Packet(frame.payload) {
            sink &+= Frames.icmpEchoReply(to: frame, ip: ip.destination, mac: MACAddress(0, 0x50, 0x56, 0, 0, 0x10))?.count ?? 0
        }
    }
    sink &+= layers(bytes)
    if let arp = try? ARPPacket(parsing: bytes) {
        sink &+= arp.bytes.count &+ arp.description.utf8.count
        var rebuilt: [UInt8] = []
        arp.write(to: &rebuilt)
        sink &+= rebuilt.count
    }
    if let icmp = try? ICMPv4Message(bytes) {
        sink &+= icmp.description.utf8.count &+ (icmp.isChecksumValid ? 1 : 0) &+ icmp.payload.count
        sink &+= Int(icmp.identifier) &+ Int(icmp.sequence) &+ Int(icmp.code) &+ Int(icmp.checksum)
        if let echo = try? ICMPEchoMessage(icmp) { sink &+= echo.reply().bytes.count }
        sink &+= ICMPEchoMessage.reply(to: icmp)?.count ?? 0
    }
    if let udp = try? UDPDatagram(bytes) {
        sink &+= udp.description.utf8.count &+ udp.payload.count &+ Int(udp.length) &+ Int(udp.checksum)
        sink &+= udp.isChecksumValid(source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2)) ? 1 : 0
    }
    if let tcp = try? TCPSegment(bytes) {
        sink &+= tcp.description.utf8.count &+ tcp.payload.count &+ tcp.options.count &+ Int(tcp.urgentPointer)
        sink &+= tcp.isChecksumValid(source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2)) ? 1 : 0
    }
    sink &+= Int(InternetChecksum.compute(bytes))
    blackHole(sink)
    return 0
}

/// Parses `bytes` as an IPv4 packet and what it carries.
func layers(_ bytes: ArraySlice<UInt8>) -> Int {
    var sink = 0
    if let arp = try? ARPPacket(parsing: bytes) { sink &+= arp.description.utf8.count }
    guard let ip = try? IPv4Packet(bytes) else { return sink }
    sink &+= ip.description.utf8.count &+ ip.options.count &+ ip.header.count &+ ip.payload.count
    sink &+= Int(ip.version) &+ Int(ip.ihl) &+ Int(ip.tos) &+ Int(ip.totalLength) &+ Int(ip.identification)
    sink &+= Int(ip.fragmentOffset) &+ (ip.dontFragment ? 1 : 0) &+ (ip.moreFragments ? 1 : 0) &+ Int(ip.ttl)
    sink &+= Int(ip.checksum) &+ (ip.isChecksumValid ? 1 : 0)
    sink &+= ip.source.description.utf8.count &+ ip.destination.description.utf8.count
    switch ip.protocol {
    case .icmp:
        if let icmp = try? ICMPv4Message(ip.payload) { sink &+= icmp.description.utf8.count }
    case .udp:
        if let udp = try? UDPDatagram(ip.payload) {
            sink &+= udp.isChecksumValid(source: ip.source, destination: ip.destination) ? 1 : 0
        }
    case .tcp:
        if let tcp = try? TCPSegment(ip.payload) {
            sink &+= tcp.isChecksumValid(source: ip.source, destination: ip.destination) ? 1 : 0
        }
    default:
        break
    }
    return sink
}

@inline(never)
func blackHole(_ value: Int) {
    withExtendedLifetime(value) {}
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Seeds.writeIfRequested(WireSeeds.all)
    return 0
}

@_cdecl("FuzzWire_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { fuzz($0, $1) }
}
