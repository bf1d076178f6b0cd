import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// A BPF capture filter compiled by libpcap for Ethernet frames (`"arp or icmp"`,
/// `"not tcp port 8000"`), run on frames in memory with `pcap_offline_filter`. The capture ring
/// asks it about each frame before keeping it; the same expression goes into pcapng's `if_filter`.
public final class PacketFilter: @unchecked Sendable {
    public let expression: String
    private var program = bpf_program()
    private let handle: OpaquePointer

    /// Compiles `expression`; the error quotes libpcap's reason.
    public init(_ expression: String, snaplen: Int = 262_144) throws(CaptureError) {
        guard let handle = pcap_open_dead(DLT_EN10MB, Int32(snaplen)) else {
            throw CaptureError("libpcap could not create a handle to compile the capture filter")
        }
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            let reason = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            throw CaptureError("capture filter \"\(expression)\" is invalid: \(reason)")
        }
        self.expression = expression
        self.handle = handle
    }

    deinit {
        pcap_freecode(&program)
        pcap_close(handle)
    }

    /// Whether the filter accepts `frame` (its whole length is offered; the filter sees at most
    /// the snaplen it was compiled with).
    public func accepts(_ frame: UnsafeRawBufferPointer) -> Bool {
        guard let base = frame.baseAddress else { return false }
        var header = pcap_pkthdr()
        header.caplen = UInt32(frame.count)
        header.len = UInt32(frame.count)
        return withUnsafePointer(to: &program) { program in
            pcap_offline_filter(program, &header, base.assumingMemoryBound(to: UInt8.self)) != 0
        }
    }
}
