package dev.patchcord.core.offload;

import java.nio.ByteBuffer;

/**
 * The 10-byte {@code struct virtio_net_hdr} that precedes every packet read from or written to a
 * TUN device opened with {@code IFF_VNET_HDR}. It carries the offload metadata: whether the packet
 * still needs its transport checksum finished ({@link #NEEDS_CSUM}, with {@code csum_start} and
 * {@code csum_offset} saying where), and whether it is a super-packet to be cut into
 * {@code gso_size}-byte segments ({@code gso_type}).
 *
 * <p>Layout: {@code u8 flags, u8 gso_type, u16 hdr_len, u16 gso_size, u16 csum_start,
 * u16 csum_offset}. The 16-bit fields are in the device's virtio byte order, which for a TUN device
 * is the host's order unless {@code TUNSETVNETBE} says otherwise; patchcord runs on little-endian
 * hosts (x86-64, aarch64), so they are read and written little-endian here, byte by byte, whatever
 * order the buffer is set to.
 */
public final class VirtioNetHdr {
    private VirtioNetHdr() {}

    /** The header's size: the kernel's default {@code TUNSETVNETHDRSZ}. */
    public static final int SIZE = 10;

    /** flags: the checksum at {@code csum_start + csum_offset} holds only the pseudo-header sum. */
    public static final int NEEDS_CSUM = 1;
    /** flags: the checksum was already verified (only ever set on packets the kernel hands to us). */
    public static final int DATA_VALID = 2;

    /** gso_type: a single packet, no segmentation. */
    public static final int GSO_NONE = 0;
    /** gso_type: a TCP over IPv4 super-packet. */
    public static final int GSO_TCPV4 = 1;
    /** gso_type: IPv4 UDP fragmentation offload (UFO), long gone from Linux; never accepted here. */
    public static final int GSO_UDP = 3;
    /** gso_type: a TCP over IPv6 super-packet. */
    public static final int GSO_TCPV6 = 4;
    /** gso_type: a UDP super-datagram to cut into datagrams (USO, {@code TUN_F_USO4/6}). */
    public static final int GSO_UDP_L4 = 5;
    /** gso_type bit: the TCP super-packet carries CWR, which belongs on its first segment only. */
    public static final int GSO_ECN = 0x80;

    private static final int FLAGS = 0;
    private static final int GSO_TYPE = 1;
    private static final int HDR_LEN = 2;
    private static final int GSO_SIZE = 4;
    private static final int CSUM_START = 6;
    private static final int CSUM_OFFSET = 8;

    public static int flags(ByteBuffer b, int off) {
        return b.get(off + FLAGS) & 0xff;
    }

    /** The full gso_type byte, {@link #GSO_ECN} bit included. */
    public static int gsoType(ByteBuffer b, int off) {
        return b.get(off + GSO_TYPE) & 0xff;
    }

    /**
     * How many bytes of headers precede the payload. Only a hint when read from Linux, which fills
     * in the length of the buffer's linear part, and that may include payload.
     */
    public static int hdrLen(ByteBuffer b, int off) {
        return le16(b, off + HDR_LEN);
    }

    public static int gsoSize(ByteBuffer b, int off) {
        return le16(b, off + GSO_SIZE);
    }

    public static int csumStart(ByteBuffer b, int off) {
        return le16(b, off + CSUM_START);
    }

    public static int csumOffset(ByteBuffer b, int off) {
        return le16(b, off + CSUM_OFFSET);
    }

    /** Writes a whole header at {@code off}. Each 16-bit value is truncated to 16 bits. */
    public static void write(ByteBuffer b, int off, int flags, int gsoType, int hdrLen, int gsoSize,
                             int csumStart, int csumOffset) {
        b.put(off + FLAGS, (byte) flags);
        b.put(off + GSO_TYPE, (byte) gsoType);
        putLe16(b, off + HDR_LEN, hdrLen);
        putLe16(b, off + GSO_SIZE, gsoSize);
        putLe16(b, off + CSUM_START, csumStart);
        putLe16(b, off + CSUM_OFFSET, csumOffset);
    }

    /** Writes the all-zero header of a plain packet: no checksum work, no segmentation. */
    public static void writeNone(ByteBuffer b, int off) {
        // Two stores instead of ten: the 8 + 2 bytes are zero in any byte order.
        b.putLong(off, 0L);
        b.putShort(off + 8, (short) 0);
    }

    private static int le16(ByteBuffer b, int i) {
        return (b.get(i) & 0xff) | (b.get(i + 1) & 0xff) << 8;
    }

    private static void putLe16(ByteBuffer b, int i, int v) {
        b.put(i, (byte) v);
        b.put(i + 1, (byte) (v >>> 8));
    }
}
