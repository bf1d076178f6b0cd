import Foundation
import L2Wire

/// One thing wrong with a VM configuration, naming the field (`workload.pattern` for nested ones).
public struct VMConfigurationProblem: Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// A VM configuration was refused; `problems` lists every reason found, not just the first.
public struct VMConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var problems: [VMConfigurationProblem]

    public init(_ problems: [VMConfigurationProblem]) { self.problems = problems }

    /// The fields named by the problems, in order.
    public var fields: [String] { problems.map(\.field) }

    public var description: String {
        let lines = problems.map { "  - \($0)" }.joined(separator: "\n")
        return "invalid VM configuration (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n" + lines
    }
}

/// A VM as written on its datastore: identity, NIC, memory, port group, workload and disk file.
///
/// JSON form (unknown keys are refused, so a typo never silently falls back to a default):
/// ```json
/// { "name": "web01", "mac": "00:50:56:00:00:10", "ip": "10.10.0.10/24", "memoryMiB": 512,
///   "portGroup": "Production", "workload": "web", "touchedMiB": 128,
///   "gratuitousARPAtPowerOn": true, "disk": "web01.img", "seed": 42, "ipv6": ["fd00:10:10::10/64"] }
/// ```
/// `ipv6` (optional) lists the VM's IPv6 addresses besides its EUI-64 link-local one, which it always
/// has; without the key it gets `IPv6Interface.defaultULA(for: ip)` (10.10.0.10 → fd00:10:10::10/64),
/// and `"ipv6": []` leaves it with the link-local address only.
/// `workload` is a preset name (`idle`, `web`, `db`) or an object with `preset` (optional base) and
/// any of `pagesPerSecond`, `workingSetPages` or `workingSetMiB`, `pattern` (`uniform`, `hotCold`,
/// `sequential`), `hotSetFraction`, `hotWriteFraction`.
public struct VMConfiguration: Hashable, Sendable, Codable {
    public var name: String
    public var mac: MACAddress
    public var ip: IPv4Interface
    public var memoryMiB: Int
    /// The port group label; must match the host's exactly, case included.
    public var portGroup: String
    public var workload: WorkloadSpec
    /// Send a gratuitous ARP when powered on (default false).
    public var gratuitousARPAtPowerOn: Bool?
    /// MiB of memory filled with non-zero data at power-on (default 0).
    public var touchedMiB: Int?
    /// The disk image's file name, in the VM's folder on its datastore.
    public var disk: String
    /// Seed of every pseudo-random choice the VM makes (default derived from the MAC).
    public var seed: UInt64?
    /// IPv6 addresses besides the link-local one (nil: the default ULA of `ip`; empty: none).
    public var ipv6: [IPv6Interface]?

    public init(name: String, mac: MACAddress, ip: IPv4Interface, memoryMiB: Int, portGroup: String,
                workload: WorkloadSpec, gratuitousARPAtPowerOn: Bool? = nil, touchedMiB: Int? = nil,
                disk: String, seed: UInt64? = nil, ipv6: [IPv6Interface]? = nil) {
        self.name = name
        self.mac = mac
        self.ip = ip
        self.memoryMiB = memoryMiB
        self.portGroup = portGroup
        self.workload = workload
        self.gratuitousARPAtPowerOn = gratuitousARPAtPowerOn
        self.touchedMiB = touchedMiB
        self.disk = disk
        self.seed = seed
        self.ipv6 = ipv6
    }

    /// The IPv6 addresses configured, or by default the ULA of the IPv4 address (link-local not included).
    public var effectiveIPv6: [IPv6Interface] { ipv6 ?? [.defaultULA(for: ip.address)] }

    /// Every IPv6 address of the VM: its EUI-64 link-local one first, then `effectiveIPv6`.
    public var ipv6Interfaces: [IPv6Interface] { [.linkLocal(eui64: mac)] + effectiveIPv6 }

    /// Largest memory accepted: 1 TiB.
    public static let maximumMemoryMiB = 1 << 20

    public var memoryBytes: Int { memoryMiB * 1_048_576 }
    public var effectiveSeed: UInt64 { seed ?? (mac.rawValue ^ 0x5EED_0000_0000_0000) }
    public var sendsGratuitousARP: Bool { gratuitousARPAtPowerOn ?? false }

    /// Every problem with the values (an empty array means valid).
    public func validate() -> [VMConfigurationProblem] {
        var problems: [VMConfigurationProblem] = []
        func add(_ field: String, _ message: String) { problems.append(.init(field: field, message: message)) }

        if name.isEmpty {
            add("name", "must not be empty")
        } else if name.count > 64 || !name.unicodeScalars.allSatisfy(Self.isNameCharacter) {
            add("name", "\"\(name)\" may only use letters, digits, '.', '_' and '-' (at most 64)")
        }
        if mac.isMulticast {
            add("mac", "\(mac) is a group (multicast) address; a NIC needs a unicast MAC like 00:50:56:00:00:10")
        } else if mac.isZero {
            add("mac", "00:00:00:00:00:00 is not a usable NIC address")
        }
        if ip.address == .any {
            add("ip", "0.0.0.0 is not a usable address")
        } else if ip.prefixLength == 0 || ip.prefixLength == 32 {
            add("ip", "prefix /\(ip.prefixLength) leaves no subnet; write it like 10.10.0.10/24")
        } else if ip.prefixLength <= 30 {
            let host = ip.address.rawValue & ~ip.netmask
            if host == 0 { add("ip", "\(ip) is the subnet's network address") }
            if host == ~ip.netmask { add("ip", "\(ip) is the subnet's broadcast address") }
        }
        if memoryMiB <= 0 {
            add("memoryMiB", "must be positive, not \(memoryMiB)")
        } else if memoryMiB > Self.maximumMemoryMiB {
            add("memoryMiB", "\(memoryMiB) exceeds the largest VM, \(Self.maximumMemoryMiB) MiB")
        }
        if let touchedMiB {
            if touchedMiB < 0 {
                add("touchedMiB", "must not be negative, not \(touchedMiB)")
            } else if memoryMiB > 0, touchedMiB > memoryMiB {
                add("touchedMiB", "\(touchedMiB) is more than the VM's memory (\(memoryMiB) MiB)")
            }
        }
        if portGroup.isEmpty { add("portGroup", "must not be empty") }
        if disk.isEmpty {
            add("disk", "must not be empty")
        } else if disk.contains("/") || disk == "." || disk == ".." {
            add("disk", "\"\(disk)\" must be a file name in the VM's folder, without '/'")
        }
        for message in workload.problems() {
            add("workload", message)
        }
        for (n, interface) in (ipv6 ?? []).enumerated() {
            let address = interface.address
            if address.isUnspecified || address.isMulticast || address.isLinkLocal {
                let kind = address.isUnspecified ? "the unspecified address" : address.isMulticast ? "a multicast address" : "link-local (the VM forms fe80:: from its MAC itself)"
                add("ipv6[\(n)]", "\(interface) is \(kind); give a unicast address like fd00:10:10::10/64")
            } else if interface.prefixLength == 0 {
                add("ipv6[\(n)]", "prefix /0 leaves no subnet; write it like fd00:10:10::10/64")
            }
            if (ipv6 ?? []).prefix(n).contains(where: { $0.address == address }) {
                add("ipv6[\(n)]", "\(address) is listed twice")
            }
        }
        return problems
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
    }

    // MARK: parsing

    /// Parses a JSON configuration and validates it; the error lists every problem, each naming its field.
    public static func parse(json bytes: [UInt8]) throws(VMConfigurationError) -> VMConfiguration {
        do {
            return try JSONDecoder().decode(VMConfiguration.self, from: Data(bytes))
        } catch let error as VMConfigurationError {
            throw error
        } catch {
            throw VMConfigurationError([.init(field: "(file)", message: "not valid JSON: \(Self.describe(error))")])
        }
    }

    /// Parses a JSON configuration from text.
    public static func parse(json text: String) throws(VMConfigurationError) -> VMConfiguration {
        try parse(json: Array(text.utf8))
    }

    private static func describe(_ error: any Error) -> String {
        if case let DecodingError.dataCorrupted(context) = error {
            if let underlying = context.underlyingError { return "\(underlying)" }
            return context.debugDescription
        }
        return "\(error)"
    }

    static let keys = ["name", "mac", "ip", "memoryMiB", "portGroup", "workload", "gratuitousARPAtPowerOn",
                       "touchedMiB", "disk", "seed", "ipv6"]
    static let workloadKeys = ["preset", "pagesPerSecond", "workingSetPages", "workingSetMiB", "pattern",
                               "hotSetFraction", "hotWriteFraction"]

    public init(from decoder: any Decoder) throws {
        guard let container = try? decoder.container(keyedBy: AnyKey.self) else {
            throw VMConfigurationError([.init(field: "(file)", message: "the configuration must be a JSON object { ... }")])
        }
        var fields = FieldReader(container: container, prefix: "")
        fields.rejectUnknown(known: Self.keys)

        let name = fields.required("name", String.self, expecting: "a string")
        let mac = fields.required("mac", String.self, expecting: "a string like \"00:50:56:00:00:10\"").flatMap { text in
            fields.check(MACAddress(text), "mac", "\"\(text)\" is not a MAC address; write six hex octets like 00:50:56:00:00:10")
        }
        let ip = fields.required("ip", String.self, expecting: "a string like \"10.10.0.10/24\"").flatMap { text in
            fields.check(IPv4Interface(text), "ip", "\"\(text)\" is not an IPv4 address with prefix; write it like 10.10.0.10/24")
        }
        let memory = fields.required("memoryMiB", Int.self, expecting: "a whole number of MiB")
        let portGroup = fields.required("portGroup", String.self, expecting: "a string (the port group label)")
        let workload = Self.decodeWorkload(&fields)
        let garp = fields.optional("gratuitousARPAtPowerOn", Bool.self, expecting: "true or false")
        let touched = fields.optional("touchedMiB", Int.self, expecting: "a whole number of MiB")
        let disk = fields.required("disk", String.self, expecting: "a string (the disk image's file name)")
        let seed = fields.optional("seed", UInt64.self, expecting: "a whole number 0...2^64-1")
        let ipv6 = Self.decodeIPv6(&fields)

        guard fields.problems.isEmpty, let name, let mac, let ip, let memory, let portGroup, let workload,
              let disk else {
            throw VMConfigurationError(fields.problems)
        }
        self.init(name: name, mac: mac, ip: ip, memoryMiB: memory, portGroup: portGroup, workload: workload,
                  gratuitousARPAtPowerOn: garp, touchedMiB: touched, disk: disk, seed: seed, ipv6: ipv6)
        let problems = validate()
        guard problems.isEmpty else { throw VMConfigurationError(problems) }
    }

    private static func decodeIPv6(_ fields: inout FieldReader) -> [IPv6Interface]? {
        guard let texts = fields.optional("ipv6", [String].self, expecting: "a list of strings like [\"fd00:10:10::10/64\"]") else { return nil }
        var interfaces: [IPv6Interface] = []
        for (n, text) in texts.enumerated() {
            if let interface = fields.check(IPv6Interface(text), "ipv6[\(n)]",
                                            "\"\(text)\" is not an IPv6 address with prefix; write it like fd00:10:10::10/64") {
                interfaces.append(interface)
            }
        }
        return interfaces
    }

    private static func decodeWorkload(_ fields: inout FieldReader) -> WorkloadSpec? {
        let key = AnyKey("workload")
        guard fields.container.contains(key) else {
            fields.problems.append(.init(field: "workload", message: "missing; choose one of \(WorkloadSpec.presetNames.joined(separator: ", ")) or give {\"pagesPerSecond\": …, \"workingSetMiB\": …, \"pattern\": …}"))
            return nil
        }
        if let name = try? fields.container.decode(String.self, forKey: key) {
            return fields.check(WorkloadSpec.preset(named: name), "workload", Self.unknownPreset(name))
        }
        guard let nested = try? fields.container.nestedContainer(keyedBy: AnyKey.self, forKey: key) else {
            fields.problems.append(.init(field: "workload", message: "must be a preset name (\(WorkloadSpec.presetNames.joined(separator: ", "))) or an object"))
            return nil
        }
        var inner = FieldReader(container: nested, prefix: "workload.")
        inner.rejectUnknown(known: Self.workloadKeys)
        var spec = WorkloadSpec(pagesPerSecond: 0, workingSetPages: 256, pattern: .uniform)
        if let preset = inner.optional("preset", String.self, expecting: "a preset name") {
            if let base = WorkloadSpec.preset(named: preset) { spec = base } else {
                inner.problems.append(.init(field: "workload.preset", message: Self.unknownPreset(preset)))
            }
        } else {
            spec.preset = nil
        }
        let customised = Self.workloadKeys.dropFirst().contains { inner.container.contains(AnyKey($0)) }
        if customised, spec.preset != nil { spec.preset! += "+custom" }
        if let rate = inner.optional("pagesPerSecond", Double.self, expecting: "a number") { spec.pagesPerSecond = rate }
        let pages = inner.optional("workingSetPages", Int.self, expecting: "a whole number of pages")
        let mib = inner.optional("workingSetMiB", Int.self, expecting: "a whole number of MiB")
        if pages != nil, mib != nil {
            inner.problems.append(.init(field: "workload.workingSetMiB", message: "give workingSetPages or workingSetMiB, not both"))
        }
        if let pages { spec.workingSetPages = pages }
        if let mib { spec.workingSetPages = mib * (1_048_576 / GuestMemory.pageSize) }
        if let text = inner.optional("pattern", String.self, expecting: "a string") {
            if let pattern = WorkloadPattern(rawValue: text) { spec.pattern = pattern } else {
                inner.problems.append(.init(field: "workload.pattern", message: "unknown pattern \"\(text)\"; choose one of \(WorkloadPattern.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
        }
        if let value = inner.optional("hotSetFraction", Double.self, expecting: "a number") { spec.hotSetFraction = value }
        if let value = inner.optional("hotWriteFraction", Double.self, expecting: "a number") { spec.hotWriteFraction = value }
        fields.problems += inner.problems
        return inner.problems.isEmpty ? spec : nil
    }

    static func unknownPreset(_ name: String) -> String {
        "unknown workload \"\(name)\"; choose one of \(WorkloadSpec.presetNames.joined(separator: ", "))"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(name, forKey: AnyKey("name"))
        try container.encode(mac, forKey: AnyKey("mac"))
        try container.encode(ip, forKey: AnyKey("ip"))
        try container.encode(memoryMiB, forKey: AnyKey("memoryMiB"))
        try container.encode(portGroup, forKey: AnyKey("portGroup"))
        if let preset = workload.preset, WorkloadSpec.preset(named: preset) == workload {
            try container.encode(preset, forKey: AnyKey("workload"))
        } else {
            var nested = container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("workload"))
            try nested.encode(workload.pagesPerSecond, forKey: AnyKey("pagesPerSecond"))
            try nested.encode(workload.workingSetPages, forKey: AnyKey("workingSetPages"))
            try nested.encode(workload.pattern.rawValue, forKey: AnyKey("pattern"))
            try nested.encode(workload.hotSetFraction, forKey: AnyKey("hotSetFraction"))
            try nested.encode(workload.hotWriteFraction, forKey: AnyKey("hotWriteFraction"))
        }
        try container.encodeIfPresent(gratuitousARPAtPowerOn, forKey: AnyKey("gratuitousARPAtPowerOn"))
        try container.encodeIfPresent(touchedMiB, forKey: AnyKey("touchedMiB"))
        try container.encode(disk, forKey: AnyKey("disk"))
        try container.encodeIfPresent(seed, forKey: AnyKey("seed"))
        try container.encodeIfPresent(ipv6, forKey: AnyKey("ipv6"))
    }
}

/// A coding key for any string: lets the decoder see (and refuse) keys it does not know.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Reads fields one by one, recording a named problem for each instead of stopping at the first.
struct FieldReader {
    let container: KeyedDecodingContainer<AnyKey>
    let prefix: String
    var problems: [VMConfigurationProblem] = []

    mutating func rejectUnknown(known: [String]) {
        for key in container.allKeys.map(\.stringValue).sorted() where !known.contains(key) {
            var message = "unknown key"
            if let near = known.first(where: { $0.lowercased() == key.lowercased() }) {
                message += "; did you mean \"\(near)\"? (keys are case-sensitive)"
            } else {
                message += "; known keys: \(known.joined(separator: ", "))"
            }
            problems.append(.init(field: prefix + key, message: message))
        }
    }

    mutating func required<T: Decodable>(_ field: String, _ type: T.Type, expecting: String) -> T? {
        guard container.contains(AnyKey(field)) else {
            problems.append(.init(field: prefix + field, message: "missing (required): \(expecting)"))
            return nil
        }
        return optional(field, type, expecting: expecting)
    }

    mutating func optional<T: Decodable>(_ field: String, _ type: T.Type, expecting: String) -> T? {
        guard container.contains(AnyKey(field)) else { return nil }
        do {
            return try container.decode(type, forKey: AnyKey(field))
        } catch {
            problems.append(.init(field: prefix + field, message: "must be \(expecting)"))
            return nil
        }
    }

    mutating func check<T>(_ value: T?, _ field: String, _ message: String) -> T? {
        if value == nil { problems.append(.init(field: prefix + field, message: message)) }
        return value
    }
}
