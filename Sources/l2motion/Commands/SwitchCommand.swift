import ArgumentParser
import Foundation
import L2Capture
import L2Control
import L2Daemons
import L2Edge
import L2Switch

/// `l2motion switch NAME --port ...`: runs one userspace learning switch in the foreground.
struct SwitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch",
        abstract: "Run a userspace learning switch whose ports are TAP devices (or existing interfaces, QEMU sockets, VXLAN tunnels), until SIGINT/SIGTERM.",
        discussion: """
            Each --port creates a TAP whose kernel side moves into an existing network namespace:
              --port name=p1,netns=l2m-client01,ifname=eth0,mtu=1500,addr=10.10.0.100/24
            or joins something that exists (mtu= is then the MTU the switch checks the port's frames against):
              --port name=vm1,attach=vnet0[,netns=NS]
                                       an existing interface (QEMU's or libvirt's TAP, a veth, a NIC),
                                       through a promiscuous AF_PACKET socket; left where it is
              --port name=vm2,qemu=/run/vm2.sock
                                       a unix socket for one QEMU: -netdev stream,id=n0,server=off,
                                       addr.type=unix,addr.path=/run/vm2.sock (start the switch first)
              --port name=far,vxlan=192.0.2.2,vni=100[,local=192.0.2.1][,dstport=4789][,underlay=NS]
                                       a VXLAN tunnel (RFC 7348) to another switch or a Linux vxlan
                                       device; its UDP socket lives in namespace NS
            See docs/ENDPOINTS.md.
            A port is VLAN-unaware unless it says otherwise (frames pass unchanged, as on a hub's VLAN 0):
              vlan=10                  access port in VLAN 10: untagged in and out, tagged frames dropped
              trunk=10:20:30-40        trunk: these VLANs tagged in and out
              trunk=10:20,native=1     ... and untagged frames in VLAN 1 (without native= they are dropped)
              max-macs=1,sticky=yes,violation=shut
                                       port security (not on trunks): at most N source MACs; sticky ones
                                       never age; one more is dropped (violation=drop) or shuts the port
                                       until `l2motion port NAME P up` (violation=shut)
              port-mtu=1500            the switch port's MTU when it differs from the interface's mtu=
            Every frame is captured once, at ingress, to <capture-dir>/<NAME>.pcapng: one interface per
            port (named after it), each record inbound on its ingress port with a packet id, comments on
            station moves, the first unicast after a move, unknown-unicast floods and drops, and each
            port's received and dropped counts at the end. --capture-format pcap writes <NAME>.pcap instead.
            """)

    @Argument(help: "The switch's name (used for its capture file and control socket).")
    var name: String

    @Option(name: .customLong("port"), help: "A port: name=P,netns=NS,ifname=IF (a TAP), or name=P,attach=IF[,netns=NS] | name=P,qemu=PATH | name=P,vxlan=REMOTE,vni=N[,local=A][,dstport=4789][,underlay=NS]; then [,mtu=1500][,port-mtu=N][,vlan=N|trunk=10:20:30-40[,native=N]][,max-macs=N,sticky=yes|no,violation=drop|shut][,addr=A.B.C.D/N][,desc=TEXT]. Repeat per port.")
    var ports: [String] = []

    @Option(help: "Where the captures go (default Captures/<date>-<NAME>).")
    var captureDir: String?

    @Option(help: "Bytes kept of each frame in the capture (64...262144).")
    var snaplen: Int = 262_144

    @Option(help: "A libpcap filter: only matching frames are written to the capture.")
    var captureFilter: String?

    @Option(help: "The capture file format: pcapng (ports as interfaces, directions, comments) or pcap.")
    var captureFormat: CaptureFormat = .pcapng

    @Flag(help: "Also record each copy the switch sends, on its egress port, direction outbound, same packet id, first 128 bytes (pcapng only; Wireshark's TCP analysis marks such copies as retransmissions).")
    var egressRecords = false

    @Flag(help: "Also write one pcap file per port (<NAME>-<PORT>.pcap, through libpcap).")
    var perPortCaptures = false

    @Option(help: "MAC entry idle time before it expires, in seconds.")
    var aging: Double = 300

    @Option(name: .customLong("move-holddown"), help: "Ignore a move of a MAC last seen on its current port less than this many seconds ago, as vde_switch does (0, the default: move on the first frame elsewhere, as a Linux bridge).")
    var moveHoldDown: Double = 0

    @Option(help: "Moves of one MAC within --flap-window that make it a flapper, reported once per window (0: no flap detection).")
    var flapMoves: Int = MACTable.Configuration.defaultFlapMoves

    @Option(help: "The flap detection window, in seconds.")
    var flapWindow: Double = Double(MACTable.Configuration.defaultFlapWindow) / 1e9

    @Option(help: "Upper bound, in microseconds, of how long the forwarding thread keeps polling without sleeping after frames: an adaptive window that opens only while frames keep coming within it (0, the default: always sleep; polling only pays on machines with cores to spare).")
    var busyPollUs: Int = 0

    @Flag(inversion: .prefixedNo, help: "Pass checksum and TCP segmentation offloads between ports (IFF_VNET_HDR): 64 KiB super-frames cross the switch whole.")
    var offloads = true

    @Flag(help: "Write no capture at all (for measuring what capturing costs; every other use wants the capture).")
    var noCapture = false

    @Option(help: "Maximum MAC table entries.")
    var capacity: Int = 8192

    @Option(help: "Control socket path (default /run/l2motion/<lab>/switch-<NAME>.sock).")
    var controlSocket: String?

    @OptionGroup var labOptions: LabOptions

    func validate() throws {
        guard !name.isEmpty, name.count <= 32, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ValidationError("switch name \"\(name)\" must be 1-32 letters, digits, - or _")
        }
        try Limits.busyPollMicroseconds.validate(busyPollUs)
        try Limits.snaplen.validate(snaplen)
        try Limits.agingSeconds.validate(aging)
        try Limits.moveHoldDown.validate(moveHoldDown)
        try Limits.flapMoves.validate(flapMoves)
        try Limits.flapWindow.validate(flapWindow)
        try Limits.macTableCapacity.validate(capacity)
        let specs = try ports.map { try PortSpec(parsing: $0) }
        try validatePorts(specs)
        if egressRecords && captureFormat != .pcapng {
            throw ValidationError("--egress-records needs --capture-format pcapng (pcap has no directions)")
        }
        if let filter = captureFilter, !filter.isEmpty { _ = try PacketFilter(filter, snaplen: snaplen) }
    }

    func run() throws {
        SignalWaiter.blockTerminationSignals()
        let logger = LoggingSetup.bootstrap(label: "l2motion.switch.\(name)")
        let specs = try ports.map { try PortSpec(parsing: $0) }
        let folder = labOptions.runFolder
        let lease = try RunFolderLease(folder)
        defer { lease.release() }
        let directory = captureDir ?? "Captures/\(CaptureRun.stamp())-\(name)"
        var settings = SwitchSettings(
            name: name, ports: specs, captureDirectory: directory, snaplen: snaplen, captureFilter: captureFilter,
            perPortCaptures: perPortCaptures, agingSeconds: aging, tableCapacity: capacity,
            controlSocket: controlSocket ?? folder.switchSocket(name))
        settings.busyPollNanoseconds = UInt64(busyPollUs) * 1000
        settings.moveHoldDownSeconds = moveHoldDown
        settings.flapMoves = flapMoves
        settings.flapWindowSeconds = flapWindow
        settings.offloads = offloads
        settings.captures = !noCapture
        settings.captureFormat = captureFormat
        settings.egressRecords = egressRecords
        let daemon = try SwitchDaemon(settings: settings, logger: logger)
        try daemon.run()
    }
}

/// Names capture runs by their start time, so runs sort by date.
enum CaptureRun {
    static func stamp() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}

extension CaptureFormat: ExpressibleByArgument {}
