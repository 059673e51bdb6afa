package dev.patchcord.core;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * An IP address with a prefix length, as written in {@code Address} and {@code AllowedIPs}:
 * {@code 10.0.0.1/24}, {@code fd00::1/64}, or a bare address meaning /32 or /128.
 *
 * <p>The address is kept as written, host bits included: {@code Address = 10.0.0.1/24} names the
 * interface's own address, while {@link #network()} gives the masked form a route or an allowed-IPs
 * lookup needs.
 *
 * <p>Literals are parsed here, never by {@link InetAddress#getByName}: that call falls back to DNS
 * for anything it does not recognise, and a configuration typo must fail at once, not after a
 * lookup timeout. The accepted forms are the ones {@code inet_pton} accepts (what wg and ip use):
 * four decimal octets without leading zeros, and RFC 4291 IPv6 text with an optional dotted IPv4
 * tail. An IPv4-mapped IPv6 address ({@code ::ffff:1.2.3.4}) stays IPv6, unlike in
 * {@link InetAddress#getByAddress(byte[])}, so its prefix keeps counting 128 bits.
 */
public record Cidr(InetAddress address, int prefix) {

    public Cidr {
        Objects.requireNonNull(address, "address");
        int bits = address instanceof Inet4Address ? 32 : 128;
        if (prefix < 0 || prefix > bits) {
            throw new IllegalArgumentException(outOfRange(Integer.toString(prefix), bits));
        }
    }

    /**
     * Parses {@code ADDRESS[/PREFIX]}. The text must be exact: no surrounding white space, no host
     * names, no IPv6 zone ({@code %eth0}).
     *
     * @throws IllegalArgumentException saying what is wrong, e.g. {@code '10.0.0.300/24' is not an IP address}
     */
    public static Cidr parse(String text) {
        Objects.requireNonNull(text, "text");
        int slash = text.indexOf('/');
        String addressText = slash < 0 ? text : text.substring(0, slash);
        byte[] bytes = parseBytes(addressText);
        if (bytes == null) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address");
        }
        int bits = bytes.length * 8;
        if (slash < 0) {
            return new Cidr(toInet(bytes), bits);
        }
        String prefixText = text.substring(slash + 1);
        if (prefixText.isEmpty() || !prefixText.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("prefix '" + prefixText + "' of '" + text + "' is not a number");
        }
        if (prefixText.length() > 3 || Integer.parseInt(prefixText) > bits) {
            throw new IllegalArgumentException(outOfRange(prefixText, bits));
        }
        return new Cidr(toInet(bytes), Integer.parseInt(prefixText));
    }

    /**
     * Parses a bare IPv4 or IPv6 literal without ever consulting DNS.
     *
     * @throws IllegalArgumentException {@code 'TEXT' is not an IP address}
     */
    public static InetAddress parseAddress(String text) {
        Objects.requireNonNull(text, "text");
        byte[] bytes = parseBytes(text);
        if (bytes == null) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address");
        }
        return toInet(bytes);
    }

    /** True for an IPv4 address ({@link Inet4Address}); IPv4-mapped IPv6 addresses are IPv6. */
    public boolean isIpv4() {
        return address instanceof Inet4Address;
    }

    /** The address length in bits: 32 or 128. */
    public int bits() {
        return isIpv4() ? 32 : 128;
    }

    /** The same prefix with every host bit cleared: {@code 10.0.0.1/24} gives {@code 10.0.0.0/24}. */
    public Cidr network() {
        byte[] bytes = address.getAddress();
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] &= (byte) maskByte(i);
        }
        return new Cidr(toInet(bytes), prefix);
    }

    /**
     * Whether an address of the same family (4 or 16 bytes) lies inside this prefix. An address of
     * the other family is never contained, not even 0.0.0.0/0 in ::/0.
     */
    public boolean contains(byte[] addressBytes) {
        byte[] mine = address.getAddress();
        if (addressBytes.length != mine.length) {
            return false;
        }
        for (int i = 0; i < mine.length; i++) {
            int mask = maskByte(i);
            if (mask == 0) {
                break;
            }
            if (((mine[i] ^ addressBytes[i]) & mask) != 0) {
                return false;
            }
        }
        return true;
    }

    /** As {@link #contains(byte[])}; an {@link Inet4Address} never lies inside an IPv6 prefix. */
    public boolean contains(InetAddress other) {
        if ((other instanceof Inet4Address) != isIpv4()) {
            return false;
        }
        return contains(other.getAddress());
    }

    /** The canonical text: {@code 10.0.0.1/24}, {@code fd00::1/64} (RFC 5952 compressed form). */
    @Override
    public String toString() {
        return format(address) + "/" + prefix;
    }

    /**
     * The canonical text of an address: dotted decimal for IPv4; for IPv6 lower-case hex with the
     * longest run of two or more zero groups shortened to "::" (RFC 5952), and {@code ::ffff:a.b.c.d}
     * for IPv4-mapped addresses, as {@code inet_ntop} prints them. Never a host name.
     */
    public static String format(InetAddress address) {
        byte[] b = address.getAddress();
        if (b.length == 4) {
            return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
        }
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = (b[2 * i] & 0xff) << 8 | (b[2 * i + 1] & 0xff);
        }
        if (groups[0] == 0 && groups[1] == 0 && groups[2] == 0 && groups[3] == 0 && groups[4] == 0
                && groups[5] == 0xffff) {
            return "::ffff:" + (b[12] & 0xff) + "." + (b[13] & 0xff) + "." + (b[14] & 0xff) + "." + (b[15] & 0xff);
        }
        int bestStart = -1, bestLength = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLength - 1;
                continue;
            }
            if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        return sb.toString();
    }

    /** The mask bits that apply to byte {@code i} of the address. */
    private int maskByte(int i) {
        int bitsHere = Math.clamp(prefix - 8L * i, 0, 8);
        return (0xff00 >> bitsHere) & 0xff;
    }

    private static String outOfRange(String prefixText, int bits) {
        return "prefix " + prefixText + " is out of range for " + (bits == 32 ? "IPv4 (0-32)" : "IPv6 (0-128)");
    }

    /** An address object from raw bytes; no lookup happens and 16 bytes always stay IPv6. */
    private static InetAddress toInet(byte[] bytes) {
        try {
            return bytes.length == 4 ? InetAddress.getByAddress(bytes) : Inet6Address.getByAddress(null, bytes, -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("address of " + bytes.length + " bytes", e);
        }
    }

    /** 4 or 16 bytes, or null when the text is not an IPv4 or IPv6 literal. */
    private static byte[] parseBytes(String text) {
        return text.indexOf(':') >= 0 ? parseIpv6(text) : parseIpv4(text);
    }

    private static byte[] parseIpv4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                return null;
            }
            int value = 0;
            for (int k = 0; k < p.length(); k++) {
                char c = p.charAt(k);
                if (c < '0' || c > '9') {
                    return null;
                }
                value = value * 10 + (c - '0');
            }
            if (value > 255) {
                return null;
            }
            out[i] = (byte) value;
        }
        return out;
    }

    private static byte[] parseIpv6(String text) {
        int gap = text.indexOf("::");
        if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) {
            return null;
        }
        int[] head = groups(gap < 0 ? text : text.substring(0, gap), gap < 0);
        int[] tail = gap < 0 ? new int[0] : groups(text.substring(gap + 2), true);
        if (head == null || tail == null) {
            return null;
        }
        int count = head.length + tail.length;
        if (gap < 0 ? count != 8 : count > 7) {
            return null;
        }
        byte[] out = new byte[16];
        for (int i = 0; i < head.length; i++) {
            out[2 * i] = (byte) (head[i] >> 8);
            out[2 * i + 1] = (byte) head[i];
        }
        for (int i = 0; i < tail.length; i++) {
            int g = 8 - tail.length + i;
            out[2 * g] = (byte) (tail[i] >> 8);
            out[2 * g + 1] = (byte) tail[i];
        }
        return out;
    }

    /**
     * The 16-bit groups of one side of "::" (or of a whole address without it), or null. A dotted
     * IPv4 address may only come last and counts as two groups.
     */
    private static int[] groups(String part, boolean mayEndInIpv4) {
        if (part.isEmpty()) {
            return new int[0];
        }
        String[] pieces = part.split(":", -1);
        String last = pieces[pieces.length - 1];
        boolean ipv4Tail = mayEndInIpv4 && last.indexOf('.') >= 0;
        int[] out = new int[pieces.length + (ipv4Tail ? 1 : 0)];
        for (int i = 0; i < pieces.length; i++) {
            String p = pieces[i];
            if (ipv4Tail && i == pieces.length - 1) {
                byte[] v4 = parseIpv4(p);
                if (v4 == null) {
                    return null;
                }
                out[i] = (v4[0] & 0xff) << 8 | (v4[1] & 0xff);
                out[i + 1] = (v4[2] & 0xff) << 8 | (v4[3] & 0xff);
                continue;
            }
            if (p.isEmpty() || p.length() > 4) {
                return null;
            }
            int value = 0;
            for (int k = 0; k < p.length(); k++) {
                int d = hexDigit(p.charAt(k));
                if (d < 0) {
                    return null;
                }
                value = value << 4 | d;
            }
            out[i] = value;
        }
        return out;
    }

    /** ASCII hex digits only ({@link Character#digit} would also take other scripts' digits). */
    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
}
