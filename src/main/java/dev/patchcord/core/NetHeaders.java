package dev.patchcord.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Where the IPv4, IPv6, TCP and UDP header fields that segmentation and coalescing touch live, and
 * big-endian access to them. Packets arrive in buffers of either byte order (a direct buffer from
 * FFM is native-order, a fresh {@code ByteBuffer} is big-endian), so every access here states the
 * network order itself instead of trusting {@link ByteBuffer#order()}.
 */
public final class NetHeaders {
    private NetHeaders() {}

    public static final int IPV4_MIN_HEADER = 20;
    public static final int IPV6_HEADER = 40;
    public static final int TCP_MIN_HEADER = 20;
    public static final int TCP_MAX_HEADER = 60;
    public static final int UDP_HEADER = 8;
    /** The most an IP total length (or, here, an IPv6 header plus payload) may be. */
    public static final int MAX_IP_LENGTH = 65535;

    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;

    // IPv4 header fields, from the start of the header.
    public static final int V4_TOS = 1;
    public static final int V4_TOTAL_LENGTH = 2;
    public static final int V4_ID = 4;
    public static final int V4_FRAGMENT = 6;
    public static final int V4_TTL = 8;
    public static final int V4_PROTOCOL = 9;
    public static final int V4_CHECKSUM = 10;
    public static final int V4_ADDRESSES = 12;
    public static final int V4_ADDRESSES_LENGTH = 8;
    /** More-fragments flag and the 13-bit offset: any of them set means a fragment. */
    public static final int V4_MF_AND_OFFSET = 0x3fff;

    // IPv6 header fields.
    public static final int V6_PAYLOAD_LENGTH = 4;
    public static final int V6_NEXT_HEADER = 6;
    public static final int V6_HOP_LIMIT = 7;
    public static final int V6_ADDRESSES = 8;
    public static final int V6_ADDRESSES_LENGTH = 32;

    // TCP header fields, from the start of the TCP header.
    public static final int TCP_SEQ = 4;
    public static final int TCP_ACK = 8;
    public static final int TCP_DATA_OFFSET = 12;
    public static final int TCP_FLAGS = 13;
    public static final int TCP_WINDOW = 14;
    public static final int TCP_CHECKSUM = 16;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;

    // UDP header fields.
    public static final int UDP_LENGTH = 4;
    public static final int UDP_CHECKSUM = 6;

    public static int u8(ByteBuffer b, int i) {
        return b.get(i) & 0xff;
    }

    public static int be16(ByteBuffer b, int i) {
        short s = b.getShort(i);
        return (b.order() == ByteOrder.BIG_ENDIAN ? s : Short.reverseBytes(s)) & 0xffff;
    }

    public static void putBe16(ByteBuffer b, int i, int v) {
        short s = (short) v;
        b.putShort(i, b.order() == ByteOrder.BIG_ENDIAN ? s : Short.reverseBytes(s));
    }

    public static int be32(ByteBuffer b, int i) {
        int v = b.getInt(i);
        return b.order() == ByteOrder.BIG_ENDIAN ? v : Integer.reverseBytes(v);
    }

    public static void putBe32(ByteBuffer b, int i, int v) {
        b.putInt(i, b.order() == ByteOrder.BIG_ENDIAN ? v : Integer.reverseBytes(v));
    }

    public static int version(ByteBuffer b, int ip) {
        return u8(b, ip) >>> 4;
    }

    /** The IPv4 header length in bytes from its IHL nibble (20 to 60; less means malformed). */
    public static int ipv4HeaderLength(ByteBuffer b, int ip) {
        return (u8(b, ip) & 0x0f) * 4;
    }

    /** The TCP header length in bytes from its data offset nibble (20 to 60; less means malformed). */
    public static int tcpHeaderLength(ByteBuffer b, int tcp) {
        return (u8(b, tcp + TCP_DATA_OFFSET) >>> 4) * 4;
    }

    /** Whether {@code [off, off + len)} lies inside the buffer's limit; safe against int overflow. */
    public static boolean inside(ByteBuffer b, int off, int len) {
        return off >= 0 && len >= 0 && len <= b.limit() - off;
    }

    /** Whether two ranges hold the same bytes (a plain loop: the ranges here are a few dozen bytes). */
    public static boolean sameBytes(ByteBuffer a, int ai, ByteBuffer b, int bi, int len) {
        int i = 0;
        for (; i + 4 <= len; i += 4) {
            if (be32(a, ai + i) != be32(b, bi + i)) {
                return false;
            }
        }
        for (; i < len; i++) {
            if (a.get(ai + i) != b.get(bi + i)) {
                return false;
            }
        }
        return true;
    }
}
