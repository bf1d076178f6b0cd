#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CTap.h"
#include <sched.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

int l2m_tap_open(const char *name, int vnet_hdr, char *out_name, size_t out_name_len) {
    if (name && strlen(name) >= IFNAMSIZ) { errno = ENAMETOOLONG; return -1; }
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
    if (name) strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    if (out_name && out_name_len > 0) {
        strncpy(out_name, ifr.ifr_name, out_name_len - 1);
        out_name[out_name_len - 1] = '\0';
    }
    return fd;
}

int l2m_tap_set_carrier(int fd, int on) {
    int value = on ? 1 : 0;
    return ioctl(fd, TUNSETCARRIER, &value);
}

int l2m_tap_set_offload(int fd, unsigned int flags) {
    return ioctl(fd, TUNSETOFFLOAD, flags);
}

int l2m_packet_open(const char *ifname, int promisc) {
    unsigned int index = if_nametoindex(ifname);
    if (index == 0) return -1;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (fd < 0) return -1;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = (int)index;
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) goto fail;
    if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) goto fail;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) goto fail;
    if (promisc) {
        struct packet_mreq membership;
        memset(&membership, 0, sizeof membership);
        membership.mr_ifindex = (int)index;
        membership.mr_type = PACKET_MR_PROMISC;
        if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof membership) < 0) goto fail;
    }
    int buffer = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

ssize_t l2m_packet_recv(int fd, void *buffer, size_t length, int *vlan_tci, int *vlan_tpid) {
    struct iovec vector = { .iov_base = buffer, .iov_len = length };
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    *vlan_tci = -1;
    *vlan_tpid = 0;
    ssize_t count = recvmsg(fd, &message, 0);
    if (count < 0) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_PACKET || header->cmsg_type != PACKET_AUXDATA
            || header->cmsg_len < CMSG_LEN(sizeof(struct tpacket_auxdata))) continue;
        struct tpacket_auxdata aux;
        memcpy(&aux, CMSG_DATA(header), sizeof aux);
        if (aux.tp_status & TP_STATUS_VLAN_VALID) {
            *vlan_tci = aux.tp_vlan_tci;
            *vlan_tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q;
        }
    }
    return count;
}

int l2m_ifname_max(void) { return IFNAMSIZ - 1; }

int l2m_interface_flags(int fd, const char *ifname) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (strlen(ifname) >= IFNAMSIZ) { errno = EINVAL; return -1; }
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) return -1;
    return ifr.ifr_flags & 0xffff;
}

int l2m_interface_set_up(int fd, const char *ifname, int up) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (strlen(ifname) >= IFNAMSIZ) { errno = EINVAL; return -1; }
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) return -1;
    if (up) ifr.ifr_flags |= IFF_UP; else ifr.ifr_flags &= ~IFF_UP;
    return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

int l2m_packet_set_vnet_hdr(int fd) {
    int one = 1;
    return setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one);
}

int l2m_enter_netns(int fd) { return setns(fd, CLONE_NEWNET); }

int l2m_iff_up(void) { return IFF_UP; }
int l2m_iff_running(void) { return IFF_RUNNING; }

#include <linux/sockios.h>

int l2m_socket_unacked(int fd) {
    int bytes = 0;
    if (ioctl(fd, SIOCOUTQ, &bytes) < 0) return -1;
    return bytes;
}
