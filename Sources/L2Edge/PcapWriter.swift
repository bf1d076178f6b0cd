import CPcap
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Why a capture could not be opened, filtered or read.
public struct CaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Writes Ethernet frames to a pcap file through libpcap: LINKTYPE_ETHERNET, nanosecond
/// timestamps, a per-file snaplen (longer frames are truncated in the file but keep their original
/// length), an optional BPF capture filter compiled by libpcap, a bounded stdio buffer, flushed on
/// request and on close. Safe to call from several threads.
public final class PcapWriter: Sendable {
    private struct Handles: @unchecked Sendable {
        var pcap: OpaquePointer?
        var dumper: OpaquePointer?
        var filter: bpf_program
        var hasFilter: Bool
        var written: UInt64
        var filteredOut: UInt64
    }

    public let path: String
    public let snaplen: Int
    private let handles: Mutex<Handles>

    /// Opens (truncates) `path`. `filter` is a libpcap filter expression such as `"arp or icmp"`.
    public init(path: String, snaplen: Int = 65535, filter: String? = nil, bufferBytes: Int = 1 << 20) throws(CaptureError) {
        guard (64...262_144).contains(snaplen) else {
            throw CaptureError("snaplen \(snaplen) out of range; use 64...262144 (65535 keeps whole frames)")
        }
        guard let pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, Int32(snaplen), UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw CaptureError("libpcap could not create a capture handle")
        }
        var program = bpf_program()
        var hasFilter = false
        if let filter, !filter.isEmpty {
            guard pcap_compile(pcap, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                let reason = String(cString: pcap_geterr(pcap))
                pcap_close(pcap)
                throw CaptureError("capture filter \"\(filter)\" is invalid: \(reason)")
            }
            hasFilter = true
        }
        guard let file = fopen(path, "wb") else {
            let reason = String(cString: strerror(errno))
            if hasFilter { pcap_freecode(&program) }
            pcap_close(pcap)
            throw CaptureError("cannot create capture file \(path): \(reason)")
        }
        setvbuf(file, nil, _IOFBF, bufferBytes)
        guard let dumper = pcap_dump_fopen(pcap, file) else {
            let reason = String(cString: pcap_geterr(pcap))
            fclose(file)
            if hasFilter { pcap_freecode(&program) }
            pcap_close(pcap)
            throw CaptureError("libpcap could not start capture file \(path): \(reason)")
        }
        self.path = path
        self.snaplen = snaplen
        handles = Mutex(Handles(pcap: pcap, dumper: dumper, filter: program, hasFilter: hasFilter, written: 0, filteredOut: 0))
    }

    deinit { close() }

    /// Appends one frame stamped with `wallNanoseconds` (CLOCK_REALTIME). Returns whether it was
    /// written (false when the capture filter rejected it or the file is closed).
    @discardableResult
    public func write(_ frame: UnsafeRawBufferPointer, wallNanoseconds: UInt64) -> Bool {
        handles.withLock { handles in
            guard let dumper = handles.dumper, let base = frame.baseAddress else { return false }
            var header = pcap_pkthdr()
            header.ts.tv_sec = Int(wallNanoseconds / 1_000_000_000)
            header.ts.tv_usec = Int(wallNanoseconds % 1_000_000_000)
            header.len = UInt32(frame.count)
            header.caplen = UInt32(min(frame.count, snaplen))
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            if handles.hasFilter && pcap_offline_filter(&handles.filter, &header, bytes) == 0 {
                handles.filteredOut += 1
                return false
            }
            pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header, bytes)
            handles.written += 1
            return true
        }
    }

    @discardableResult
    public func write(_ frame: [UInt8], wallNanoseconds: UInt64) -> Bool {
        frame.withUnsafeBytes { write($0, wallNanoseconds: wallNanoseconds) }
    }

    /// Frames written so far.
    public var framesWritten: UInt64 { handles.withLock { $0.written } }

    /// Pushes buffered frames to the file so readers see them now.
    public func flush() {
        handles.withLock { handles in
            if let dumper = handles.dumper { pcap_dump_flush(dumper) }
        }
    }

    /// Flushes and closes the file; later writes are ignored.
    public func close() {
        handles.withLock { handles in
            if let dumper = handles.dumper {
                pcap_dump_flush(dumper)
                pcap_dump_close(dumper)
                handles.dumper = nil
            }
            if handles.hasFilter {
                pcap_freecode(&handles.filter)
                handles.hasFilter = false
            }
            if let pcap = handles.pcap {
                pcap_close(pcap)
                handles.pcap = nil
            }
        }
    }
}
