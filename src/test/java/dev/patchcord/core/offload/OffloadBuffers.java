package dev.patchcord.core.offload;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Buffers and payloads for the offload tests; the packets themselves come from
 * {@link dev.patchcord.testing.TestPackets}.
 */
final class OffloadBuffers {
    private OffloadBuffers() {}

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
