#pragma once
#include <stddef.h>
#include <sys/types.h>

/// Opens /dev/net/tun as a TAP (IFF_TAP | IFF_NO_PI, plus IFF_VNET_HDR when vnet_hdr != 0), close-on-exec.
/// `name` is the requested interface name (may be empty: the kernel chooses); the kernel's chosen
/// name is copied to `out_name` (at least 16 bytes). Returns the descriptor, or -1 with errno set.
int l2m_tap_open(const char *name, int vnet_hdr, char *out_name, size_t out_name_len);

/// Sets the carrier of a TAP on (1) or off (0): TUNSETCARRIER. Returns 0 or -1 with errno set.
int l2m_tap_set_carrier(int fd, int on);

/// Enables TAP offloads (TUN_F_* flags) with TUNSETOFFLOAD. Returns 0 or -1 with errno set.
int l2m_tap_set_offload(int fd, unsigned int flags);

/// Opens an AF_PACKET raw socket bound to interface `ifname` for all protocols, ignoring the frames
/// it sends itself (PACKET_IGNORE_OUTGOING), with PACKET_AUXDATA on (see `l2m_packet_recv`), promiscuous when `promisc` != 0, close-on-exec,
/// non-blocking. Returns the descriptor, or -1 with errno set.
int l2m_packet_open(const char *ifname, int promisc);

/// Receives one frame from a socket of `l2m_packet_open` (recvmsg) into `buffer`. The kernel takes an
/// 802.1Q tag off a frame before an AF_PACKET socket sees it and reports it in PACKET_AUXDATA: when
/// it did, `*vlan_tci` gets the tag's TCI and `*vlan_tpid` its TPID (0x8100 unless the kernel says
/// otherwise); when not, `*vlan_tci` is -1. Returns the length read, or -1 with errno set.
ssize_t l2m_packet_recv(int fd, void *buffer, size_t length, int *vlan_tci, int *vlan_tpid);

/// The flags (IFF_UP, IFF_RUNNING, …) of interface `ifname` in the network namespace of socket `fd`
/// (SIOCGIFFLAGS). Returns them, or -1 with errno set.
int l2m_interface_flags(int fd, const char *ifname);

/// Sets or clears IFF_UP on interface `ifname` in the network namespace of socket `fd` (SIOCGIFFLAGS,
/// then SIOCSIFFLAGS), like `ip link set dev IFNAME up|down`. Returns 0, or -1 with errno set.
int l2m_interface_set_up(int fd, const char *ifname, int up);

/// Turns PACKET_VNET_HDR on for an AF_PACKET socket: every frame read then starts with a 10-byte
/// `struct virtio_net_hdr` (checksum and GSO metadata, a super-frame arriving whole), and every frame
/// written must. Returns 0, or -1 with errno set.
int l2m_packet_set_vnet_hdr(int fd);

/// Moves the calling thread into the network namespace open at `fd` (setns(fd, CLONE_NEWNET)); the
/// process's other threads stay where they are. Returns 0, or -1 with errno set.
int l2m_enter_netns(int fd);

/// IFF_UP and IFF_RUNNING (carrier) as the kernel defines them.
int l2m_iff_up(void);
int l2m_iff_running(void);

/// The maximum interface name length the kernel accepts (IFNAMSIZ - 1).
int l2m_ifname_max(void);

/// Starts `argv[0]` (searched on PATH) with `argv`, stdin from /dev/null, stdout and stderr to
/// `output_fd` (or /dev/null when -1), in a new session when `new_session` != 0 (so a terminal's
/// Ctrl-C does not reach it). Returns the child's PID, or -1 with errno set.
int l2m_spawn(char *const argv[], int output_fd, int new_session);

/// Bytes in a TCP socket's send queue not yet acknowledged by the peer (SIOCOUTQ), or -1 with errno.
int l2m_socket_unacked(int fd);

/// Names the calling thread (what /proc/PID/task/TID/comm, top -H and perf show); the kernel keeps
/// at most 15 bytes. Returns 0, or -1 with errno set.
int l2m_set_thread_name(const char *name);

/// Gives the calling thread a private copy of the process's descriptor table (unshare CLONE_FILES):
/// descriptors opened or closed by other threads afterwards are not seen by it, and the kernel then
/// skips the file reference counting it does on every system call of a thread whose table is shared.
/// Returns 0, or -1 with errno set.
int l2m_private_descriptor_table(void);

/// Sets the calling thread's nice value (other threads of the process keep theirs). Returns 0, or -1
/// with errno set.
int l2m_set_thread_nice(int nice);


/// A periodic timer descriptor (timerfd, CLOCK_MONOTONIC, non-blocking, close-on-exec) that becomes
/// readable every `milliseconds` (at least 1). Returns the descriptor, or -1 with errno set (EINVAL for 0).
int l2m_timer_every(unsigned int milliseconds);

/// An event descriptor (eventfd, non-blocking, close-on-exec) that one thread signals to wake
/// another's poll. Returns the descriptor, or -1 with errno set.
int l2m_event_open(void);

/// Makes an event descriptor readable. Returns 0, or -1 with errno set.
int l2m_wake_signal(int fd);

/// Clears a readable timer or event descriptor (reads its 8-byte count). Returns 0, or -1 with
/// errno set (EAGAIN: it was not readable).
int l2m_wake_consume(int fd);
