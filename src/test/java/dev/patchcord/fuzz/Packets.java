package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.patchcord.core.offload.VirtioNetHdr;

import java.nio.ByteBuffer;

/**
 * Well-formed IPv4/IPv6 TCP and UDP packets and super-packets whose every field comes from the
 * fuzzer, with a checksum computed here the plain way (one 16-bit word at a time), so that the
 * offload code is checked against a reference of its own rather than against itself.
 */
final class Packets {
    private Packets() {}

    static final int TCP = 6;
    static final int UDP = 17;

    /** The fields of one packet. */
    record Shape(int version, int protocol, byte[] src, byte[] dst, int sport, int dport, int seq, int ack, int flags,
                 int window, byte[] options, int id, int ttl, int tos, boolean df) {
        int ipHeader() {
            return version == 4 ? 20 : 40;
        }

        int l4Header() {
            return protocol == UDP ? 8 : 20 + options.length;
        }
    }

    static Shape shape(FuzzedDataProvider d) {
        int version = d.consumeBoolean() ? 4 : 6;
        int protocol = d.consumeBoolean() ? TCP : UDP;
        byte[] src = new byte[version == 4 ? 4 : 16];
        byte[] dst = new byte[src.length];
        src[src.length - 1] = d.consumeByte();
        dst[dst.length - 1] = d.consumeByte();
        src[0] = dst[0] = (byte) (version == 4 ? 10 : 0xfd);
        byte[] options = new byte[4 * d.consumeInt(0, 10)];
        for (int i = 0; i < options.length; i++) {
            options[i] = 1; // NOP: a valid option of any length
        }
        // ACK with sometimes PSH, FIN, SYN, RST, URG, ECE, CWR: all the flags segmentation treats apart.
        int flags = 0x10 | (d.consumeBoolean() ? d.consumeInt(0, 0xff) : 0);
        return new Shape(version, protocol, src, dst, d.consumeInt(0, 0xffff), d.consumeInt(0, 0xffff), d.consumeInt(),
                d.consumeInt(), flags, d.consumeInt(0, 0xffff), options, d.consumeInt(0, 0xffff), d.consumeInt(1, 255),
                d.consumeInt(0, 0xff), d.consumeBoolean());
    }

    /** The packet with {@code payload}, and in the checksum field only the pseudo-header sum if {@code partial}. */
    static byte[] packet(Shape s, byte[] payload, boolean partial) {
        int ih = s.ipHeader();
        int lh = s.l4Header();
        byte[] p = new byte[ih + lh + payload.length];
        if (s.version() == 4) {
            p[0] = 0x45;
            p[1] = (byte) s.tos();
            put16(p, 2, p.length);
            put16(p, 4, s.id());
            p[6] = (byte) (s.df() ? 0x40 : 0);
            p[8] = (byte) s.ttl();
            p[9] = (byte) s.protocol();
            System.arraycopy(s.src(), 0, p, 12, 4);
            System.arraycopy(s.dst(), 0, p, 16, 4);
            put16(p, 10, ~fold(sum(p, 0, 20)) & 0xffff);
        } else {
            p[0] = (byte) (0x60 | s.tos() >>> 4);
            p[1] = (byte) (s.tos() << 4);
            put16(p, 4, p.length - 40);
            p[6] = (byte) s.protocol();
            p[7] = (byte) s.ttl();
            System.arraycopy(s.src(), 0, p, 8, 16);
            System.arraycopy(s.dst(), 0, p, 24, 16);
        }
        put16(p, ih, s.sport());
        put16(p, ih + 2, s.dport());
        if (s.protocol() == UDP) {
            put16(p, ih + 4, lh + payload.length);
        } else {
            put32(p, ih + 4, s.seq());
            put32(p, ih + 8, s.ack());
            p[ih + 12] = (byte) (lh / 4 << 4);
            p[ih + 13] = (byte) s.flags();
            put16(p, ih + 14, s.window());
            System.arraycopy(s.options(), 0, p, ih + 20, s.options().length);
        }
        System.arraycopy(payload, 0, p, ih + lh, payload.length);
        int field = ih + checksumOffset(s.protocol());
        int pseudo = fold(pseudo(p, s.version(), s.protocol(), p.length - ih));
        if (partial) {
            put16(p, field, pseudo);
        } else {
            int c = ~fold(pseudo + sum(p, ih, p.length - ih)) & 0xffff;
            put16(p, field, s.protocol() == UDP && c == 0 ? 0xffff : c);
        }
        return p;
    }

    static int checksumOffset(int protocol) {
        return protocol == UDP ? 6 : 16;
    }

    /** What a TUN read gives for a packet to be cut into {@code gso}-byte pieces. */
    static byte[] superPacket(Shape s, byte[] payload, int gso) {
        byte[] p = packet(s, payload, true);
        byte[] out = new byte[VirtioNetHdr.SIZE + p.length];
        int type = s.protocol() == UDP ? VirtioNetHdr.GSO_UDP_L4
                : s.version() == 4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6;
        VirtioNetHdr.write(ByteBuffer.wrap(out), 0, VirtioNetHdr.NEEDS_CSUM, type, s.ipHeader() + s.l4Header(), gso,
                s.ipHeader(), checksumOffset(s.protocol()));
        System.arraycopy(p, 0, out, VirtioNetHdr.SIZE, p.length);
        return out;
    }

    /** Whether a whole IP packet's IPv4 header (if any) and TCP or UDP checksum check out. */
    static boolean checksumsValid(byte[] p) {
        int version = (p[0] & 0xff) >>> 4;
        int ih = version == 4 ? (p[0] & 0xf) * 4 : 40;
        if (version == 4 && fold(sum(p, 0, ih)) != 0xffff) {
            return false;
        }
        int protocol = version == 4 ? p[9] & 0xff : p[6] & 0xff;
        return fold(pseudo(p, version, protocol, p.length - ih) + sum(p, ih, p.length - ih)) == 0xffff;
    }

    static long sum(byte[] p, int off, int len) {
        long s = 0;
        for (int i = 0; i < len; i += 2) {
            int lo = i + 1 < len ? p[off + i + 1] & 0xff : 0;
            s += (p[off + i] & 0xff) << 8 | lo;
        }
        return s;
    }

    static int fold(long s) {
        while (s > 0xffff) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    static long pseudo(byte[] p, int version, int protocol, int l4Length) {
        return (version == 4 ? sum(p, 12, 8) : sum(p, 8, 32)) + protocol + l4Length;
    }

    static int get16(byte[] p, int i) {
        return (p[i] & 0xff) << 8 | (p[i + 1] & 0xff);
    }

    static void put16(byte[] p, int i, int v) {
        p[i] = (byte) (v >>> 8);
        p[i + 1] = (byte) v;
    }

    static void put32(byte[] p, int i, int v) {
        put16(p, i, v >>> 16);
        put16(p, i + 2, v);
    }
}
