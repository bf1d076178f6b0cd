/// One port of a VLAN's flooding domain: how it sends the VLAN's frames and its MTU.
struct FloodMember: Hashable, Sendable {
    let port: PortID
    let form: EgressForm
    let mtu: Int
}

/// One copy of a flooded frame: the port, and what to do to the frame before writing it there.
public struct EgressTarget: Hashable, Sendable, CustomStringConvertible {
    public let port: PortID
    public let encoding: EgressEncoding

    public init(port: PortID, encoding: EgressEncoding) {
        self.port = port
        self.encoding = encoding
    }

    public var description: String { "\(port) (\(encoding))" }
}

/// The ports of the switch that a flood goes to: every up port of the frame's VLAN except the
/// ingress one, leaving out ports whose MTU the frame exceeds (the core counts those copies as
/// `oversize` drops).
///
/// Holds a reference to the switch's member list of that VLAN (no copy, no allocation); iterate it
/// while calling `recordTransmit` freely. Iterating yields the ports; `encoded` yields each with its
/// `EgressEncoding`.
public struct FloodTargets: Sequence, Sendable {
    let members: [FloodMember]
    let ingress: PortID
    let vlan: UInt16
    let taggedOnIngress: Bool
    let payloadLength: Int

    /// Yields the member ports in port order, skipping the ingress port and ports too small.
    public struct Iterator: IteratorProtocol {
        var base: IndexingIterator<[FloodMember]>
        let ingress: PortID
        let payloadLength: Int

        @inline(__always)
        mutating func nextMember() -> FloodMember? {
            while let member = base.next() {
                if member.port != ingress && member.mtu >= payloadLength { return member }
            }
            return nil
        }

        public mutating func next() -> PortID? { nextMember()?.port }
    }

    public func makeIterator() -> Iterator { Iterator(base: members.makeIterator(), ingress: ingress, payloadLength: payloadLength) }

    /// The same ports, each with what to do to the frame for it.
    public var encoded: Encoded { Encoded(targets: self) }

    /// `FloodTargets` with each port's `EgressEncoding`.
    public struct Encoded: Sequence, Sendable {
        let targets: FloodTargets

        public struct Iterator: IteratorProtocol {
            var members: FloodTargets.Iterator
            let vlan: UInt16
            let taggedOnIngress: Bool

            public mutating func next() -> EgressTarget? {
                guard let member = members.nextMember() else { return nil }
                return EgressTarget(port: member.port, encoding: member.form.encoding(vlan: vlan, taggedOnIngress: taggedOnIngress))
            }
        }

        public func makeIterator() -> Iterator {
            Iterator(members: targets.makeIterator(), vlan: targets.vlan, taggedOnIngress: targets.taggedOnIngress)
        }
    }
}
