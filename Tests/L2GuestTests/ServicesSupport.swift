import L2Guest

/// A 128 MiB guest (`GuestMemory(pageCount: 32768)`) and the service store of its network region.
func makeServiceStore() throws -> ServiceStore {
    let memory = try GuestMemory(pageCount: 32_768)
    return ServiceStore(memory: memory, bytes: serviceStoreBytes(pageCount: memory.pageCount))
}

func serviceStoreBytes(pageCount: Int) -> Range<Int> {
    let pages = GuestLayout.networkRegion(pageCount: pageCount)!.servicePages
    return (pages.lowerBound * GuestMemory.pageSize)..<(pages.upperBound * GuestMemory.pageSize)
}

let serviceContext = ServiceContext(vmName: "web01", hostName: "esx01", uptimeNanoseconds: 12_345_678_901,
                                    migrationCount: 1)

extension TCPService {
    /// Serves `text` (as UTF-8) placed at a non-zero slice index, as the stack's ring would.
    func serve(_ text: String, store: ServiceStore, context: ServiceContext = serviceContext) -> TCPServiceReply {
        serve(serviceInput(Array(text.utf8)), store: store, context: context)
    }
}

/// `bytes` as a slice that does not start at index 0.
func serviceInput(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
    ([0xEE, 0xEE, 0xEE] + bytes)[3...]
}

extension TCPServiceReply {
    /// The literal output as text (pattern output left out).
    var text: String {
        var bytes: [UInt8] = []
        for case let .bytes(literal) in output { bytes += literal }
        return String(decoding: bytes, as: UTF8.self)
    }
}
