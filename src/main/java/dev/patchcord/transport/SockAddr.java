package dev.patchcord.transport;

import dev.patchcord.sys.Linux;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * {@code struct sockaddr_in6} encoding. patchcord's UDP socket is dual-stack, so IPv4 peers are
 * written as IPv4-mapped IPv6 addresses ({@code ::ffff:a.b.c.d}) and every address has one size.
 */
public final class SockAddr {
    private SockAddr() {}

    /** {@code sizeof(struct sockaddr_in6)}. */
    public static final int SIZE = 28;
    private static final ValueLayout.OfShort PORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);

    public static void encode(InetSocketAddress address, MemorySegment out) {
        out.fill((byte) 0);
        out.set(JAVA_SHORT, 0, (short) Linux.AF_INET6);
        out.set(PORT, 2, (short) address.getPort());
        InetAddress ip = address.getAddress();
        byte[] raw = ip.getAddress();
        if (ip instanceof Inet4Address) {
            out.set(JAVA_BYTE, 18, (byte) 0xff);
            out.set(JAVA_BYTE, 19, (byte) 0xff);
            MemorySegment.copy(raw, 0, out, JAVA_BYTE, 20, 4);
        } else {
            MemorySegment.copy(raw, 0, out, JAVA_BYTE, 8, 16);
            if (ip instanceof Inet6Address v6) {
                out.set(JAVA_INT, 24, v6.getScopeId());
            }
        }
    }

    /** Decodes a {@code sockaddr_in6}; IPv4-mapped addresses come back as IPv4. Allocates. */
    public static InetSocketAddress decode(MemorySegment in) {
        int port = Short.toUnsignedInt(in.get(PORT, 2));
        byte[] raw = new byte[16];
        MemorySegment.copy(in, JAVA_BYTE, 8, raw, 0, 16);
        try {
            InetAddress ip;
            if (isV4Mapped(raw)) {
                ip = InetAddress.getByAddress(java.util.Arrays.copyOfRange(raw, 12, 16));
            } else {
                int scope = in.get(JAVA_INT, 24);
                ip = scope != 0 ? Inet6Address.getByAddress(null, raw, scope) : InetAddress.getByAddress(raw);
            }
            return new InetSocketAddress(ip, port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("16-byte address rejected", e);
        }
    }

    private static boolean isV4Mapped(byte[] raw) {
        for (int i = 0; i < 10; i++) {
            if (raw[i] != 0) {
                return false;
            }
        }
        return raw[10] == (byte) 0xff && raw[11] == (byte) 0xff;
    }

    /** "a.b.c.d:port" or "[v6]:port", the form patchcord prints. */
    public static String format(InetSocketAddress a) {
        InetAddress ip = a.getAddress();
        String host = ip.getHostAddress();
        return (ip instanceof Inet6Address ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
