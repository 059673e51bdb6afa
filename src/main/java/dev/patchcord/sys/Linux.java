package dev.patchcord.sys;

/** Linux ABI constants (x86-64 and arm64 share these values). Names follow the C headers. */
public final class Linux {
    private Linux() {}

    // errno
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int EBUSY = 16;
    public static final int EMFILE = 24;
    public static final int ENOTTY = 25;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int EPIPE = 32;
    public static final int ENAMETOOLONG = 36;
    public static final int EPROTO = 71;
    /** "File descriptor in bad state": e.g. a /dev/net/tun descriptor attached to no interface. */
    public static final int EBADFD = 77;
    public static final int ENOTSOCK = 88;
    public static final int EMSGSIZE = 90;
    public static final int ENOPROTOOPT = 92;
    public static final int EAFNOSUPPORT = 97;
    public static final int EADDRINUSE = 98;
    public static final int EADDRNOTAVAIL = 99;
    public static final int ENETUNREACH = 101;
    public static final int ECONNABORTED = 103;
    public static final int ECONNRESET = 104;
    public static final int ENOBUFS = 105;
    public static final int ENOTCONN = 107;
    public static final int ETIMEDOUT = 110;
    public static final int ECONNREFUSED = 111;
    public static final int EHOSTUNREACH = 113;
    public static final int EINPROGRESS = 115;

    // open(2)
    public static final int O_RDWR = 2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;

    // fcntl(2)
    public static final int F_GETFD = 1;
    public static final int FD_CLOEXEC = 1;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    /** A copy of the descriptor, at the lowest free number from the argument on, close-on-exec. */
    public static final int F_DUPFD_CLOEXEC = 1030;

    // socket(2)
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int SOCK_RAW = 3;
    /** Reliable, ordered and message-bounded, as a TUN's reads and writes are. */
    public static final int SOCK_SEQPACKET = 5;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_TYPE = 3;
    /** {@code struct ucred} (pid, uid, gid) of the process at the other end of a unix socket. */
    public static final int SO_PEERCRED = 17;
    public static final int SO_DOMAIN = 39;
    /** Control message of descriptors passed over a unix socket. */
    public static final int SCM_RIGHTS = 1;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_RCVBUFFORCE = 33;
    public static final int SO_MARK = 36;
    public static final int SO_ERROR = 4;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    /** Send on a socket whose peer has gone: EPIPE, not the SIGPIPE signal. */
    public static final int MSG_NOSIGNAL = 0x4000;
    /** ioctl: sets or clears O_NONBLOCK through an {@code int} argument. */
    public static final long FIONBIO = 0x5421;
    public static final int SO_SNDBUFFORCE = 32;
    public static final int IPPROTO_IPV6 = 41;
    public static final int IPV6_V6ONLY = 26;
    /** Receive: an {@code IPV6_PKTINFO} control message per datagram (for IPv4-mapped ones too). */
    public static final int IPV6_RECVPKTINFO = 49;
    /** Control message {@code struct in6_pktinfo}: the local address and interface of a datagram. */
    public static final int IPV6_PKTINFO = 50;
    public static final int SOL_IP = 0;
    /** Control message {@code struct in_pktinfo} (ifindex, spec_dst, addr) for IPv4. */
    public static final int IP_PKTINFO = 8;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_CTRUNC = 0x8;
    /** A send to a closed peer fails with EPIPE instead of raising SIGPIPE. */
    /** Descriptors received with SCM_RIGHTS are close-on-exec from the start. */
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;

    // linux/netlink.h and linux/rtnetlink.h: interface notifications
    public static final int AF_NETLINK = 16;
    public static final int NETLINK_ROUTE = 0;
    /** The multicast group bit of RTNLGRP_LINK: every change to any interface's link settings. */
    public static final int RTMGRP_LINK = 0x1;
    /** {@code sizeof(struct sockaddr_nl)}: family, padding, port id, groups. */
    public static final int SOCKADDR_NL_SIZE = 12;

    // linux/udp.h: UDP-level socket options and control messages
    public static final int SOL_UDP = 17;
    /** Send: the size of each datagram in a GSO buffer ({@code uint16_t} cmsg or socket option). */
    public static final int UDP_SEGMENT = 103;
    /** Receive: coalesce datagrams (option); the cmsg carries the segment size as an {@code int}. */
    public static final int UDP_GRO = 104;

    // poll(2)
    public static final short POLLIN = 0x1;
    public static final short POLLOUT = 0x4;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;

    // eventfd(2)
    public static final int EFD_NONBLOCK = 0x800;
    public static final int EFD_CLOEXEC = 0x80000;

    // linux/if_tun.h
    public static final long TUNSETIFF = 0x400454caL;
    public static final short IFF_TUN = 0x0001;
    public static final short IFF_TAP = 0x0002;
    public static final short IFF_NO_PI = 0x1000;
    public static final short IFF_VNET_HDR = 0x4000;
    /** Takes its argument by value, not through a pointer: use {@link Libc#ioctlValue}. */
    public static final long TUNSETOFFLOAD = 0x400454d0L;
    public static final long TUNGETVNETHDRSZ = 0x800454d7L;
    public static final long TUNSETVNETHDRSZ = 0x400454d8L;
    public static final int TUN_F_CSUM = 0x01;
    public static final int TUN_F_TSO4 = 0x02;
    public static final int TUN_F_TSO6 = 0x04;
    public static final int TUN_F_TSO_ECN = 0x08;
    public static final int TUN_F_UFO = 0x10;
    public static final int TUN_F_USO4 = 0x20;
    public static final int TUN_F_USO6 = 0x40;

    // sched.h
    public static final int CLONE_NEWNET = 0x40000000;

    // linux/sockios.h and net/if.h
    public static final long SIOCGIFFLAGS = 0x8913;
    public static final long SIOCSIFADDR = 0x8916;
    public static final long SIOCSIFNETMASK = 0x891c;
    public static final long SIOCSIFFLAGS = 0x8914;
    public static final long SIOCGIFMTU = 0x8921;
    public static final long SIOCGIFINDEX = 0x8933;
    public static final long SIOCSIFMTU = 0x8922;
    public static final short IFF_UP = 0x1;
    /** {@code IFNAMSIZ}: interface names are at most 15 bytes plus the terminating NUL. */
    public static final int IFNAMSIZ = 16;
    /** {@code sizeof(struct ifreq)} on 64-bit Linux. */
    public static final int IFREQ_SIZE = 40;
}
