package dev.patchcord.core.simplevpn;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** IP packets for tests: right lengths, a correct IPv4 header checksum, recognisable contents. */
public final class TestPackets {
    private TestPackets() {}

    /** An IPv4 packet of {@code totalLength} bytes filled with {@code fill}. */
    public static byte[] ipv4(int totalLength, int fill) {
        byte[] p = new byte[totalLength];
        Arrays.fill(p, (byte) fill);
        p[0] = 0x45;
        p[2] = (byte) (totalLength >> 8);
        p[3] = (byte) totalLength;
        return withChecksum(p);
    }

    /** An IPv4 packet from {@code src} to {@code dst} (addresses as ints in network order). */
    public static byte[] ipv4(int src, int dst, int length) {
        byte[] p = new byte[length];
        for (int i = 20; i < length; i++) {
            p[i] = (byte) i;
        }
        ByteBuffer.wrap(p).put(0, (byte) 0x45).putShort(2, (short) length).put(8, (byte) 64).put(9, (byte) 1)
                .putInt(12, src).putInt(16, dst);
        return withChecksum(p);
    }

    public static byte[] ipv6(int payloadLength, int fill) {
        byte[] p = new byte[40 + payloadLength];
        Arrays.fill(p, (byte) fill);
        p[0] = 0x60;
        p[4] = (byte) (payloadLength >> 8);
        p[5] = (byte) payloadLength;
        return p;
    }

    /** Sets the IPv4 header checksum, as every sender's kernel does. */
    public static byte[] withChecksum(byte[] p) {
        int headerLength = (p[0] & 0xf) * 4;
        p[10] = 0;
        p[11] = 0;
        int sum = 0;
        for (int i = 0; i < headerLength; i += 2) {
            sum += (p[i] & 0xff) << 8 | (p[i + 1] & 0xff);
        }
        while (sum > 0xffff) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        int check = ~sum & 0xffff;
        p[10] = (byte) (check >> 8);
        p[11] = (byte) check;
        return p;
    }
}
