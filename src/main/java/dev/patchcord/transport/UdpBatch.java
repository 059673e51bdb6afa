package dev.patchcord.transport;

import dev.patchcord.sys.Linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Objects;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A reusable vector of UDP messages for {@link UdpSocket#receive(UdpBatch)} and
 * {@link UdpSocket#send(UdpBatch, int)}: N slots, each with a buffer, a peer address
 * ({@code sockaddr_in6}) with the local address it spoke to (an {@link Endpoint}), a length, a
 * segment size and room for control messages.
 *
 * <p>Every kernel structure ({@code struct mmsghdr}, {@code iovec}, {@code sockaddr_in6},
 * {@code cmsghdr}) is allocated here once, so a batch system call allocates nothing. A batch belongs
 * to one thread at a time; it may alternate between receiving and sending (for example, to answer
 * what it received).
 *
 * <p><b>Segments.</b> A slot may hold several datagrams for or from one peer, laid end to end, each
 * {@link #segmentSize} bytes except the last, which may be shorter. On send that is UDP GSO (one
 * kernel message, cut by the kernel or the NIC), or, where GSO is off, one message per datagram.
 * On receive it is UDP GRO. Callers split every slot the same way:
 * {@code for (off = 0; off < length; off += segmentSize) datagram at [off, min(off + segmentSize, length))}.
 */
public final class UdpBatch implements AutoCloseable {
    /**
     * The most datagrams one GSO message carries: the kernel's {@code UDP_MAX_SEGMENTS}, 64 on every
     * kernel with UDP GSO (newer ones allow more). A slot with more is sent one datagram per message.
     */
    public static final int MAX_SEGMENTS = 64;
    /** The most messages one recvmmsg/sendmmsg takes ({@code UIO_MAXIOV}). */
    public static final int MAX_SLOTS = 1024;

    // LP64 layouts (x86-64 and arm64); the offsets come from the layouts, not from hand counting.
    private static final StructLayout IOVEC = MemoryLayout.structLayout(
            ADDRESS.withName("iov_base"), JAVA_LONG.withName("iov_len"));
    private static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"), JAVA_INT.withName("msg_namelen"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"), JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"), JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"), MemoryLayout.paddingLayout(4));
    private static final StructLayout MMSGHDR = MemoryLayout.structLayout(
            MSGHDR.withName("msg_hdr"), JAVA_INT.withName("msg_len"), MemoryLayout.paddingLayout(4));
    private static final StructLayout CMSGHDR = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"), JAVA_INT.withName("cmsg_level"), JAVA_INT.withName("cmsg_type"));

    static final long MMSG_SIZE = MMSGHDR.byteSize();
    private static final long IOV_SIZE = IOVEC.byteSize();
    // struct msghdr's fields; it starts struct mmsghdr, so these serve a lone msghdr too.
    static final long NAME = hdr("msg_name");
    static final long NAMELEN = hdr("msg_namelen");
    static final long IOV = hdr("msg_iov");
    static final long IOVLEN = hdr("msg_iovlen");
    static final long CONTROL = hdr("msg_control");
    static final long CONTROLLEN = hdr("msg_controllen");
    static final long FLAGS = hdr("msg_flags");
    static final long MSGHDR_SIZE = MSGHDR.byteSize();
    static final long IOVEC_SIZE = IOVEC.byteSize();
    private static final long MSG_LEN = MMSGHDR.byteOffset(groupElement("msg_len"));
    private static final long CMSG_HDR = CMSGHDR.byteSize();
    /**
     * Control space per slot: on receive UDP_GRO (24 bytes) and IPV6_PKTINFO (40), on send the
     * source (at most 40) and UDP_SEGMENT (24); the rest is headroom.
     */
    private static final long CONTROL_SPACE = 128;
    /** Each slot's {@link Endpoint}: the peer's {@code sockaddr_in6} (the message's name) and the local source. */
    private static final long NAME_STRIDE = 64;

    private static long hdr(String field) {
        return MMSGHDR.byteOffset(groupElement("msg_hdr"), groupElement(field));
    }

    private final Arena arena = Arena.ofShared();
    private final int slots;
    private final MemorySegment[] own;
    private final MemorySegment[] buffers;
    private final MemorySegment[] addresses;
    private final MemorySegment[] endpoints;
    private final MemorySegment msgs;
    private final MemorySegment iovs;
    private final MemorySegment controls;
    private final long msgsAddress;
    private final long controlsAddress;
    private final int[] offset;
    private final int[] length;
    private final int[] segment;
    private final int[] status;
    private final int[] flags;
    private final boolean[] gsoUsed;
    /** Slots whose source the kernel refused in the last send, which then went without it. */
    private final boolean[] sourceDropped;
    /** Slots [received, prepared) are ready for recvmmsg as they are; the rest need resetting. */
    private int prepared;
    private int received;

    /** The vector the socket uses to send one over-long or GSO-less slot one datagram per message. */
    private final MemorySegment splitMsgs;
    private final MemorySegment splitIovs;
    private final long splitAddress;
    /** The source message every split datagram of a slot shares (the kernel only reads it). */
    private final MemorySegment splitControl;

    /**
     * @param slots messages per system call (1 to {@link #MAX_SLOTS}; wireguard-go uses 128)
     * @param bufferSize bytes per slot; 65536 holds any datagram and any GRO super-datagram
     */
    public UdpBatch(int slots, int bufferSize) {
        if (slots < 1 || slots > MAX_SLOTS) {
            throw new IllegalArgumentException("slots must be 1.." + MAX_SLOTS + ": " + slots);
        }
        if (bufferSize < 1) {
            throw new IllegalArgumentException("bufferSize must be positive: " + bufferSize);
        }
        this.slots = slots;
        MemorySegment data = arena.allocate((long) slots * bufferSize, 64);
        MemorySegment names = arena.allocate(slots * NAME_STRIDE, 8);
        msgs = arena.allocate(MMSGHDR, slots);
        iovs = arena.allocate(IOVEC, slots);
        controls = arena.allocate(slots * CONTROL_SPACE, 8);
        msgsAddress = msgs.address();
        controlsAddress = controls.address();
        own = new MemorySegment[slots];
        buffers = new MemorySegment[slots];
        addresses = new MemorySegment[slots];
        endpoints = new MemorySegment[slots];
        offset = new int[slots];
        length = new int[slots];
        segment = new int[slots];
        status = new int[slots];
        flags = new int[slots];
        gsoUsed = new boolean[slots];
        sourceDropped = new boolean[slots];
        for (int i = 0; i < slots; i++) {
            own[i] = data.asSlice((long) i * bufferSize, bufferSize);
            buffers[i] = own[i];
            addresses[i] = names.asSlice(i * NAME_STRIDE, SockAddr.SIZE);
            endpoints[i] = names.asSlice(i * NAME_STRIDE, Endpoint.SIZE);
            long m = i * MMSG_SIZE;
            // The name and iovec pointers never change; only lengths, control and flags do.
            msgs.set(JAVA_LONG, m + NAME, addresses[i].address());
            msgs.set(JAVA_LONG, m + IOV, iovs.address() + i * IOV_SIZE);
            msgs.set(JAVA_LONG, m + IOVLEN, 1L);
        }
        splitMsgs = arena.allocate(MMSGHDR, MAX_SEGMENTS);
        splitIovs = arena.allocate(IOVEC, MAX_SEGMENTS);
        splitAddress = splitMsgs.address();
        splitControl = arena.allocate(ControlMessages.SOURCE_SPACE, 8);
        for (int k = 0; k < MAX_SEGMENTS; k++) {
            splitMsgs.set(JAVA_LONG, k * MMSG_SIZE + IOV, splitIovs.address() + k * IOV_SIZE);
            splitMsgs.set(JAVA_LONG, k * MMSG_SIZE + IOVLEN, 1L);
            splitMsgs.set(JAVA_INT, k * MMSG_SIZE + NAMELEN, SockAddr.SIZE);
        }
    }

    public int slots() {
        return slots;
    }

    /** Slot {@code i}'s buffer: its own, or the one {@link #attach attached} to it. */
    public MemorySegment buffer(int i) {
        return buffers[i];
    }

    /** Slot {@code i}'s peer: the source after a receive, the destination for a send. */
    public MemorySegment address(int i) {
        return addresses[i];
    }

    /**
     * Slot {@code i}'s {@link Endpoint}: the peer and, after a receive, the local address the
     * datagram was sent to (none if the kernel did not say); for a send, the source to use.
     */
    public MemorySegment endpoint(int i) {
        return endpoints[i];
    }

    /** Copies a {@link SockAddr}-encoded destination into slot {@code i}; routing picks the source. */
    public void setAddress(int i, MemorySegment sockaddr) {
        MemorySegment.copy(sockaddr, 0, addresses[i], 0, SockAddr.SIZE);
        Endpoint.clearSource(endpoints[i]);
    }

    /**
     * Copies a destination into slot {@code i}: an {@link Endpoint}, whose source the datagrams
     * then leave from, or a bare {@link SockAddr}.
     */
    public void setEndpoint(int i, MemorySegment endpoint) {
        if (endpoint.byteSize() >= Endpoint.SIZE) {
            MemorySegment.copy(endpoint, 0, endpoints[i], 0, Endpoint.SIZE);
        } else {
            setAddress(i, endpoint);
        }
    }

    /** Encodes a destination into slot {@code i} (allocates: for set-up and tests, not per packet). */
    public void setAddress(int i, InetSocketAddress to) {
        SockAddr.encode(to, addresses[i]);
        Endpoint.clearSource(endpoints[i]);
    }

    /**
     * After a send: whether slot {@code i} named a source that the kernel refused (the address is
     * gone, or its interface no longer reaches the peer), so it went from whatever address routing
     * picked instead. Whoever remembered that source should forget it.
     */
    public boolean sourceDropped(int i) {
        return sourceDropped[i];
    }

    /**
     * Describes what slot {@code i} sends: {@code length} bytes from {@code offset} in its buffer,
     * cut into datagrams of {@code segmentSize} bytes (0, or not less than {@code length}: one datagram).
     */
    public void set(int i, int offset, int length, int segmentSize) {
        Objects.checkFromIndexSize(offset, length, (int) Math.min(Integer.MAX_VALUE, buffers[i].byteSize()));
        this.offset[i] = offset;
        this.length[i] = length;
        this.segment[i] = segmentSize;
    }

    /** Where slot {@code i}'s data starts in its buffer (0 after a receive). */
    public int offset(int i) {
        return offset[i];
    }

    /** Bytes in slot {@code i}: received, or to send. */
    public int length(int i) {
        return length[i];
    }

    /**
     * The size of each datagram in slot {@code i}; the last may be shorter. After a receive it equals
     * {@link #length} unless GRO coalesced several datagrams into the slot (so it is 0 for an empty
     * datagram, which a splitting loop then skips).
     */
    public int segmentSize(int i) {
        return segment[i];
    }

    /** How many datagrams slot {@code i} holds (1 for an empty datagram). */
    public int datagrams(int i) {
        int seg = segment[i];
        return seg <= 0 || seg >= length[i] ? 1 : (length[i] + seg - 1) / seg;
    }

    /** Whether the received datagram was longer than the slot's buffer and was cut. */
    public boolean truncated(int i) {
        return (flags[i] & Linux.MSG_TRUNC) != 0;
    }

    /** After a send: 0 if the kernel took every datagram of slot {@code i}, else the first -errno. */
    public int status(int i) {
        return status[i];
    }

    /**
     * Points slot {@code i} at a buffer of the caller's (native memory that outlives its use here),
     * so data produced elsewhere can be sent, or received into, without a copy.
     */
    public void attach(int i, MemorySegment buffer) {
        if (!buffer.isNative()) {
            throw new IllegalArgumentException("a batch slot needs native memory");
        }
        buffers[i] = buffer;
        prepared = Math.min(prepared, i);
    }

    /** Gives slot {@code i} its own buffer back. */
    public void detach(int i) {
        buffers[i] = own[i];
        prepared = Math.min(prepared, i);
    }

    @Override
    public void close() {
        arena.close();
    }

    // ---- used by UdpSocket ----------------------------------------------------------------

    long messageAddress(int i) {
        return msgsAddress + i * MMSG_SIZE;
    }

    /** Readies slots [0, vlen) for recvmmsg, touching only those the last call changed. */
    void prepareReceive(int vlen) {
        for (int i = 0; i < vlen; i++) {
            if (i < received || i >= prepared) {
                long m = i * MMSG_SIZE;
                iovs.set(JAVA_LONG, i * IOV_SIZE, buffers[i].address());
                iovs.set(JAVA_LONG, i * IOV_SIZE + 8, buffers[i].byteSize());
                msgs.set(JAVA_INT, m + NAMELEN, SockAddr.SIZE);
                msgs.set(JAVA_LONG, m + CONTROL, controlsAddress + i * CONTROL_SPACE);
                // The kernel writes back how much control data it used, so this is reset every time.
                msgs.set(JAVA_LONG, m + CONTROLLEN, CONTROL_SPACE);
                msgs.set(JAVA_INT, m + FLAGS, 0);
            }
        }
        prepared = Math.max(prepared, vlen);
        received = 0;
    }

    /** Reads back what recvmmsg wrote for the first {@code n} slots. */
    void completeReceive(int n) {
        received = n;
        for (int i = 0; i < n; i++) {
            long m = i * MMSG_SIZE;
            int len = msgs.get(JAVA_INT, m + MSG_LEN);
            offset[i] = 0;
            length[i] = len;
            flags[i] = msgs.get(JAVA_INT, m + FLAGS);
            status[i] = 0;
            int gro = readControl(i);
            segment[i] = gro > 0 && gro < len ? gro : len;
        }
    }

    /**
     * Reads slot {@code i}'s received control data: the local address goes to its endpoint's
     * source; returns the UDP_GRO segment size, or 0 if there is none.
     */
    private int readControl(int i) {
        long used = msgs.get(JAVA_LONG, i * MMSG_SIZE + CONTROLLEN);
        return ControlMessages.read(controls, i * CONTROL_SPACE, used, endpoints[i]);
    }

    /** The UDP_GRO segment size in slot {@code i}'s received control data, or 0 if there is none. */
    int groSegmentSize(int i) {
        return readControl(i);
    }

    /** Test hook: lays a control message into slot {@code i} as the kernel would after a receive. */
    void fakeControl(int i, int level, int type, int value, long controlLength) {
        long base = i * CONTROL_SPACE;
        controls.set(JAVA_LONG, base, CMSG_HDR + 4);
        controls.set(JAVA_INT, base + 8, level);
        controls.set(JAVA_INT, base + 12, type);
        controls.set(JAVA_INT, base + CMSG_HDR, value);
        msgs.set(JAVA_LONG, i * MMSG_SIZE + CONTROLLEN, controlLength);
    }

    boolean segmented(int i) {
        return segment[i] > 0 && segment[i] < length[i];
    }

    /** Whether slot {@code i} must go one datagram per message: segmented, and GSO cannot take it. */
    /**
     * Whether slot {@code i} must go one datagram per message: it has several and GSO is off, or
     * they are more than one GSO message may carry, or larger than {@code maxSegment}.
     */
    boolean needsSplit(int i, boolean gso, int maxSegment) {
        return segmented(i) && (!gso || datagrams(i) > MAX_SEGMENTS || segment[i] > maxSegment);
    }

    boolean usesGso(int i) {
        return gsoUsed[i];
    }

    void clearStatus(int count) {
        Arrays.fill(status, 0, count, 0);
        Arrays.fill(sourceDropped, 0, count, false);
    }

    boolean hasSource(int i) {
        return Endpoint.hasSource(endpoints[i]);
    }

    /** The kernel refused slot {@code i}'s source: it is sent again without one. */
    void dropSource(int i) {
        Endpoint.clearSource(endpoints[i]);
        sourceDropped[i] = true;
        prepared = 0;
    }

    void fail(int i, int errno) {
        if (status[i] == 0) {
            status[i] = errno;
        }
    }

    /**
     * Readies slots from {@code from} for sendmmsg, stopping before the first that needs splitting.
     *
     * @return the end (exclusive) of the run that can go in one sendmmsg
     */
    int prepareSend(int from, int count, boolean gso, int maxSegment) {
        prepared = 0; // the iovecs and control pointers now describe sends
        for (int i = from; i < count; i++) {
            if (needsSplit(i, gso, maxSegment)) {
                return i;
            }
            long m = i * MMSG_SIZE;
            iovs.set(JAVA_LONG, i * IOV_SIZE, buffers[i].address() + offset[i]);
            iovs.set(JAVA_LONG, i * IOV_SIZE + 8, length[i]);
            msgs.set(JAVA_INT, m + NAMELEN, SockAddr.SIZE);
            msgs.set(JAVA_INT, m + FLAGS, 0);
            boolean useGso = segmented(i);
            gsoUsed[i] = useGso;
            long c = i * CONTROL_SPACE;
            long used = 0;
            if (Endpoint.hasSource(endpoints[i])) {
                used += ControlMessages.writeSource(controls, c, endpoints[i]);
            }
            if (useGso) {
                used += ControlMessages.writeSegment(controls, c + used, segment[i]);
            }
            msgs.set(JAVA_LONG, m + CONTROL, used == 0 ? 0L : controlsAddress + c);
            msgs.set(JAVA_LONG, m + CONTROLLEN, used);
        }
        return count;
    }

    /**
     * Lays datagrams {@code first}, {@code first + 1}, … of slot {@code i} into the split vector,
     * one per message, as many as fit.
     *
     * @return how many were laid out
     */
    int prepareSplit(int i, int first) {
        int seg = segmented(i) ? segment[i] : length[i];
        int total = datagrams(i);
        int n = Math.min(MAX_SEGMENTS, total - first);
        long base = buffers[i].address() + offset[i];
        long name = addresses[i].address();
        long control = 0;
        long controlLen = 0;
        if (Endpoint.hasSource(endpoints[i])) {
            controlLen = ControlMessages.writeSource(splitControl, 0, endpoints[i]);
            control = splitControl.address();
        }
        for (int k = 0; k < n; k++) {
            long start = (long) (first + k) * seg;
            long m = k * MMSG_SIZE;
            splitIovs.set(JAVA_LONG, k * IOV_SIZE, base + start);
            splitIovs.set(JAVA_LONG, k * IOV_SIZE + 8, Math.min(seg, length[i] - start));
            splitMsgs.set(JAVA_LONG, m + NAME, name);
            splitMsgs.set(JAVA_LONG, m + CONTROL, control);
            splitMsgs.set(JAVA_LONG, m + CONTROLLEN, controlLen);
            splitMsgs.set(JAVA_INT, m + FLAGS, 0);
        }
        return n;
    }

    long splitAddress(int k) {
        return splitAddress + k * MMSG_SIZE;
    }
}
