package dev.patchcord.core.simplevpn;

import java.nio.ByteBuffer;

/**
 * simplevpn's control messages: 20 bytes that look like an IPv4 header with total length 0, so
 * they can share the TCP stream with raw IP packets and still be told apart from them.
 *
 * <pre>
 *  0: 0x45  1: 0x14  2-3: 0x0000 (total length 0)  4-7: 0  8: 0x40 (TTL)  9: 0  10-11: 0
 * 12-15: source address   16-19: destination address       (network byte order)
 * </pre>
 *
 * The original client fills byte 1 from a struct field it calls "header length" (20 = 0x14),
 * which is why the TOS byte is 0x14; patchcord writes the same bytes so a capture of either is
 * identical. Only bytes 12-19 carry meaning, and the original server looks at nothing else:
 *
 * <table>
 * <caption>meaning of source / destination</caption>
 * <tr><th>src</th><th>dst</th><th>message</th></tr>
 * <tr><td>0</td><td>0</td><td>dynamic address request (client to server)</td></tr>
 * <tr><td>ADDR</td><td>0</td><td>static request for ADDR (client to server)</td></tr>
 * <tr><td>0</td><td>ADDR</td><td>assignment or grant of ADDR (server to client)</td></tr>
 * <tr><td>255.255.255.255</td><td>255.255.255.255</td><td>keepalive, echoed unaltered by the server</td></tr>
 * </table>
 *
 * Addresses are handled as {@code int}s holding the four bytes in network order
 * ({@code 10.0.254.254 == 0x0A00FEFE}), so nothing here allocates.
 */
public final class ControlMessage {
    private ControlMessage() {}

    public static final int SIZE = 20;
    /** "No address": the source and destination of a dynamic request. */
    public static final int NONE = 0;
    /** 255.255.255.255, the keepalive's source and destination. */
    public static final int ALL_ONES = 0xFFFFFFFF;

    /** What a control message means, from its source and destination alone. */
    public enum Kind {
        DYNAMIC_REQUEST, STATIC_REQUEST, ASSIGNMENT, KEEPALIVE,
        /** Total length 0 but no known meaning: dropped and counted by whoever receives it. */
        UNKNOWN
    }

    /** Whether the bytes at {@code off} have the control-message shape: IPv4 version and total length 0. */
    public static boolean isControl(ByteBuffer buf, int off) {
        return (buf.get(off) & 0xf0) == 0x40 && buf.get(off + 2) == 0 && buf.get(off + 3) == 0;
    }

    public static int source(ByteBuffer buf, int off) {
        return be32(buf, off + 12);
    }

    public static int destination(ByteBuffer buf, int off) {
        return be32(buf, off + 16);
    }

    public static Kind kind(ByteBuffer buf, int off) {
        return kind(source(buf, off), destination(buf, off));
    }

    public static Kind kind(int src, int dst) {
        if (src == ALL_ONES && dst == ALL_ONES) {
            return Kind.KEEPALIVE;
        }
        if (dst == NONE) {
            return src == NONE ? Kind.DYNAMIC_REQUEST : Kind.STATIC_REQUEST;
        }
        return src == NONE && dst != ALL_ONES ? Kind.ASSIGNMENT : Kind.UNKNOWN;
    }

    /** Writes the 20 bytes of a message with these addresses at {@code off} (absolute, position untouched). */
    public static void encode(ByteBuffer out, int off, int src, int dst) {
        out.put(off, (byte) 0x45);
        out.put(off + 1, (byte) 0x14);
        for (int i = 2; i < 12; i++) {
            out.put(off + i, (byte) 0);
        }
        out.put(off + 8, (byte) 0x40);
        putBe32(out, off + 12, src);
        putBe32(out, off + 16, dst);
    }

    /** A new 20-byte array holding one message; for set-up paths and tests, not per packet. */
    public static byte[] bytes(int src, int dst) {
        byte[] b = new byte[SIZE];
        encode(ByteBuffer.wrap(b), 0, src, dst);
        return b;
    }

    public static byte[] dynamicRequest() {
        return bytes(NONE, NONE);
    }

    public static byte[] staticRequest(int address) {
        return bytes(address, NONE);
    }

    /** The server's answer to either request: source 0, destination the address given. */
    public static byte[] assignment(int address) {
        return bytes(NONE, address);
    }

    public static byte[] keepalive() {
        return bytes(ALL_ONES, ALL_ONES);
    }

    /** {@code 10.0.254.254}. */
    public static String format(int address) {
        return (address >>> 24) + "." + (address >>> 16 & 0xff) + "." + (address >>> 8 & 0xff) + "." + (address & 0xff);
    }

    /** Four bytes in network order (as {@code InetAddress.getAddress()} gives them) as an int. */
    public static int fromBytes(byte[] four) {
        if (four.length != 4) {
            throw new IllegalArgumentException("an IPv4 address has 4 bytes, not " + four.length);
        }
        return (four[0] & 0xff) << 24 | (four[1] & 0xff) << 16 | (four[2] & 0xff) << 8 | (four[3] & 0xff);
    }

    public static byte[] toBytes(int address) {
        return new byte[]{(byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address};
    }

    static int be32(ByteBuffer buf, int off) {
        return (buf.get(off) & 0xff) << 24 | (buf.get(off + 1) & 0xff) << 16
                | (buf.get(off + 2) & 0xff) << 8 | (buf.get(off + 3) & 0xff);
    }

    private static void putBe32(ByteBuffer buf, int off, int v) {
        buf.put(off, (byte) (v >>> 24));
        buf.put(off + 1, (byte) (v >>> 16));
        buf.put(off + 2, (byte) (v >>> 8));
        buf.put(off + 3, (byte) v);
    }
}
