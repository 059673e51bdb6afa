package dev.patchcord.core.wg;

import java.nio.ByteBuffer;

/** Little-endian fields of WireGuard messages (every integer on the wire is little-endian). */
final class Wire {
    private Wire() {}

    static int u32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    static void u32(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    static int u32(ByteBuffer b, int off) {
        return (b.get(off) & 0xff) | (b.get(off + 1) & 0xff) << 8 | (b.get(off + 2) & 0xff) << 16
                | (b.get(off + 3) & 0xff) << 24;
    }

    static void u32(ByteBuffer b, int off, int v) {
        b.put(off, (byte) v).put(off + 1, (byte) (v >>> 8)).put(off + 2, (byte) (v >>> 16)).put(off + 3, (byte) (v >>> 24));
    }

    static long u64(ByteBuffer b, int off) {
        return (u32(b, off) & 0xffffffffL) | (long) u32(b, off + 4) << 32;
    }

    static void u64(ByteBuffer b, int off, long v) {
        u32(b, off, (int) v);
        u32(b, off + 4, (int) (v >>> 32));
    }

    static byte[] slice(byte[] b, int off, int len) {
        return java.util.Arrays.copyOfRange(b, off, off + len);
    }
}
