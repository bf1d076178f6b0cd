-- l2motion.lua: a Wireshark dissector for l2motion's migration protocol (the vMotion stream, TCP 8000
-- by default). Written from the protocol as documented in Sources/L2Migration (Protocol.swift,
-- MigrationEncoder.swift, MigrationDecoder.swift, SecureChannel.swift, Encryption.swift).
--
--   tshark -X lua_script:dissectors/l2motion.lua -d tcp.port==8000,l2motion -r vmotion.pcapng -Y l2motion
--
-- Every message is a 12-byte header (magic "L2MV", version, type, flags, payload length; big-endian)
-- and its payload. Once spec-accepted chose AES-256-GCM, both directions carry SecureChannel records
-- instead: [u32 ciphertext length][ciphertext][16-byte tag], the nonce a direction constant and an
-- implicit per-direction counter. A record can never start with the magic (its length is at most
-- 256 KiB, so its first byte is 0), which is how the framing tells the two apart.
--
-- The dissector is registered for Decode As on tcp.port (not hard-wired to a port: 8000 is also a
-- common HTTP port); the preference l2motion.tcp_ports adds ports permanently.

local l2motion = Proto("l2motion", "l2motion live migration")

-- Protocol constants (MigrationWire, SecureChannel).
local MAGIC = 0x4C324D56
local VERSION = 4
local HEADER_LENGTH = 12
local MAX_PAYLOAD = 4 * 1024 * 1024
local PAGE_SIZE = 4096
local MAX_STRING = 1024
local MAX_FRAME = 65535
local RECORD_HEADER = 4
local TAG_LENGTH = 16
local MAX_RECORD = 256 * 1024
local NONCE_SOURCE = "4c325344"       -- "L2SD": records from the source
local NONCE_DESTINATION = "4c324453"  -- "L2DS": records from the destination

local TYPE = {
    hello = 1, spec = 2, spec_accepted = 3, spec_rejected = 4, page_batch = 5, round_end = 6,
    switchover = 7, verified = 8, verify_failed = 9, resumed = 10, forwarded_frame = 11, commit = 12,
    abort = 13, switchover_query = 14, switchover_ready = 15, switchover_refused = 16, lane_hello = 17,
    postcopy_start = 18, page_request = 19, postcopy_end = 20, postcopy_recovered = 21,
}
local TYPE_NAMES = {
    [1] = "hello", [2] = "spec", [3] = "spec-accepted", [4] = "spec-rejected", [5] = "page-batch",
    [6] = "round-end", [7] = "switchover", [8] = "verified", [9] = "verify-failed", [10] = "resumed",
    [11] = "forwarded-frame", [12] = "commit", [13] = "abort", [14] = "switchover-query",
    [15] = "switchover-ready", [16] = "switchover-refused", [17] = "lane-hello",
    [18] = "postcopy-start", [19] = "page-request", [20] = "postcopy-end", [21] = "postcopy-recovered",
}
local ENCRYPTION_MODES = { [0] = "disabled", [1] = "opportunistic", [2] = "required" }
local CIPHERS = { [0] = "none", [1] = "AES-256-GCM" }
local PAGE_KINDS = { [0] = "zero", [1] = "normal", [2] = "zero range" }
local KIND_ZERO, KIND_NORMAL, KIND_ZERO_RANGE = 0, 1, 2

local f = {
    magic = ProtoField.uint32("l2motion.magic", "Magic", base.HEX),
    version = ProtoField.uint8("l2motion.version", "Version"),
    type = ProtoField.uint8("l2motion.type", "Type", base.DEC, TYPE_NAMES),
    flags = ProtoField.uint16("l2motion.flags", "Flags", base.HEX),
    length = ProtoField.uint32("l2motion.length", "Payload length"),
    seq = ProtoField.uint32("l2motion.seq", "Sequence in direction", base.DEC, nil, nil,
                            "1 for the first message (or encrypted record) of this direction"),
    direction = ProtoField.string("l2motion.direction", "Direction"),
    payload = ProtoField.bytes("l2motion.payload", "Payload"),
    string_length = ProtoField.uint16("l2motion.string_length", "String length"),

    migration_id = ProtoField.guid("l2motion.hello.id", "Migration id"),
    lane = ProtoField.uint16("l2motion.lane", "Lane", base.DEC, nil, nil,
                             "the connection's lane: 0 carries hello and the control messages, 1 and up pages only"),
    protocol_version = ProtoField.uint16("l2motion.hello.protocol_version", "Protocol version"),
    encryption_mode = ProtoField.uint8("l2motion.hello.encryption", "Encryption mode", base.DEC, ENCRYPTION_MODES),
    nonce = ProtoField.bytes("l2motion.nonce", "Handshake nonce"),
    hmac = ProtoField.bytes("l2motion.hmac", "HMAC-SHA256"),

    vm = ProtoField.string("l2motion.spec.vm", "VM name"),
    mac = ProtoField.ether("l2motion.spec.mac", "MAC address"),
    ip = ProtoField.ipv4("l2motion.spec.ip", "IPv4 address"),
    memory = ProtoField.uint64("l2motion.spec.memory", "Memory bytes"),
    page_size = ProtoField.uint32("l2motion.spec.page_size", "Page size"),
    vm_pages = ProtoField.uint64("l2motion.spec.pages", "Pages of memory"),
    port_group = ProtoField.string("l2motion.spec.port_group", "Port group"),
    datastore = ProtoField.string("l2motion.spec.datastore", "Datastore"),

    cipher = ProtoField.uint8("l2motion.accept.cipher", "Cipher", base.DEC, CIPHERS),
    reason = ProtoField.string("l2motion.reason", "Reason"),

    round = ProtoField.uint32("l2motion.batch.round", "Round"),
    records = ProtoField.uint32("l2motion.batch.records", "Page records"),
    batch_pages = ProtoField.uint64("l2motion.batch.pages", "Pages covered"),
    batch_normal = ProtoField.uint32("l2motion.batch.normal", "Normal pages"),
    batch_zero = ProtoField.uint64("l2motion.batch.zero_pages", "Zero pages",
                                   base.DEC, nil, nil, "zero-page records plus the pages of zero ranges"),
    batch_ranges = ProtoField.uint32("l2motion.batch.zero_ranges", "Zero ranges"),
    page = ProtoField.none("l2motion.page", "Page record"),
    page_index = ProtoField.uint64("l2motion.page.index", "Page index"),
    page_kind = ProtoField.uint8("l2motion.page.kind", "Kind", base.DEC, PAGE_KINDS),
    range_pages = ProtoField.uint64("l2motion.page.range_pages", "Pages in range"),
    contents = ProtoField.bytes("l2motion.page.contents", "Contents"),

    end_round = ProtoField.uint32("l2motion.round_end.round", "Round"),
    end_pages = ProtoField.uint64("l2motion.round_end.pages", "Pages"),
    end_bytes = ProtoField.uint64("l2motion.round_end.bytes", "Bytes"),
    seen_pages = ProtoField.uint64("l2motion.round_end.seen_pages", "Pages in this round's batches"),
    seen_bytes = ProtoField.uint64("l2motion.round_end.seen_bytes", "Bytes of this round's batches"),

    final_round = ProtoField.uint32("l2motion.switchover.final_round", "Final round"),
    vcpu_length = ProtoField.uint32("l2motion.switchover.vcpu_length", "vCPU state length"),
    vcpu = ProtoField.bytes("l2motion.switchover.vcpu", "vCPU state"),
    workload_length = ProtoField.uint32("l2motion.switchover.workload_length", "Workload state length"),
    workload = ProtoField.bytes("l2motion.switchover.workload", "Workload state"),
    queued = ProtoField.uint32("l2motion.switchover.queued_frames", "Queued frames"),
    frame_length = ProtoField.uint32("l2motion.frame_length", "Frame length"),
    frame = ProtoField.bytes("l2motion.frame", "Frame"),
    switchover_pages = ProtoField.uint64("l2motion.switchover.pages", "Pages of memory"),
    last_round = ProtoField.uint32("l2motion.postcopy.last_round", "Last pre-copy round"),
    missing_ranges = ProtoField.uint32("l2motion.postcopy.missing_ranges", "Missing page ranges"),
    missing_first = ProtoField.uint64("l2motion.postcopy.missing_first", "First missing page"),
    missing_count = ProtoField.uint64("l2motion.postcopy.missing_pages", "Missing pages"),
    requested_count = ProtoField.uint32("l2motion.postcopy.requested", "Requested pages"),
    requested_page = ProtoField.uint64("l2motion.postcopy.requested_page", "Requested page"),
    postcopy_pages = ProtoField.uint64("l2motion.postcopy.pages", "Pages sent after the switchover"),
    digest = ProtoField.uint64("l2motion.digest", "Memory digest", base.HEX),
    digest_matches = ProtoField.bool("l2motion.verified.matches", "Equals the switchover's digest"),

    resumed_ns = ProtoField.uint64("l2motion.resumed.ns", "Resumed at (ns)"),
    resumed_time = ProtoField.absolute_time("l2motion.resumed.time", "Resumed at", base.UTC),
    arrived_ns = ProtoField.uint64("l2motion.resumed.arrived_ns", "Switchover arrived at (ns)"),
    verified_ns = ProtoField.uint64("l2motion.resumed.verified_ns", "Digest verified at (ns)"),
    detail = ProtoField.string("l2motion.switchover_ready.detail", "What the destination checked"),

    encrypted = ProtoField.bool("l2motion.encrypted", "Encrypted"),
    record_length = ProtoField.uint32("l2motion.record.length", "Ciphertext length"),
    ciphertext = ProtoField.bytes("l2motion.record.ciphertext", "Ciphertext"),
    tag = ProtoField.bytes("l2motion.record.tag", "GCM tag"),
    record_counter = ProtoField.uint64("l2motion.record.counter", "Record counter", base.DEC, nil, nil,
                                       "never sent: the nonce's counter, 0 for the first record of a direction"),
    record_nonce = ProtoField.string("l2motion.record.nonce", "Nonce (implicit)"),
}
l2motion.fields = f

local e = {
    bad_magic = ProtoExpert.new("l2motion.bad_magic", "Not an l2motion message (bad magic)",
                                expert.group.MALFORMED, expert.severity.ERROR),
    bad_version = ProtoExpert.new("l2motion.bad_version", "Unsupported protocol version",
                                  expert.group.PROTOCOL, expert.severity.ERROR),
    unknown_type = ProtoExpert.new("l2motion.unknown_type", "Unknown message type",
                                   expert.group.PROTOCOL, expert.severity.ERROR),
    bad_flags = ProtoExpert.new("l2motion.bad_flags", "Flags must be 0", expert.group.PROTOCOL, expert.severity.ERROR),
    too_long = ProtoExpert.new("l2motion.too_long", "Payload length over the protocol's cap",
                               expert.group.MALFORMED, expert.severity.ERROR),
    malformed = ProtoExpert.new("l2motion.malformed", "Malformed payload", expert.group.MALFORMED, expert.severity.ERROR),
    inconsistent = ProtoExpert.new("l2motion.inconsistent", "Inconsistent with the stream so far",
                                   expert.group.PROTOCOL, expert.severity.ERROR),
    record_length = ProtoExpert.new("l2motion.record.bad_length", "Encrypted record length out of range",
                                    expert.group.MALFORMED, expert.severity.ERROR),
    assumed_encrypted = ProtoExpert.new("l2motion.record.assumed", "Handshake not captured: taken as an encrypted record",
                                        expert.group.SEQUENCE, expert.severity.NOTE),
    failure = ProtoExpert.new("l2motion.failure", "The migration reports a failure",
                              expert.group.RESPONSE_CODE, expert.severity.WARN),
}
l2motion.experts = e

l2motion.prefs.tcp_ports = Pref.range("TCP ports", "",
    "Ports always decoded as l2motion (Decode As works without this), e.g. 8000", 65535)
l2motion.prefs.listed_records = Pref.uint("Page records listed per batch", 4096,
    "Records past this many are counted but not added to the tree (a batch has at most 256 in practice)")

local registered_ports = ""
function l2motion.prefs_changed()
    local table = DissectorTable.get("tcp.port")
    if registered_ports ~= "" then table:remove(registered_ports, l2motion) end
    registered_ports = l2motion.prefs.tcp_ports
    if registered_ports ~= "" then table:add(registered_ports, l2motion) end
end

-- State of each TCP stream, built in capture order the first time each message is dissected; what a
-- message derives from it is cached per message so that dissecting it again shows the same.
local conversations = {}
-- Per migration id (from hello and lane-hello): its lane-0 conversation and the page and byte totals
-- of each round over all of its lanes (a migration with --streams N spreads a round over N streams).
local migrations = {}
local cache = {}
local info_frame, info_offset = nil, nil

function l2motion.init()
    conversations = {}
    migrations = {}
    cache = {}
    info_frame, info_offset = nil, nil
end

local tcp_stream = Field.new("tcp.stream")

local function conversation(pinfo)
    local fields = { tcp_stream() }
    local key = #fields > 0 and tostring(fields[#fields].value) or
        (tostring(pinfo.src) .. ":" .. pinfo.src_port .. "|" .. tostring(pinfo.dst) .. ":" .. pinfo.dst_port)
    local conv = conversations[key]
    if not conv then
        conv = { source = nil, cipher = nil, page_count = nil, seq = {}, records = {}, rounds = {},
                 digest = nil, lane = nil, migration = nil }
        conversations[key] = conv
    end
    return conv
end

local function endpoint(pinfo, which)
    if which == "src" then return tostring(pinfo.src) .. ":" .. pinfo.src_port end
    return tostring(pinfo.dst) .. ":" .. pinfo.dst_port
end

-- True when this message goes from the migration source (the side that sent hello; without a captured
-- hello, the side on the higher port, as a client's ephemeral port usually is).
local function from_source(conv, pinfo)
    if conv.source then return conv.source == endpoint(pinfo, "src") end
    return pinfo.src_port > pinfo.dst_port
end

-- A reader over one payload: each step checks the bytes are there, adds its field and moves on; the
-- first shortfall or bad value is kept in `problem` and ends the parse.
local Reader = {}
Reader.__index = Reader

local function new_reader(tvb, pos, stop, tree)
    return setmetatable({ tvb = tvb, start = pos, pos = pos, stop = stop, tree = tree, problem = nil }, Reader)
end

function Reader:remaining() return self.stop - self.pos end

function Reader:fail(text)
    if not self.problem then self.problem = text end
end

-- The next n bytes (n >= 1) as a range, or nil once the payload is too short.
function Reader:take(n, what)
    if self.problem then return nil end
    if n > self.stop - self.pos then
        self:fail(string.format("%s needs %d bytes, %d left", what, n, self.stop - self.pos))
        return nil
    end
    local range = self.tvb(self.pos, n)
    self.pos = self.pos + n
    return range
end

-- Adds field `field` over the next n bytes; returns the range and the item.
function Reader:add(field, n, what, tree)
    local range = self:take(n, what)
    if not range then return nil end
    return range, (tree or self.tree):add(field, range)
end

-- An unsigned integer of n bytes (8: as a Lua number, exact up to 2^53), added as `field`.
function Reader:uint(field, n, what, tree)
    local range = self:add(field, n, what, tree)
    if not range then return nil end
    if n == 8 then return range:uint64():tonumber() end
    return range:uint()
end

-- A u16-length UTF-8 string of at most MAX_STRING bytes.
function Reader:string(field, what)
    local length = self:uint(f.string_length, 2, what .. " length")
    if not length then return nil end
    if length > MAX_STRING then
        self:fail(string.format("%s is %d bytes, over the limit of %d", what, length, MAX_STRING))
        return nil
    end
    if length == 0 then
        self.tree:add(field, self.tvb(self.pos - 2, 2), "")
        return ""
    end
    local range = self:take(length, what)
    if not range then return nil end
    self.tree:add_packet_field(field, range, ENC_UTF_8)
    return range:string(ENC_UTF_8)
end

-- A u32-length byte blob of at most `limit` bytes (a queued frame must be 1 byte or more).
function Reader:blob(length_field, field, what, limit, tree)
    local length = self:uint(length_field, 4, what .. " length", tree)
    if not length then return nil end
    if length > limit then
        self:fail(string.format("%s is %d bytes, over the limit of %d", what, length, limit))
        return nil
    end
    if length > 0 then self:add(field, length, what, tree) end
    return length
end

local function hex64(value)
    return value and string.format("0x%016x", value) or "?"
end

-- Payload dissectors, one per type: `r` reads the payload, `ctx` holds the stream (`conv`), the
-- cached results of this message (`cached`) and whether this is its first dissection (`first`).
-- Each returns the text for the Info column.
local payloads = {}

-- The migration a stream belongs to, by id: lane 0 shares its round totals with the lanes.
local function join_migration(ctx, id, lane)
    local migration = migrations[id]
    if not migration then
        migration = { rounds = {}, lanes = 0, lane0 = nil }
        migrations[id] = migration
    end
    if lane == 0 then
        migration.lane0 = ctx.conv
    else
        migration.lanes = migration.lanes + 1
        -- The lane is sealed like lane 0 (with keys of its own) and carries pages of the same memory.
        if migration.lane0 then
            ctx.conv.cipher = migration.lane0.cipher
            ctx.conv.page_count = migration.lane0.page_count
        end
    end
    ctx.conv.lane = lane
    ctx.conv.migration = migration
    ctx.conv.rounds = migration.rounds
end

payloads[TYPE.hello] = function(r, ctx)
    local id = r:add(f.migration_id, 16, "migration id")
    if id and ctx.first then join_migration(ctx, tostring(id:bytes()), 0) end
    r:uint(f.protocol_version, 2, "protocol version")
    local mode = r:uint(f.encryption_mode, 1, "encryption mode")
    r:add(f.nonce, 16, "source nonce")
    r:add(f.hmac, 32, "authentication code")
    if mode and not ENCRYPTION_MODES[mode] then
        r:fail(string.format("unknown encryption mode %d (0 disabled, 1 opportunistic, 2 required)", mode))
    end
    return "hello, encryption " .. (ENCRYPTION_MODES[mode] or "?")
end

payloads[TYPE.lane_hello] = function(r, ctx)
    local id = r:add(f.migration_id, 16, "migration id")
    local lane = r:uint(f.lane, 2, "lane")
    r:add(f.hmac, 32, "authentication code")
    if id and lane and ctx.first then join_migration(ctx, tostring(id:bytes()), lane) end
    return string.format("lane-hello, lane %s", lane or "?")
end

payloads[TYPE.spec] = function(r, ctx)
    local name = r:string(f.vm, "VM name")
    r:add(f.mac, 6, "MAC address")
    r:add(f.ip, 4, "IPv4 address")
    local memory = r:uint(f.memory, 8, "memory bytes")
    local page_size = r:uint(f.page_size, 4, "page size")
    r:string(f.port_group, "port group")
    r:string(f.datastore, "datastore")
    if memory and page_size and page_size > 0 then
        local pages = math.floor(memory / page_size)
        r.tree:add(f.vm_pages, UInt64.new(pages)):set_generated()
        if ctx.first then ctx.conv.page_count = pages end
    end
    return string.format("spec %s, %d MiB", name or "?", math.floor((memory or 0) / 1048576))
end

payloads[TYPE.spec_accepted] = function(r, ctx)
    local cipher = r:uint(f.cipher, 1, "cipher")
    r:add(f.nonce, 16, "destination nonce")
    r:add(f.hmac, 32, "authentication code")
    if cipher and not CIPHERS[cipher] then
        r:fail(string.format("unknown cipher %d (0 none, 1 AES-256-GCM)", cipher))
    elseif cipher and ctx.first then
        ctx.conv.cipher = cipher
    end
    return "spec-accepted, cipher " .. (CIPHERS[cipher] or "?")
end

local function reason_payload(name)
    return function(r, ctx)
        local reason = r:string(f.reason, "reason")
        ctx.failure = reason
        return string.format("%s: %s", name, reason or "?")
    end
end
payloads[TYPE.spec_rejected] = reason_payload("spec-rejected")
payloads[TYPE.verify_failed] = reason_payload("verify-failed")
payloads[TYPE.abort] = reason_payload("abort")
payloads[TYPE.switchover_refused] = reason_payload("switchover-refused")
payloads[TYPE.switchover_query] = function(r, ctx) return "switchover-query (can the destination resume at once?)" end
payloads[TYPE.switchover_ready] = function(r, ctx)
    local detail = r:string(f.detail, "detail")
    return "switchover-ready: " .. (detail or "?")
end

payloads[TYPE.page_batch] = function(r, ctx)
    local round = r:uint(f.round, 4, "round")
    local count = r:uint(f.records, 4, "record count")
    if not count then return "page-batch" end
    local page_count = ctx.conv.page_count
    local listed = l2motion.prefs.listed_records
    local normal, zero, ranges = 0, 0, 0
    for number = 1, count do
        local start = r.pos
        local header = r:take(9, "page record " .. number)
        if not header then break end
        local index = header(0, 8):uint64():tonumber()
        local kind = header(8, 1):uint()
        local extra = (kind == KIND_NORMAL and PAGE_SIZE) or (kind == KIND_ZERO_RANGE and 8) or 0
        if not PAGE_KINDS[kind] then
            r:fail(string.format("record %d: unknown page kind %d at page %d", number, kind, index))
            break
        end
        if extra > r:remaining() then
            r:fail(string.format("record %d (%s, page %d) needs %d more bytes, %d left",
                                 number, PAGE_KINDS[kind], index, extra, r:remaining()))
            break
        end
        local tree = nil
        if number <= listed then
            tree = r.tree:add(f.page, r.tvb(start, 9 + extra))
            tree:add(f.page_index, header(0, 8))
            tree:add(f.page_kind, header(8, 1))
        end
        local pages = 1
        if kind == KIND_NORMAL then
            local contents = r:take(PAGE_SIZE, "page contents")
            if tree then tree:add(f.contents, contents) end
            normal = normal + 1
        elseif kind == KIND_ZERO_RANGE then
            local length = r:take(8, "zero range length")
            pages = length:uint64():tonumber()
            if tree then tree:add(f.range_pages, length) end
            ranges = ranges + 1
            zero = zero + pages
            if pages < 1 or (page_count and pages > page_count - index) then
                r:fail(string.format("a zero range of %d pages from page %d does not fit the %s pages of memory",
                                     pages, index, page_count or "?"))
            end
        else
            zero = zero + 1
        end
        if tree then
            tree:set_text(pages == 1 and string.format("Page %d: %s", index, PAGE_KINDS[kind])
                          or string.format("Pages %d-%d: zero range", index, index + pages - 1))
        end
        if page_count and index >= page_count then
            r:fail(string.format("page index %d is out of the %d pages of memory", index, page_count))
        end
        if r.problem then break end
    end
    if count > listed and not r.problem then
        r.tree:add(f.page, r.tvb(r.pos - 1, 1)):set_text(string.format("(%d more records counted, not listed)", count - listed))
    end
    local pages = normal + zero
    r.tree:add(f.batch_pages, UInt64.new(pages)):set_generated()
    r.tree:add(f.batch_normal, normal):set_generated()
    r.tree:add(f.batch_zero, UInt64.new(zero)):set_generated()
    r.tree:add(f.batch_ranges, ranges):set_generated()
    if ctx.first and round then
        local totals = ctx.conv.rounds[round] or { pages = 0, bytes = 0 }
        totals.pages = totals.pages + pages
        totals.bytes = totals.bytes + HEADER_LENGTH + (r.stop - r.start)
        ctx.conv.rounds[round] = totals
    end
    return string.format("page-batch round %s: %d pages (%d normal, %d zero)", round or "?", pages, normal, zero)
end

payloads[TYPE.round_end] = function(r, ctx)
    local round = r:uint(f.end_round, 4, "round")
    local pages = r:uint(f.end_pages, 8, "pages")
    local bytes = r:uint(f.end_bytes, 8, "bytes")
    if ctx.first and round then
        -- The batches seen of this round, when the whole stream was captured (from its hello on).
        local totals = ctx.conv.rounds[round] or { pages = 0, bytes = 0 }
        if ctx.conv.source then ctx.cached.round_totals = totals end
    end
    local totals = ctx.cached.round_totals
    if totals and pages and bytes then
        local item = r.tree:add(f.seen_pages, UInt64.new(totals.pages))
        item:set_generated()
        r.tree:add(f.seen_bytes, UInt64.new(totals.bytes)):set_generated()
        -- With several lanes the capture may hold this marker before the last batches of other lanes
        -- (the destination waits for them): only more than announced is an error then.
        local lanes = ctx.conv.migration and ctx.conv.migration.lanes or 0
        local short = totals.pages < pages and totals.bytes < bytes
        if (totals.pages ~= pages or totals.bytes ~= bytes) and not (lanes > 0 and short) then
            item:add_proto_expert_info(e.inconsistent, string.format(
                "round %d ends with %d pages in %d bytes, but its batches carried %d pages in %d bytes",
                round, pages, bytes, totals.pages, totals.bytes))
        end
    end
    return string.format("round-end %s: %s pages, %s bytes", round or "?", pages or "?", bytes or "?")
end

-- The VM's state as switchover and postcopy-start carry it; returns the queued frame count.
local function vm_state(r)
    r:blob(f.vcpu_length, f.vcpu, "vCPU state", MAX_PAYLOAD)
    r:blob(f.workload_length, f.workload, "workload state", MAX_PAYLOAD)
    local frames = r:uint(f.queued, 4, "queued frame count")
    if frames and frames > r:remaining() / 4 then
        r:fail(string.format("claims %d queued frames in %d bytes", frames, r:remaining()))
    end
    for number = 1, (r.problem and 0 or frames or 0) do
        local start = r.pos
        local tree = r.tree:add(f.frame, r.tvb(start, 4))
        local length = r:blob(f.frame_length, f.frame, "queued frame " .. number, MAX_FRAME, tree)
        if not length then break end
        tree:set_len(r.pos - start)
        tree:set_text(string.format("Queued frame %d (%d bytes)", number, length))
    end
    return frames
end

-- Page ranges (count u32, then first u64 and pages u64 each); returns how many pages they cover.
local function page_ranges(r)
    local count = r:uint(f.missing_ranges, 4, "missing range count")
    if not count then return nil end
    if count > r:remaining() / 16 then
        r:fail(string.format("claims %d missing ranges in %d bytes", count, r:remaining()))
        return nil
    end
    local pages = 0
    for _ = 1, count do
        r:uint(f.missing_first, 8, "first missing page")
        pages = pages + (r:uint(f.missing_count, 8, "missing pages") or 0)
    end
    return pages
end

payloads[TYPE.switchover] = function(r, ctx)
    local round = r:uint(f.final_round, 4, "final round")
    local frames = vm_state(r)
    local pages = r:uint(f.switchover_pages, 8, "page count")
    local digest_range = r:add(f.digest, 8, "memory digest")
    local digest = digest_range and digest_range:uint64()
    if ctx.first and digest then ctx.conv.digest = digest end
    return string.format("switchover after round %s: %s pages, %d queued frames, digest %s",
                         round or "?", pages or "?", frames or 0, digest and hex64(digest:tonumber()) or "?")
end

payloads[TYPE.postcopy_start] = function(r, ctx)
    local round = r:uint(f.last_round, 4, "last round")
    local frames = vm_state(r)
    local pages = r:uint(f.switchover_pages, 8, "page count")
    local missing = page_ranges(r)
    return string.format("postcopy-start after round %s: %s of %s pages missing, %d queued frames",
                         round or "?", missing or "?", pages or "?", frames or 0)
end

payloads[TYPE.page_request] = function(r, ctx)
    local count = r:uint(f.requested_count, 4, "requested page count")
    if not count then return "page-request" end
    if count < 1 or count > 4096 or count > r:remaining() / 8 then
        r:fail(string.format("a page request names 1 to 4096 pages, this one %d in %d bytes", count, r:remaining()))
        return "page-request"
    end
    local first
    for number = 1, count do
        local page = r:uint(f.requested_page, 8, "requested page")
        if number == 1 then first = page end
    end
    return string.format("page-request: %d page%s (first %s)", count, count == 1 and "" or "s", first or "?")
end

payloads[TYPE.postcopy_end] = function(r, ctx)
    local pages = r:uint(f.postcopy_pages, 8, "post-copy pages")
    local digest_range = r:add(f.digest, 8, "memory digest")
    local digest = digest_range and digest_range:uint64()
    if ctx.first and digest then ctx.conv.digest = digest end
    return string.format("postcopy-end: %s pages after the switchover, digest %s", pages or "?",
                         digest and hex64(digest:tonumber()) or "?")
end

payloads[TYPE.postcopy_recovered] = function(r, ctx)
    local missing = page_ranges(r)
    return string.format("postcopy-recovered: %s pages still missing", missing or "?")
end

payloads[TYPE.verified] = function(r, ctx)
    local range = r:add(f.digest, 8, "digest")
    if not range then return "verified" end
    local digest = range:uint64()
    if ctx.first and ctx.conv.digest then ctx.cached.expected_digest = ctx.conv.digest end
    local expected = ctx.cached.expected_digest
    if expected then
        local item = r.tree:add(f.digest_matches, expected == digest)
        item:set_generated()
        if expected ~= digest then
            item:add_proto_expert_info(e.inconsistent, "the switchover carried digest 0x" .. expected:tohex())
        end
    end
    return "verified, digest 0x" .. digest:tohex()
end

payloads[TYPE.resumed] = function(r, ctx)
    local range = r:add(f.resumed_ns, 8, "resume time")
    if range then
        local ns = range:uint64()
        local time = NSTime.new((ns / 1000000000):tonumber(), (ns % 1000000000):tonumber())
        r.tree:add(f.resumed_time, range, time):set_generated()
    end
    r:add(f.arrived_ns, 8, "switchover arrival time")
    r:add(f.verified_ns, 8, "verification time")
    return "resumed"
end

payloads[TYPE.forwarded_frame] = function(r, ctx)
    local length = r:remaining()
    if length < 1 or length > MAX_FRAME then
        r:fail(string.format("a forwarded frame must be 1 to %d bytes, got %d", MAX_FRAME, length))
        return "forwarded-frame"
    end
    r:add(f.frame, length, "frame")
    return string.format("forwarded-frame (%d bytes)", length)
end

payloads[TYPE.commit] = function(r, ctx)
    return "commit"
end

-- The Info column: the first PDU of a frame replaces TCP's text, later ones are appended.
local function add_info(pinfo, tvb, text)
    local offset = tvb:offset()
    if info_frame ~= pinfo.number or offset <= info_offset then
        pinfo.cols.info:set(text)
    else
        pinfo.cols.info:append(" | " .. text)
    end
    info_frame, info_offset = pinfo.number, offset
end

-- What a message takes from the stream the first time it is dissected: its direction, its sequence
-- number in that direction and, for a record, its counter. Returns the cache entry and whether it is new.
local function message_context(tvb, pinfo, conv, is_hello)
    local key = pinfo.number .. ":" .. tvb:offset() .. ":" .. tvb:len()
    local cached = cache[key]
    if cached then return cached, false end
    if is_hello then conv.source = endpoint(pinfo, "src") end
    local sender = endpoint(pinfo, "src")
    cached = { source = from_source(conv, pinfo), seq = (conv.seq[sender] or 0) + 1 }
    conv.seq[sender] = cached.seq
    cache[key] = cached
    return cached, true
end

local function add_direction(tree, cached)
    tree:add(f.seq, cached.seq):set_generated()
    tree:add(f.direction, cached.source and "source → destination" or "destination → source"):set_generated()
end

local function dissect_record(tvb, pinfo, tree, conv)
    local cached, first = message_context(tvb, pinfo, conv, false)
    if first then
        local sender = endpoint(pinfo, "src")
        cached.counter = conv.records[sender] or 0
        conv.records[sender] = cached.counter + 1
    end
    local length = tvb(0, 4):uint()
    local item = tree:add(l2motion, tvb(), "l2motion encrypted record")
    item:add(f.encrypted, true):set_generated()
    add_direction(item, cached)
    local length_item = item:add(f.record_length, tvb(0, 4))
    if length < 1 or length > MAX_RECORD or tvb:len() ~= RECORD_HEADER + length + TAG_LENGTH then
        length_item:add_proto_expert_info(e.record_length, string.format(
            "record length %d (allowed: 1 to %d) with %d bytes in the record", length, MAX_RECORD, tvb:len()))
        add_info(pinfo, tvb, "encrypted record, bad length")
        return
    end
    if conv.cipher == nil then item:add_proto_expert_info(e.assumed_encrypted) end
    item:add(f.ciphertext, tvb(RECORD_HEADER, length))
    item:add(f.tag, tvb(RECORD_HEADER + length, TAG_LENGTH))
    item:add(f.record_counter, UInt64.new(cached.counter)):set_generated()
    local constant = cached.source and NONCE_SOURCE or NONCE_DESTINATION
    item:add(f.record_nonce, constant .. UInt64.new(cached.counter):tohex()):set_generated()
    item:append_text(string.format(", %s, record %d, %d bytes (AES-256-GCM, not decrypted)",
                                   cached.source and "from source" or "from destination", cached.counter, length))
    add_info(pinfo, tvb, string.format("encrypted record %d (%d bytes)", cached.counter, length))
end

local function dissect_message(tvb, pinfo, tree, conv)
    local type = tvb(5, 1):uint()
    local cached, first = message_context(tvb, pinfo, conv, type == TYPE.hello or type == TYPE.lane_hello)
    local item = tree:add(l2motion, tvb())
    add_direction(item, cached)
    item:add(f.magic, tvb(0, 4))
    local version = tvb(4, 1):uint()
    local version_item = item:add(f.version, tvb(4, 1))
    if version ~= VERSION then
        version_item:add_proto_expert_info(e.bad_version, string.format("version %d; this dissector knows %d", version, VERSION))
    end
    local type_item = item:add(f.type, tvb(5, 1))
    local flags_item = item:add(f.flags, tvb(6, 2))
    if tvb(6, 2):uint() ~= 0 then flags_item:add_proto_expert_info(e.bad_flags) end
    local length = tvb(8, 4):uint()
    local length_item = item:add(f.length, tvb(8, 4))
    local name = TYPE_NAMES[type] or ("type " .. type)
    item:append_text(", " .. name)
    if length > MAX_PAYLOAD then
        length_item:add_proto_expert_info(e.too_long, string.format("%d bytes; the cap is %d", length, MAX_PAYLOAD))
        add_info(pinfo, tvb, name .. ", payload too long")
        return
    end
    local stop = math.min(tvb:len(), HEADER_LENGTH + length)
    local payload = payloads[type]
    if not payload then
        type_item:add_proto_expert_info(e.unknown_type)
        if length > 0 then item:add(f.payload, tvb(HEADER_LENGTH, stop - HEADER_LENGTH)) end
        add_info(pinfo, tvb, name)
        return
    end
    local r = new_reader(tvb, HEADER_LENGTH, stop, item)
    if HEADER_LENGTH + length > tvb:len() then
        r:fail(string.format("the payload has %d bytes of the %d announced", tvb:len() - HEADER_LENGTH, length))
    end
    local ctx = { conv = conv, cached = cached, first = first }
    local text = payload(r, ctx)
    if not r.problem and r:remaining() > 0 then r:fail(string.format("%d unexpected trailing bytes", r:remaining())) end
    if r.problem then item:add_proto_expert_info(e.malformed, name .. ": " .. r.problem) end
    if ctx.failure then item:add_proto_expert_info(e.failure, name .. ": " .. ctx.failure) end
    add_info(pinfo, tvb, text)
end

-- One PDU: a message when it starts with the magic, else an encrypted record if the stream may be
-- sealed, else not l2motion at all.
local function dissect_pdu(tvb, pinfo, tree)
    pinfo.cols.protocol = "l2motion"
    local conv = conversation(pinfo)
    if tvb(0, 4):uint() == MAGIC then
        dissect_message(tvb, pinfo, tree, conv)
    elseif tvb(0, 1):uint() == 0 and conv.cipher ~= 0 then
        dissect_record(tvb, pinfo, tree, conv)
    else
        local item = tree:add(l2motion, tvb(), "l2motion: not a message")
        item:add(f.magic, tvb(0, 4)):add_proto_expert_info(e.bad_magic, string.format(
            "0x%08x where the magic 0x%08x (\"L2MV\") should start a message", tvb(0, 4):uint(), MAGIC))
        add_info(pinfo, tvb, "not an l2motion message")
    end
    return tvb:len()
end

-- The length of the PDU at `offset`, from the 12 bytes that dissect_tcp_pdus guarantees. Bytes that
-- frame nothing (bad magic, a length over the cap) end the segment: the stream has lost its framing.
local function pdu_length(tvb, pinfo, offset)
    local available = tvb:len() - offset
    local first = tvb(offset, 4):uint()
    if first == MAGIC then
        local length = tvb(offset + 8, 4):uint()
        if length > MAX_PAYLOAD then return available end
        return HEADER_LENGTH + length
    end
    if first >= 1 and first <= MAX_RECORD then
        return RECORD_HEADER + first + TAG_LENGTH
    end
    return available
end

function l2motion.dissector(tvb, pinfo, tree)
    dissect_tcp_pdus(tvb, tree, HEADER_LENGTH, pdu_length, dissect_pdu)
    return tvb:len()
end

DissectorTable.get("tcp.port"):add_for_decode_as(l2motion)
