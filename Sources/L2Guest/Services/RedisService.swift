/// A Redis server on port 6379, RESP2, enough for `redis-cli` 7.0 and
/// `redis-benchmark -t set,get` (also `-P` pipelining: one command per `serve` call). The keys live in
/// guest memory (`KeyValueTable`), so they survive a live migration.
///
/// Commands: `PING [msg]`, `ECHO msg`, `GET k`, `SET k v [NX|XX]`, `INCR`/`DECR k`,
/// `INCRBY`/`DECRBY k n`, `DEL k…`, `EXISTS k…`, `DBSIZE`, `FLUSHDB`, `FLUSHALL`, `SELECT 0`,
/// `CONFIG GET name…` (`save` → "", `appendonly` → "no", `databases` → "1", others nothing; what
/// redis-benchmark asks before it starts), `COMMAND …` (an empty array: redis-cli then uses its
/// built-in help), `QUIT` (`+OK` and close). Anything else, `HELLO` included (clients then stay on
/// RESP2), is `-ERR unknown command`.
///
/// Limits: keys ≤ 64 bytes, values ≤ 512 bytes, at most 3/4 of the table's slots live (1 338 keys
/// in the 1 MiB store), then `-OOM`. `SET` options other than `NX`/`XX` (`EX`, `PX`, `KEEPTTL`,
/// `GET`, …) answer `-ERR syntax error`: the store has no expiry. Requests that cannot fit the
/// receive buffer answer `-ERR Protocol error: …` and close, as Redis closes on protocol errors.
public struct RedisService: TCPService {
    public let name = "redis"
    public let port: UInt16

    public init(port: UInt16 = 6379) { self.port = port }

    public func serve(_ input: ArraySlice<UInt8>, store: ServiceStore, context: ServiceContext) -> TCPServiceReply {
        switch RESPRequest.parse(input) {
        case .needMoreInput:
            return .needMoreInput
        case let .empty(consumed):
            return TCPServiceReply(consumed: consumed)
        case let .protocolError(message):
            return TCPServiceReply(consumed: input.count, output: [.bytes(RESPReply.error("ERR " + message))], close: true)
        case let .command(arguments, consumed):
            store.bump(ServiceStoreLayout.redisCommandsOffset)
            var (reply, close) = RedisCommands.execute(arguments, table: KeyValueTable(store: store))
            if reply.count > TCPServiceLimits.maximumReply {
                reply = RESPReply.error("ERR reply of \(reply.count) bytes is larger than this VM's \(TCPServiceLimits.maximumReply)-byte limit")
            }
            return TCPServiceReply(consumed: consumed, output: [.bytes(reply)], close: close)
        }
    }
}

/// The commands `RedisService` knows, by name, with Redis's arity (negative: at least that many
/// words, the name included) and their replies.
enum RedisCommands {
    typealias Arguments = [ArraySlice<UInt8>]

    static let arity: [String: Int] = [
        "ping": -1, "echo": 2, "get": 2, "set": -3, "incr": 2, "decr": 2, "incrby": 3, "decrby": 3,
        "del": -2, "exists": -2, "dbsize": 1, "flushdb": -1, "flushall": -1, "select": 2, "config": -2,
        "command": -1, "quit": -1,
    ]

    static let notInteger = RESPReply.error("ERR value is not an integer or out of range")
    static let syntaxError = RESPReply.error("ERR syntax error")
    static let outOfMemory = RESPReply.error("OOM command not allowed when used memory > 'maxmemory'.")

    /// The reply to one command and whether to close after it.
    static func execute(_ arguments: Arguments, table: KeyValueTable) -> (reply: [UInt8], close: Bool) {
        let name = String(decoding: arguments[0].map(ServiceBytes.lowercased), as: UTF8.self)
        guard let arity = arity[name] else { return (unknown(arguments), false) }
        guard arity >= 0 ? arguments.count == arity : arguments.count >= -arity else {
            return (wrongArity(name), false)
        }
        let key = arguments.count > 1 ? arguments[1] : []
        switch name {
        case "ping": return (arguments.count == 1 ? RESPReply.simple("PONG") : arguments.count == 2 ? RESPReply.bulk(key) : wrongArity(name), false)
        case "echo": return (RESPReply.bulk(key), false)
        case "get": return (get(key, table), false)
        case "set": return (set(arguments, table), false)
        case "incr": return (increment(key, by: 1, table), false)
        case "decr": return (increment(key, by: -1, table), false)
        case "incrby", "decrby":
            guard let amount = ServiceBytes.strictInteger(arguments[2]) else { return (notInteger, false) }
            if name == "decrby" {
                guard amount != .min else { return (RESPReply.error("ERR decrement would overflow"), false) }
                return (increment(key, by: -amount, table), false)
            }
            return (increment(key, by: amount, table), false)
        case "del": return (RESPReply.integer(Int64(arguments.dropFirst().filter { table.remove($0) }.count)), false)
        case "exists": return (RESPReply.integer(Int64(arguments.dropFirst().filter { table.contains($0) }.count)), false)
        case "dbsize": return (RESPReply.integer(Int64(table.liveCount)), false)
        case "flushdb", "flushall":
            table.removeAll()
            return (RESPReply.ok, false)
        case "select":
            guard let index = ServiceBytes.strictInteger(key) else { return (notInteger, false) }
            return (index == 0 ? RESPReply.ok : RESPReply.error("ERR DB index is out of range"), false)
        case "config": return (config(arguments), false)
        case "command": return (RESPReply.array([]), false)
        case "quit": return (RESPReply.ok, true)
        default: return (unknown(arguments), false)
        }
    }

    static func get(_ key: ArraySlice<UInt8>, _ table: KeyValueTable) -> [UInt8] {
        table.value(for: key).map { RESPReply.bulk($0) } ?? RESPReply.null
    }

    static func set(_ arguments: Arguments, _ table: KeyValueTable) -> [UInt8] {
        var condition = KeyValueTable.SetCondition.always
        for option in arguments.dropFirst(3) {
            if ServiceBytes.equalsIgnoringCase(option, "nx"), condition != .ifPresent {
                condition = .ifAbsent
            } else if ServiceBytes.equalsIgnoringCase(option, "xx"), condition != .ifAbsent {
                condition = .ifPresent
            } else {
                return syntaxError
            }
        }
        if let problem = sizeProblem(key: arguments[1], value: arguments[2]) { return problem }
        switch table.set(arguments[1], arguments[2], condition: condition) {
        case .stored: return RESPReply.ok
        case .conditionFailed: return RESPReply.null
        case .full: return outOfMemory
        }
    }

    static func increment(_ key: ArraySlice<UInt8>, by amount: Int64, _ table: KeyValueTable) -> [UInt8] {
        var current: Int64 = 0
        if let stored = table.value(for: key) {
            guard let value = ServiceBytes.strictInteger(stored[...]) else { return notInteger }
            current = value
        }
        let (sum, overflow) = current.addingReportingOverflow(amount)
        guard !overflow else { return RESPReply.error("ERR increment or decrement would overflow") }
        if let problem = sizeProblem(key: key, value: []) { return problem }
        switch table.set(key, Array(String(sum).utf8)[...]) {
        case .stored: return RESPReply.integer(sum)
        case .conditionFailed, .full: return outOfMemory
        }
    }

    static func sizeProblem(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>) -> [UInt8]? {
        if key.count > KeyValueTable.maximumKey {
            return RESPReply.error("ERR key too long for this VM's store (max \(KeyValueTable.maximumKey) bytes)")
        }
        if value.count > KeyValueTable.maximumValue {
            return RESPReply.error("ERR value too large for this VM's store (max \(KeyValueTable.maximumValue) bytes)")
        }
        return nil
    }

    /// `CONFIG GET name…` answers the few parameters clients ask for as a flat name/value array;
    /// redis-benchmark 7.0 reads element 1 of `CONFIG GET save` and of `CONFIG GET appendonly`.
    static let configuration: [(name: String, value: String)] = [("save", ""), ("appendonly", "no"), ("databases", "1")]

    static func config(_ arguments: Arguments) -> [UInt8] {
        let subcommand = String(decoding: arguments[1].map(ServiceBytes.lowercased), as: UTF8.self)
        guard subcommand == "get" else {
            return RESPReply.error("ERR unknown subcommand '\(ServiceBytes.text(arguments[1].prefix(128)))'. Try CONFIG HELP.")
        }
        guard arguments.count >= 3 else { return wrongArity("config|get") }
        var elements: [[UInt8]] = []
        for parameter in configuration
        where arguments.dropFirst(2).contains(where: { ServiceBytes.equalsIgnoringCase($0, parameter.name) || $0.elementsEqual("*".utf8) }) {
            elements.append(RESPReply.bulk(Array(parameter.name.utf8)))
            elements.append(RESPReply.bulk(Array(parameter.value.utf8)))
        }
        return RESPReply.array(elements)
    }

    static func wrongArity(_ name: String) -> [UInt8] {
        RESPReply.error("ERR wrong number of arguments for '\(name)' command")
    }

    /// Redis 7's wording: the name as sent and up to 128 bytes of arguments, each quoted and followed
    /// by a space.
    static func unknown(_ arguments: Arguments) -> [UInt8] {
        var rest = ""
        for argument in arguments.dropFirst() where rest.utf8.count < 128 {
            rest += "'\(ServiceBytes.text(argument.prefix(128 - rest.utf8.count)))' "
        }
        return RESPReply.error("ERR unknown command '\(ServiceBytes.text(arguments[0].prefix(128)))', with args beginning with: \(rest)")
    }
}
