/// The echo service (RFC 862) on port 7: every VM runs it. Sends back what arrives, at most
/// `TCPServiceLimits.maximumReply` bytes per call, and counts the bytes in the store.
public struct EchoService: TCPService {
    public let name = "echo"
    public let port: UInt16

    public init(port: UInt16 = 7) { self.port = port }

    public func serve(_ input: ArraySlice<UInt8>, store: ServiceStore, context: ServiceContext) -> TCPServiceReply {
        guard !input.isEmpty else { return .needMoreInput }
        let echoed = input.prefix(TCPServiceLimits.maximumReply)
        store.bump(ServiceStoreLayout.echoBytesOffset, by: UInt64(echoed.count))
        return TCPServiceReply(consumed: echoed.count, output: [.bytes(Array(echoed))])
    }
}
