package dev.patchcord.testing;

import dev.patchcord.core.NetHeaders;
import dev.patchcord.core.offload.VirtioNetHdr;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The tests' one builder of IP packets: plain IPv4 and IPv6 packets of a given size, and TCP
 * and UDP packets and super-packets field by field ({@link Spec}), with checksums of its own
 * written the slow, obvious way (16 bits at a time) so that the tests don't grade the code under
 * test against itself.
 */
public final class TestPackets {
    private TestPackets() {}

    public static final int TCP = 6;
    public static final int UDP = 17;

    public static final byte[] V4_SRC = {10, 0, 0, 1};
    public static final byte[] V4_DST = {10, 0, 0, 2};
    public static final byte[] V6_SRC = bytes(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    public static final byte[] V6_DST = bytes(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

    public static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    // ---- plain packets: a header and recognisable contents -------------------------------------

    /**
     * An IPv4 packet of protocol {@code proto} from {@code src} to {@code dst} with {@code payload}
     * bytes after the 20-byte header (TTL 64, no header checksum), the payload counting in sevens.
     */
    public static byte[] ipv4(byte[] src, byte[] dst, int proto, int payload) {
        byte[] p = new byte[20 + payload];
        p[0] = 0x45;
        put16(p, 2, p.length);
        p[8] = 64;
        p[9] = (byte) proto;
        System.arraycopy(src, 0, p, 12, 4);
        System.arraycopy(dst, 0, p, 16, 4);
        for (int i = 0; i < payload; i++) {
            p[20 + i] = (byte) (i * 7);
        }
        return p;
    }

    /** The same for IPv6: next header {@code next}, hop limit 64, the payload counting in fives. */
    public static byte[] ipv6(byte[] src, byte[] dst, int next, int payload) {
        byte[] p = new byte[40 + payload];
        p[0] = 0x60;
        put16(p, 4, payload);
        p[6] = (byte) next;
        p[7] = 64;
        System.arraycopy(src, 0, p, 8, 16);
        System.arraycopy(dst, 0, p, 24, 16);
        for (int i = 0; i < payload; i++) {
            p[40 + i] = (byte) (i * 5);
        }
        return p;
    }

    /** An ICMP-over-IPv4 packet from {@code src} to {@code dst} (addresses as ints), {@code length} bytes, header checksum set. */
    public static byte[] ipv4(int src, int dst, int length) {
        ByteBuffer a = ByteBuffer.allocate(8).putInt(src).putInt(dst);
        return withChecksum(ipv4(Arrays.copyOfRange(a.array(), 0, 4), Arrays.copyOfRange(a.array(), 4, 8), 1, length - 20));
    }

    /** An IPv4 packet of {@code totalLength} bytes filled with {@code fill}, header checksum set: only its length is real. */
    public static byte[] ipv4(int totalLength, int fill) {
        byte[] p = new byte[totalLength];
        Arrays.fill(p, (byte) fill);
        p[0] = 0x45;
        put16(p, 2, totalLength);
        return withChecksum(p);
    }

    /** An IPv6 packet with {@code payloadLength} bytes after the header, all filled with {@code fill}. */
    public static byte[] ipv6(int payloadLength, int fill) {
        byte[] p = new byte[40 + payloadLength];
        Arrays.fill(p, (byte) fill);
        p[0] = 0x60;
        put16(p, 4, payloadLength);
        return p;
    }

    /** Sets the IPv4 header checksum, as every sender's kernel does. */
    public static byte[] withChecksum(byte[] p) {
        int headerLength = (p[0] & 0xf) * 4;
        put16(p, 10, 0);
        put16(p, 10, ~fold(sum(p, 0, headerLength)) & 0xffff);
        return p;
    }

    // ---- TCP and UDP, field by field -----------------------------------------------------------

    /** The fields of one TCP (or, with {@code udp}, UDP) packet; mutable, defaults are a plain ACK. */
    public static final class Spec {
        public int version = 4;
        public boolean udp;
        public byte[] src = V4_SRC;
        public byte[] dst = V4_DST;
        public int sport = 40000;
        public int dport = 5201;
        public int seq = 1000;
        public int ack = 77;
        public int flags = NetHeaders.ACK;
        public int window = 501;
        public byte[] options = new byte[0];
        public byte[] payload = new byte[0];
        public int id = 0x1234;
        public int ttl = 64;
        public int tos = 0;
        public int flowLabel = 0x12345;
        public boolean df = true;

        public Spec v6() {
            version = 6;
            src = V6_SRC;
            dst = V6_DST;
            return this;
        }

        public Spec copy() {
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

        public int protocol() {
            return udp ? UDP : TCP;
        }

        public int ipHeader() {
            return version == 4 ? 20 : 40;
        }

        public int l4Header() {
            return udp ? 8 : 20 + options.length;
        }

        /** Where the TCP or UDP checksum field is, from the start of the transport header. */
        public int checksumOffset() {
            return udp ? 6 : 16;
        }
    }

    /** A complete packet with valid checksums. */
    public static byte[] build(Spec s) {
        byte[] p = layout(s);
        int ih = s.ipHeader();
        int l4Len = p.length - ih;
        int check = ~fold(pseudo(p, s.version, s.protocol(), l4Len) + sum(p, ih, l4Len)) & 0xffff;
        put16(p, ih + s.checksumOffset(), s.udp && check == 0 ? 0xffff : check);
        return p;
    }

    /** The packet as a sender with checksum offload hands it over: the checksum field holds the pseudo-header sum. */
    public static byte[] partial(Spec s) {
        byte[] p = layout(s);
        int ih = s.ipHeader();
        put16(p, ih + s.checksumOffset(), fold(pseudo(p, s.version, s.protocol(), p.length - ih)));
        return p;
    }

    /**
     * What a TUN read returns for a super-packet: a virtio header asking for segmentation into
     * {@code gso}-byte pieces and the {@link #partial} packet.
     */
    public static byte[] superPacket(Spec s, int gso) {
        byte[] p = partial(s);
        int ih = s.ipHeader();
        byte[] out = new byte[VirtioNetHdr.SIZE + p.length];
        int type = s.udp ? VirtioNetHdr.GSO_UDP_L4 : s.version == 4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6;
        VirtioNetHdr.write(ByteBuffer.wrap(out), 0, VirtioNetHdr.NEEDS_CSUM, type, ih + s.l4Header(), gso, ih,
                s.checksumOffset());
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
            p[9] = (byte) s.protocol();
            System.arraycopy(s.src, 0, p, 12, 4);
            System.arraycopy(s.dst, 0, p, 16, 4);
            put16(p, 10, ~fold(sum(p, 0, 20)) & 0xffff);
        } else {
            p[0] = (byte) (0x60 | (s.tos >>> 4));
            p[1] = (byte) ((s.tos << 4) | (s.flowLabel >>> 16 & 0xf));
            put16(p, 2, s.flowLabel);
            put16(p, 4, p.length - 40);
            p[6] = (byte) s.protocol();
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

    // ---- the reference checksum: one 16-bit word at a time, carries folded at the end ----------

    public static long sum(byte[] p, int off, int len) {
        long s = 0;
        for (int i = 0; i < len; i += 2) {
            int hi = p[off + i] & 0xff;
            int lo = i + 1 < len ? p[off + i + 1] & 0xff : 0;
            s += hi << 8 | lo;
        }
        return s;
    }

    public static int fold(long s) {
        while (s > 0xffff) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    public static long pseudo(byte[] p, int version, int proto, int l4Len) {
        return version == 4 ? sum(p, 12, 8) + proto + l4Len : sum(p, 8, 32) + proto + l4Len;
    }

    public static boolean ipv4HeaderValid(byte[] p) {
        return fold(sum(p, 0, (p[0] & 0xf) * 4)) == 0xffff;
    }

    /** Whether the TCP or UDP checksum of a whole packet (no virtio header) checks out. */
    public static boolean l4ChecksumValid(byte[] p) {
        int version = (p[0] & 0xff) >>> 4;
        int ih = version == 4 ? (p[0] & 0xf) * 4 : 40;
        int proto = version == 4 ? p[9] & 0xff : p[6] & 0xff;
        int l4Len = p.length - ih;
        return fold(pseudo(p, version, proto, l4Len) + sum(p, ih, l4Len)) == 0xffff;
    }

    /** Whether a whole IP packet's IPv4 header (if any) and TCP or UDP checksum check out. */
    public static boolean checksumsValid(byte[] p) {
        return ((p[0] & 0xff) >>> 4 != 4 || ipv4HeaderValid(p)) && l4ChecksumValid(p);
    }

    /** Recomputes the IPv4 header checksum (if any) and the TCP/UDP checksum after an edit. */
    public static void fixChecksums(byte[] p) {
        int version = (p[0] & 0xff) >>> 4;
        int ih = version == 4 ? (p[0] & 0xf) * 4 : 40;
        if (version == 4) {
            withChecksum(p);
        }
        int proto = version == 4 ? p[9] & 0xff : p[6] & 0xff;
        int field = ih + (proto == UDP ? 6 : 16);
        put16(p, field, 0);
        int c = ~fold(pseudo(p, version, proto, p.length - ih) + sum(p, ih, p.length - ih)) & 0xffff;
        put16(p, field, proto == UDP && c == 0 ? 0xffff : c);
    }

    public static int get16(byte[] p, int i) {
        return (p[i] & 0xff) << 8 | (p[i + 1] & 0xff);
    }

    public static int get32(byte[] p, int i) {
        return get16(p, i) << 16 | get16(p, i + 2);
    }

    public static void put16(byte[] p, int i, int v) {
        p[i] = (byte) (v >>> 8);
        p[i + 1] = (byte) v;
    }

    public static void put32(byte[] p, int i, int v) {
        put16(p, i, v >>> 16);
        put16(p, i + 2, v);
    }
}
