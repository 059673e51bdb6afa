package dev.patchcord.transport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One {@code struct msghdr} with its iovec and control space, for sendmsg/recvmsg of a single
 * datagram with control messages (the local source address). Allocated once per thread that uses
 * it and reused for every call, so the per-packet path allocates nothing.
 */
final class SingleMessage {
    /** The receive side needs room for IPV6_PKTINFO (and UDP_GRO should it come); the send side for one source. */
    private static final long CONTROL_SPACE = 96;

    private final MemorySegment header;
    private final MemorySegment control;
    private final long headerAddress;
    private final MemorySegment iov;

    SingleMessage(Arena arena) {
        MemorySegment all = arena.allocate(UdpBatch.MSGHDR_SIZE + UdpBatch.IOVEC_SIZE + CONTROL_SPACE, 8);
        header = all.asSlice(0, UdpBatch.MSGHDR_SIZE);
        iov = all.asSlice(UdpBatch.MSGHDR_SIZE, UdpBatch.IOVEC_SIZE);
        control = all.asSlice(UdpBatch.MSGHDR_SIZE + UdpBatch.IOVEC_SIZE, CONTROL_SPACE);
        headerAddress = header.address();
        header.set(JAVA_LONG, UdpBatch.IOV, iov.address());
        header.set(JAVA_LONG, UdpBatch.IOVLEN, 1L);
    }

    /** The msghdr's address, for sendmsg/recvmsg. */
    long address() {
        return headerAddress;
    }

    private void common(long data, long len, MemorySegment name) {
        iov.set(JAVA_LONG, 0, data);
        iov.set(JAVA_LONG, 8, len);
        header.set(JAVA_LONG, UdpBatch.NAME, name.address());
        header.set(JAVA_INT, UdpBatch.NAMELEN, SockAddr.SIZE);
        header.set(JAVA_INT, UdpBatch.FLAGS, 0);
    }

    /**
     * Readies a send of {@code len} bytes at native address {@code data} to {@code to} (an
     * {@link Endpoint}), from its source if {@code withSource} and it has one.
     */
    void prepareSend(long data, long len, MemorySegment to, boolean withSource) {
        common(data, len, to);
        if (withSource && Endpoint.hasSource(to)) {
            header.set(JAVA_LONG, UdpBatch.CONTROL, control.address());
            header.set(JAVA_LONG, UdpBatch.CONTROLLEN, ControlMessages.writeSource(control, 0, to));
        } else {
            header.set(JAVA_LONG, UdpBatch.CONTROL, 0L);
            header.set(JAVA_LONG, UdpBatch.CONTROLLEN, 0L);
        }
    }

    /** Readies a receive into {@code buf}, the sender's address going to {@code from}. */
    void prepareReceive(MemorySegment buf, MemorySegment from) {
        common(buf.address(), buf.byteSize(), from);
        header.set(JAVA_LONG, UdpBatch.CONTROL, control.address());
        header.set(JAVA_LONG, UdpBatch.CONTROLLEN, CONTROL_SPACE);
    }

    /** After a receive: the local address the datagram was sent to goes to {@code endpoint}'s source. */
    void completeReceive(MemorySegment endpoint) {
        ControlMessages.read(control, 0, header.get(JAVA_LONG, UdpBatch.CONTROLLEN), endpoint);
    }

    int flags() {
        return header.get(JAVA_INT, UdpBatch.FLAGS);
    }
}
