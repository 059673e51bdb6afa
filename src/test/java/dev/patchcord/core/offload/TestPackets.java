package dev.patchcord.core.offload;

import dev.patchcord.core.NetHeaders;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Builds IPv4/IPv6 TCP and UDP packets as byte arrays, and checks them, with a checksum of its
 * own written the slow, obvious way (16 bits at a time) so that the tests don't grade the code
 * under test against itself.
 */
final class TestPackets {
    private TestPackets() {}

    static final byte[] V4_SRC = {10, 0, 0, 1};
    static final byte[] V4_DST = {10, 0, 0, 2};
    static final byte[] V6_SRC = bytes(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    static final byte[] V6_DST = bytes(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

    static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    /** The fields of one TCP (or, with {@code udp}, UDP) packet; mutable, defaults are a plain ACK. */
    static final class Spec {
        int version = 4;
        boolean udp;
        byte[] src = V4_SRC;
        byte[] dst = V4_DST;
        int sport = 40000;
        int dport = 5201;
        int seq = 1000;
        int ack = 77;
        int flags = NetHeaders.ACK;
        int window = 501;
        byte[] options = new byte[0];
        byte[] payload = new byte[0];
        int id = 0x1234;
        int ttl = 64;
        int tos = 0;
        int flowLabel = 0x12345;
        boolean df = true;

        Spec v6() {
            version = 6;
            src = V6_SRC;
            dst = V6_DST;
            return this;
        }

        Spec copy() {
            Spec s = new Spec();
            s.version = version;
            s.udp = udp;
            s.src = src;
            s.dst = dst;
            s.sport = sport;
            s.dport = dport;
            s.seq = seq;
            s.ack = ack;
            s.flags = flags;
            s.window = window;
            s.options = options;
            s.payload = payload;
            s.id = id;
            s.ttl = ttl;
            s.tos = tos;
            s.flowLabel = flowLabel;
            s.df = df;
            return s;
        }

        int ipHeader() {
            return version == 4 ? 20 : 40;
        }

        int l4Header() {
            return udp ? 8 : 20 + options.length;
        }
    }

    /** A complete packet with valid checksums. */
    static byte[] build(Spec s) {
        byte[] p = layout(s);
        int ih = s.ipHeader();
        int l4Len = p.length - ih;
        int c = fold(pseudo(p, s.version, s.udp ? 17 : 6, l4Len) + sum(p, ih, l4Len));
        int check = ~c & 0xffff;
        if (s.udp && check == 0) {
            check = 0xffff;
        }
        put16(p, ih + (s.udp ? 6 : 16), check);
        return p;
    }

    /**
     * What a TUN read returns for a TCP super-packet: a virtio header asking for segmentation into
     * {@code gso}-byte pieces and the packet, its checksum field holding the pseudo-header sum.
     */
    static byte[] superPacket(Spec s, int gso) {
        byte[] p = layout(s);
        int ih = s.ipHeader();
        int l4Len = p.length - ih;
        put16(p, ih + (s.udp ? 6 : 16), fold(pseudo(p, s.version, s.udp ? 17 : 6, l4Len)));
        byte[] out = new byte[VirtioNetHdr.SIZE + p.length];
        ByteBuffer b = ByteBuffer.wrap(out);
        int type = s.udp ? VirtioNetHdr.GSO_UDP_L4 : s.version == 4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6;
        VirtioNetHdr.write(b, 0, VirtioNetHdr.NEEDS_CSUM, type, ih + s.l4Header(), gso, ih, s.udp ? 6 : 16);
        System.arraycopy(p, 0, out, VirtioNetHdr.SIZE, p.length);
        return out;
    }

    private static byte[] layout(Spec s) {
        int ih = s.ipHeader();
        int lh = s.l4Header();
        byte[] p = new byte[ih + lh + s.payload.length];
        if (s.version == 4) {
            p[0] = 0x45;
            p[1] = (byte) s.tos;
            put16(p, 2, p.length);
            put16(p, 4, s.id);
            p[6] = (byte) (s.df ? 0x40 : 0);
            p[8] = (byte) s.ttl;
            p[9] = (byte) (s.udp ? 17 : 6);
            System.arraycopy(s.src, 0, p, 12, 4);
            System.arraycopy(s.dst, 0, p, 16, 4);
            put16(p, 10, ~fold(sum(p, 0, 20)) & 0xffff);
        } else {
            p[0] = (byte) (0x60 | (s.tos >>> 4));
            p[1] = (byte) ((s.tos << 4) | (s.flowLabel >>> 16 & 0xf));
            put16(p, 2, s.flowLabel);
            put16(p, 4, p.length - 40);
            p[6] = (byte) (s.udp ? 17 : 6);
            p[7] = (byte) s.ttl;
            System.arraycopy(s.src, 0, p, 8, 16);
            System.arraycopy(s.dst, 0, p, 24, 16);
        }
        put16(p, ih, s.sport);
        put16(p, ih + 2, s.dport);
        if (s.udp) {
            put16(p, ih + 4, lh + s.payload.length);
        } else {
            put32(p, ih + 4, s.seq);
            put32(p, ih + 8, s.ack);
            p[ih + 12] = (byte) ((lh / 4) << 4);
            p[ih + 13] = (byte) s.flags;
            put16(p, ih + 14, s.window);
            System.arraycopy(s.options, 0, p, ih + 20, s.options.length);
        }
        System.arraycopy(s.payload, 0, p, ih + lh, s.payload.length);
        return p;
    }

    // The reference checksum: one 16-bit word at a time, carries folded at the end.

    static long sum(byte[] p, int off, int len) {
        long s = 0;
        for (int i = 0; i < len; i += 2) {
            int hi = p[off + i] & 0xff;
            int lo = i + 1 < len ? p[off + i + 1] & 0xff : 0;
            s += hi << 8 | lo;
        }
        return s;
    }

    static int fold(long s) {
        while (s > 0xffff) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    static long pseudo(byte[] p, int version, int proto, int l4Len) {
        return version == 4 ? sum(p, 12, 8) + proto + l4Len : sum(p, 8, 32) + proto + l4Len;
    }

    static boolean ipv4HeaderValid(byte[] p) {
        return fold(sum(p, 0, (p[0] & 0xf) * 4)) == 0xffff;
    }

    /** Whether the TCP or UDP checksum of a whole packet (no virtio header) checks out. */
    static boolean l4ChecksumValid(byte[] p) {
        int version = (p[0] & 0xff) >>> 4;
        int ih = version == 4 ? (p[0] & 0xf) * 4 : 40;
        int proto = version == 4 ? p[9] & 0xff : p[6] & 0xff;
        int l4Len = p.length - ih;
        return fold(pseudo(p, version, proto, l4Len) + sum(p, ih, l4Len)) == 0xffff;
    }

    static int get16(byte[] p, int i) {
        return (p[i] & 0xff) << 8 | (p[i + 1] & 0xff);
    }

    static int get32(byte[] p, int i) {
        return get16(p, i) << 16 | get16(p, i + 2);
    }

    static void put16(byte[] p, int i, int v) {
        p[i] = (byte) (v >>> 8);
        p[i + 1] = (byte) v;
    }

    static void put32(byte[] p, int i, int v) {
        put16(p, i, v >>> 16);
        put16(p, i + 2, v);
    }

    /** Recomputes the IPv4 header checksum (if any) and the TCP/UDP checksum after an edit. */
    static void fixChecksums(byte[] p) {
        int version = (p[0] & 0xff) >>> 4;
        int ih = version == 4 ? (p[0] & 0xf) * 4 : 40;
        if (version == 4) {
            put16(p, 10, 0);
            put16(p, 10, ~fold(sum(p, 0, ih)) & 0xffff);
        }
        int proto = version == 4 ? p[9] & 0xff : p[6] & 0xff;
        int field = ih + (proto == 17 ? 6 : 16);
        put16(p, field, 0);
        int c = ~fold(pseudo(p, version, proto, p.length - ih) + sum(p, ih, p.length - ih)) & 0xffff;
        put16(p, field, proto == 17 && c == 0 ? 0xffff : c);
    }

    /** A buffer of the given byte order and kind holding {@code data} at {@code off}, limit = capacity. */
    static ByteBuffer buffer(int capacity, boolean direct, boolean littleEndian) {
        ByteBuffer b = direct ? ByteBuffer.allocateDirect(capacity) : ByteBuffer.allocate(capacity);
        return b.order(littleEndian ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
    }

    /** Room for any segment or super-packet the tests make, with headroom. */
    static final int SLOT = 66_000;
    static final int MAX_SLOTS = 340;
    private static ByteBuffer[] directLittle;
    private static ByteBuffer[] heapBig;

    /**
     * Output slots reused across tries (allocating 20 MiB per try would dominate the run time):
     * direct little-endian or heap big-endian buffers, limits reset to their capacity.
     */
    static ByteBuffer[] slots(boolean littleEndian) {
        if (littleEndian && directLittle == null) {
            directLittle = new ByteBuffer[MAX_SLOTS];
            for (int i = 0; i < MAX_SLOTS; i++) {
                directLittle[i] = buffer(SLOT, true, true);
            }
        } else if (!littleEndian && heapBig == null) {
            heapBig = new ByteBuffer[MAX_SLOTS];
            for (int i = 0; i < MAX_SLOTS; i++) {
                heapBig[i] = buffer(SLOT, false, false);
            }
        }
        ByteBuffer[] s = littleEndian ? directLittle : heapBig;
        for (ByteBuffer b : s) {
            b.clear();
        }
        return s;
    }

    static byte[] read(ByteBuffer b, int off, int len) {
        byte[] out = new byte[len];
        b.get(off, out);
        return out;
    }

    static byte[] payload(int len, int seed) {
        byte[] p = new byte[len];
        int x = seed * 0x9e3779b9 + 1;
        for (int i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            p[i] = (byte) x;
        }
        return p;
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x));
        }
        return sb.toString();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
