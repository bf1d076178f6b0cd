import CPcap
import Foundation
import L2Capture
#if canImport(Glibc)
import Glibc
#endif

/// One frame read back from a capture file.
public struct CapturedFrame: Sendable, Equatable {
    /// 1-based, as Wireshark numbers frames.
    public let number: UInt64
    public let wallNanoseconds: UInt64
    /// The frame's length on the wire; `bytes` may be shorter when the snaplen truncated it.
    public let originalLength: Int
    public let bytes: [UInt8]
    /// The interface it was recorded on (pcapng's `if_name`: the switch port); nil in pcap.
    public var interface: String? = nil
    /// Its pcapng comments (the switch's notes on it).
    public var comments: [String] = []
}

/// Reads a capture file, optionally through a BPF filter, with nanosecond timestamps: pcap with
/// libpcap; pcapng with `PcapngFile`, keeping the inbound records (each frame as the switch received
/// it, numbered as Wireshark numbers the file's frames; outbound copies are left out). For tests and
/// tools (`l2motion` reports); not for the data path.
public enum PcapReader {
    public static func readAll(path: String, filter: String? = nil) throws(CaptureError) -> [CapturedFrame] {
        let head = FileHandle(forReadingAtPath: path).flatMap { file in
            defer { try? file.close() }
            return try? file.read(upToCount: 4)
        }
        guard let head, PcapngFile.isPcapng(head) else {
            return try readPcap(path: path, filter: filter)
        }
        return try readPcapng(path: path, filter: filter)
    }

    /// The inbound records of a pcapng file, mapped rather than read (a capture can be gigabytes;
    /// only the records the filter keeps are copied).
    static func readPcapng(path: String, filter: String?) throws(CaptureError) -> [CapturedFrame] {
        let accepting = try filter.flatMap { $0.isEmpty ? nil : $0 }.map { expression throws(CaptureError) in try PacketFilter(expression) }
        let file: PcapngFile
        do {
            // A running switch may be writing the last record as we read: what is complete counts.
            file = try mapPcapng(path: path) { direction, frame in direction != .outbound && (accepting?.accepts(frame) ?? true) }
        } catch let error as CaptureFormatError {
            throw CaptureError("capture \(path) is damaged: \(error)")
        } catch {
            throw CaptureError("cannot read capture \(path): \(error.localizedDescription)")
        }
        return file.packets.map { packet in
            CapturedFrame(number: packet.number, wallNanoseconds: packet.wallNanoseconds, originalLength: packet.originalLength,
                          bytes: packet.bytes, interface: file.interfaces[packet.interface].name, comments: packet.comments)
        }
    }

    /// A pcapng file parsed from a mapping of it (nothing is copied but the packets `keeping` keeps);
    /// a last block cut short (a file a running switch is still writing) is left out and counted in
    /// `truncatedTailBytes`. Throws the mapping's error, or `CaptureFormatError` for a damaged file.
    public static func mapPcapng(path: String,
                                 keeping: ((_ direction: CaptureDirection?, _ frame: UnsafeRawBufferPointer) -> Bool)? = nil) throws -> PcapngFile {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        return try data.withUnsafeBytes { bytes in try PcapngFile(parsing: bytes, allowingTruncatedTail: true, keeping: keeping) }
    }

    static func readPcap(path: String, filter: String?) throws(CaptureError) -> [CapturedFrame] {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let pcap = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errorBuffer) else {
            throw CaptureError("cannot read capture \(path): \(String(cBuffer: errorBuffer))")
        }
        defer { pcap_close(pcap) }
        var program = bpf_program()
        let filtered = filter.map { !$0.isEmpty } ?? false
        if filtered {
            guard pcap_compile(pcap, &program, filter!, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                throw CaptureError("filter \"\(filter!)\" is invalid: \(String(cString: pcap_geterr(pcap)))")
            }
        }
        defer { if filtered { pcap_freecode(&program) } }
        var frames: [CapturedFrame] = []
        var number: UInt64 = 0
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while true {
            let status = pcap_next_ex(pcap, &header, &data)
            if status == PCAP_ERROR_BREAK { break }
            guard status == 1, let header, let data else {
                if status == 0 { continue }
                throw CaptureError("capture \(path) is damaged after frame \(number): \(String(cString: pcap_geterr(pcap)))")
            }
            number += 1
            if filtered && pcap_offline_filter(&program, header, data) == 0 { continue }
            let stamp = UInt64(header.pointee.ts.tv_sec) * 1_000_000_000 + UInt64(header.pointee.ts.tv_usec)
            frames.append(CapturedFrame(number: number, wallNanoseconds: stamp,
                                        originalLength: Int(header.pointee.len),
                                        bytes: Array(UnsafeBufferPointer(start: data, count: Int(header.pointee.caplen)))))
        }
        return frames
    }
}
