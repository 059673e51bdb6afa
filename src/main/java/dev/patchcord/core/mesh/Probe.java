package dev.patchcord.core.mesh;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The datagram a node sends from its WireGuard UDP socket to the directory, so that the directory
 * sees the address and port that the node's NAT maps that socket to: the endpoint other nodes
 * must aim at. Sixty bytes:
 *
 * <pre>
 *   0  4  type: F0 'p' 'c' 'd' (a WireGuard message starts 01..04 00 00 00, so never this)
 *   4 32  the node's public key
 *  36  8  the node's clock, milliseconds since the epoch, big-endian
 *  44 16  MAC of bytes 0..44 under the node/directory pair key ({@link DirectoryAuth})
 * </pre>
 *
 * The directory does not answer it: the node learns what the directory saw from its next sync.
 */
public final class Probe {
    private Probe() {}

    public static final int SIZE = 60;
    static final int SIGNED = 44;
    private static final byte[] TYPE = {(byte) 0xF0, 'p', 'c', 'd'};

    /** A well-formed probe; whether its MAC is right is for the receiver to check with its key. */
    public record Decoded(byte[] publicKey, long timeMillis, byte[] signed, byte[] mac) {}

    public static byte[] encode(byte[] publicKey, long timeMillis, byte[] pairKey) {
        if (publicKey.length != 32) {
            throw new IllegalArgumentException("public key must be 32 bytes");
        }
        ByteBuffer b = ByteBuffer.allocate(SIZE);
        b.put(TYPE).put(publicKey).putLong(timeMillis);
        byte[] out = b.array();
        System.arraycopy(DirectoryAuth.mac(pairKey, Arrays.copyOf(out, SIGNED)), 0, out, SIGNED, DirectoryAuth.MAC_SIZE);
        return out;
    }

    /** The probe in {@code data[0..len)}, or null if it is not one (wrong size or type). */
    public static Decoded decode(byte[] data, int len) {
        if (len != SIZE || data.length < SIZE || !Arrays.equals(data, 0, 4, TYPE, 0, 4)) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, SIZE);
        byte[] key = new byte[32];
        b.position(4);
        b.get(key);
        long time = b.getLong();
        return new Decoded(key, time, Arrays.copyOf(data, SIGNED), Arrays.copyOfRange(data, SIGNED, SIZE));
    }
}
