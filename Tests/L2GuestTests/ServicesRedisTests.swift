import Testing
@testable import L2Guest

/// A multi-bulk request as redis-cli and redis-benchmark send it.
func resp(_ words: String...) -> String {
    "*\(words.count)\r\n" + words.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
}

@Suite struct ServicesRedisTests {
    let redis = RedisService()

    /// Sends each request, expects each reply, in order, on one store.
    func exchange(_ pairs: [(String, String)], store: ServiceStore) {
        for (request, expected) in pairs {
            let reply = redis.serve(request, store: store)
            #expect(reply.text == expected, "request \(request.debugDescription)")
            #expect(reply.consumed == request.utf8.count)
            #expect(!reply.close)
        }
    }

    @Test func redisCliGolden() throws {
        let store = try makeServiceStore()
        exchange([
            ("*3\r\n$3\r\nSET\r\n$5\r\nmykey\r\n$5\r\nhello\r\n", "+OK\r\n"),
            ("*2\r\n$3\r\nGET\r\n$5\r\nmykey\r\n", "$5\r\nhello\r\n"),
            ("*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n", "$-1\r\n"),
            ("*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n", ":1\r\n"),
            ("*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n", ":2\r\n"),
            ("*3\r\n$6\r\nEXISTS\r\n$5\r\nmykey\r\n$4\r\nnope\r\n", ":1\r\n"),
            ("*1\r\n$6\r\nDBSIZE\r\n", ":2\r\n"),
            ("*3\r\n$3\r\nDEL\r\n$5\r\nmykey\r\n$7\r\ncounter\r\n", ":2\r\n"),
            ("*1\r\n$6\r\ndbsize\r\n", ":0\r\n"),
            ("*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n", "*0\r\n"),
            ("*1\r\n$4\r\nPING\r\n", "+PONG\r\n"),
            ("*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n", "$2\r\nhi\r\n"),
            ("*2\r\n$4\r\nECHO\r\n$3\r\na b\r\n", "$3\r\na b\r\n"),
            ("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n", "+OK\r\n"),
        ], store: store)
        #expect(store.redisCommandCount == 14)
    }

    @Test func redisBenchmarkGolden() throws {
        let store = try makeServiceStore()
        exchange([
            ("*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"),
            ("*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$10\r\nappendonly\r\n", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"),
            ("*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$9\r\nmaxmemory\r\n", "*0\r\n"),
            ("*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n", "+OK\r\n"),
            ("*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n", "$3\r\nxxx\r\n"),
        ], store: store)
    }

    @Test func pipelinedCommandsAreServedOneAtATime() throws {
        let store = try makeServiceStore()
        let set = "*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n"
        let get = "*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n"
        var input = Array(String(repeating: set + get, count: 3).utf8)
        var replies: [String] = []
        while true {
            let reply = redis.serve(serviceInput(input), store: store, context: serviceContext)
            guard reply.consumed > 0 else { break }
            replies.append(reply.text)
            input.removeFirst(reply.consumed)
        }
        #expect(replies == Array(repeating: ["+OK\r\n", "$3\r\nxxx\r\n"], count: 3).flatMap { $0 })
        #expect(input.isEmpty)
    }

    @Test(arguments: 0..<"*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n".utf8.count)
    func partialCommandWaits(length: Int) throws {
        let request = Array("*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n".utf8)
        #expect(redis.serve(serviceInput(Array(request.prefix(length))), store: try makeServiceStore(),
                            context: serviceContext) == .needMoreInput)
    }

    @Test func inlineCommandsFromTelnet() throws {
        let store = try makeServiceStore()
        exchange([
            ("PING\r\n", "+PONG\r\n"),
            ("ping\n", "+PONG\r\n"),
            ("\r\n", ""),
            ("set greeting \"hello world\\n\"\r\n", "+OK\r\n"),
            ("GET greeting\r\n", "$12\r\nhello world\n\r\n"),
            ("set 'it\\'s' \"\\x41\"\r\n", "+OK\r\n"),
            ("get \"it's\"\r\n", "$1\r\nA\r\n"),
        ], store: store)
        #expect(redis.serve("PING", store: store) == .needMoreInput)
        let unbalanced = redis.serve("SET a \"b\r\n", store: store)
        #expect(unbalanced.text == "-ERR Protocol error: unbalanced quotes in request\r\n")
        #expect(unbalanced.close)
    }

    @Test func quitAnswersOkAndCloses() throws {
        let reply = redis.serve(resp("QUIT"), store: try makeServiceStore())
        #expect(reply.text == "+OK\r\n")
        #expect(reply.close)
    }

    @Test func commandErrors() throws {
        let store = try makeServiceStore()
        let long = String(repeating: "v", count: 513)
        exchange([
            (resp("HELLO", "3"), "-ERR unknown command 'HELLO', with args beginning with: '3' \r\n"),
            (resp("FOO"), "-ERR unknown command 'FOO', with args beginning with: \r\n"),
            (resp("GET"), "-ERR wrong number of arguments for 'get' command\r\n"),
            (resp("get", "a", "b"), "-ERR wrong number of arguments for 'get' command\r\n"),
            (resp("SET", "a"), "-ERR wrong number of arguments for 'set' command\r\n"),
            (resp("PING", "a", "b"), "-ERR wrong number of arguments for 'ping' command\r\n"),
            (resp("CONFIG", "GET"), "-ERR wrong number of arguments for 'config|get' command\r\n"),
            (resp("CONFIG", "SET", "save", ""), "-ERR unknown subcommand 'SET'. Try CONFIG HELP.\r\n"),
            (resp("SET", "s", "abc"), "+OK\r\n"),
            (resp("INCR", "s"), "-ERR value is not an integer or out of range\r\n"),
            (resp("SET", "n", "9223372036854775807"), "+OK\r\n"),
            (resp("INCR", "n"), "-ERR increment or decrement would overflow\r\n"),
            (resp("INCRBY", "n", "x"), "-ERR value is not an integer or out of range\r\n"),
            (resp("DECRBY", "m", "5"), ":-5\r\n"),
            (resp("DECR", "m"), ":-6\r\n"),
            (resp("SET", "k", "v", "EX", "10"), "-ERR syntax error\r\n"),
            (resp("SET", "k", "v", "NX", "XX"), "-ERR syntax error\r\n"),
            (resp("SET", "k", "v", "XX"), "$-1\r\n"),
            (resp("SET", "k", "v", "NX"), "+OK\r\n"),
            (resp("SET", "k", "w", "NX"), "$-1\r\n"),
            (resp("SET", "k", "w", "xx"), "+OK\r\n"),
            (resp("SET", "big", long), "-ERR value too large for this VM's store (max 512 bytes)\r\n"),
            (resp("SET", String(repeating: "k", count: 65), "v"), "-ERR key too long for this VM's store (max 64 bytes)\r\n"),
            (resp("SELECT", "1"), "-ERR DB index is out of range\r\n"),
            (resp("SELECT", "x"), "-ERR value is not an integer or out of range\r\n"),
            (resp("GET", "k"), "$1\r\nw\r\n"),
        ], store: store)
    }

    @Test func protocolErrorsClose() throws {
        let store = try makeServiceStore()
        let cases: [(String, String)] = [
            ("*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"),
            ("*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"),
            ("*1\r\n$-3\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
            ("*1\r\n$4\r\nPINGxx", "-ERR Protocol error: bulk string not followed by CRLF\r\n"),
            ("*1\r\n$20000\r\n", "-ERR Protocol error: request does not fit this VM's 16384-byte receive buffer\r\n"),
            ("*5000\r\n", "-ERR Protocol error: request does not fit this VM's 16384-byte receive buffer\r\n"),
        ]
        for (request, expected) in cases {
            let reply = redis.serve(request, store: store)
            #expect(reply.text == expected)
            #expect(reply.close)
        }
        let noNewline = redis.serve(String(repeating: "A", count: TCPServiceLimits.receiveBuffer), store: store)
        #expect(noNewline.text == "-ERR Protocol error: too big inline request\r\n")
        #expect(noNewline.close)
        #expect(redis.serve(String(repeating: "A", count: TCPServiceLimits.receiveBuffer - 1), store: store) == .needMoreInput)
        let empty = redis.serve("*0\r\n", store: store)
        #expect(empty == TCPServiceReply(consumed: 4))
    }

    @Test func storeFullAnswersOOMAndTombstonesAreReused() throws {
        let store = try makeServiceStore()
        let table = KeyValueTable(store: store)
        #expect(table.slotCount == 255 * 7)
        for index in 0..<table.maximumLive {
            #expect(redis.serve(resp("SET", "key:\(index)", "v\(index)"), store: store).text == "+OK\r\n")
        }
        #expect(store.redisKeyCount == UInt64(table.maximumLive))
        #expect(redis.serve(resp("SET", "one-more", "x"), store: store).text
            == "-OOM command not allowed when used memory > 'maxmemory'.\r\n")
        #expect(redis.serve(resp("INCR", "one-more"), store: store).text.hasPrefix("-OOM"))
        // Overwriting a key needs no new slot.
        #expect(redis.serve(resp("SET", "key:7", "new"), store: store).text == "+OK\r\n")
        // Deleting frees room, and a new key may land on a tombstone.
        for index in 0..<100 {
            #expect(redis.serve(resp("DEL", "key:\(index)"), store: store).text == ":1\r\n")
        }
        #expect(redis.serve(resp("DEL", "key:0"), store: store).text == ":0\r\n")
        #expect(table.tombstoneCount > 0)
        let tombstonesBefore = table.tombstoneCount
        for index in 0..<100 {
            #expect(redis.serve(resp("SET", "again:\(index)", "\(index)"), store: store).text == "+OK\r\n")
        }
        #expect(table.tombstoneCount < tombstonesBefore)
        #expect(redis.serve(resp("DBSIZE"), store: store).text == ":\(table.maximumLive)\r\n")
        for index in stride(from: 100, to: table.maximumLive, by: 97) {
            #expect(redis.serve(resp("GET", "key:\(index)"), store: store).text == "$\("v\(index)".utf8.count)\r\nv\(index)\r\n")
        }
        #expect(redis.serve(resp("GET", "again:42"), store: store).text == "$2\r\n42\r\n")
        #expect(redis.serve(resp("FLUSHALL"), store: store).text == "+OK\r\n")
        #expect(store.redisKeyCount == 0)
        #expect(table.tombstoneCount == 0)
        #expect(redis.serve(resp("GET", "again:42"), store: store).text == "$-1\r\n")
    }

    @Test func deleteBeforeAnEmptySlotLeavesNoTombstone() throws {
        let store = try makeServiceStore()
        let table = KeyValueTable(store: store)
        #expect(table.set(Array("solo".utf8)[...], Array("1".utf8)[...]) == .stored)
        #expect(table.remove(Array("solo".utf8)[...]))
        #expect(table.tombstoneCount == 0)
        #expect(table.liveCount == 0)
    }

    @Test func tombstonedSlotIsFoundPastAndReused() throws {
        let store = try makeServiceStore()
        let table = KeyValueTable(store: store)
        // Three keys in a row of one probe chain: find keys whose home slot is the same.
        let home = Int(KeyValueTable.fnv1a(Array("k0".utf8)[...]) % UInt64(table.slotCount))
        var chain = ["k0"]
        var candidate = 1
        while chain.count < 3 {
            let key = "k\(candidate)"
            if Int(KeyValueTable.fnv1a(Array(key.utf8)[...]) % UInt64(table.slotCount)) == home { chain.append(key) }
            candidate += 1
        }
        for key in chain { #expect(table.set(Array(key.utf8)[...], Array(key.utf8)[...]) == .stored) }
        #expect(table.remove(Array(chain[1].utf8)[...]))
        #expect(table.tombstoneCount == 1)
        #expect(table.value(for: Array(chain[2].utf8)[...]) == Array(chain[2].utf8))
        // Re-adding the deleted key takes the tombstone (the first free slot of its chain).
        #expect(table.set(Array(chain[1].utf8)[...], Array("back".utf8)[...]) == .stored)
        #expect(table.find(Array(chain[1].utf8)[...]).slot == (home + 1) % table.slotCount)
        #expect(table.tombstoneCount == 0)
        // Removing the last of the chain (next slot empty) also clears the tombstone before it.
        #expect(table.remove(Array(chain[1].utf8)[...]))
        #expect(table.remove(Array(chain[2].utf8)[...]))
        #expect(table.tombstoneCount == 0)
        #expect(table.header((home + 1) % table.slotCount) == 0)
        #expect(table.value(for: Array(chain[0].utf8)[...]) == Array(chain[0].utf8))
    }

    @Test func fnv1aIsTheStandardHash() {
        #expect(KeyValueTable.fnv1a([]) == 0xCBF2_9CE4_8422_2325)
        #expect(KeyValueTable.fnv1a(Array("a".utf8)[...]) == 0xAF63_DC4C_8601_EC8C)
        #expect(KeyValueTable.fnv1a(Array("key:__rand_int__".utf8)[...]) == 0x2DD1_39A7_A6B5_7317)
    }

    @Test func strictIntegerFollowsRedis() {
        #expect(ServiceBytes.strictInteger(Array("0".utf8)[...]) == 0)
        #expect(ServiceBytes.strictInteger(Array("-9223372036854775808".utf8)[...]) == .min)
        #expect(ServiceBytes.strictInteger(Array("9223372036854775807".utf8)[...]) == .max)
        for bad in ["", "-0", "01", "+1", " 1", "1 ", "9223372036854775808", "-9223372036854775809", "1a", "-"] {
            #expect(ServiceBytes.strictInteger(Array(bad.utf8)[...]) == nil, "\(bad)")
        }
    }
}
