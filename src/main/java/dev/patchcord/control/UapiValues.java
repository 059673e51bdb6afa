package dev.patchcord.control;

import dev.patchcord.control.SetRequest.AllowedIpChange;
import dev.patchcord.core.Cidr;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Set;

import static dev.patchcord.control.UapiException.EINVAL;

/**
 * The value syntax of each UAPI set key, as wireguard-go accepts it (Go's {@code strconv} and
 * {@code net/netip} parsers), with a one-line {@code EINVAL} message for anything else.
 *
 * <p>Key values are never repeated in messages, only their length: a private key sent with a
 * typo must not end up in a log.
 */
final class UapiValues {
    private UapiValues() {}

    private static final Set<String> DEVICE_KEYS = Set.of("private_key", "listen_port", "fwmark", "replace_peers");
    private static final Set<String> PEER_KEYS = Set.of("remove", "update_only", "preshared_key", "endpoint",
            "persistent_keepalive_interval", "replace_allowed_ips", "allowed_ip", "protocol_version");

    static boolean isDeviceKey(String key) {
        return DEVICE_KEYS.contains(key);
    }

    static boolean isPeerKey(String key) {
        return PEER_KEYS.contains(key);
    }

    /** 32 bytes from exactly 64 hex digits, lower or upper case (Go's {@code hex.DecodeString}). */
    static byte[] key(String name, String value) throws UapiException {
        if (value.length() != 64) {
            throw new UapiException(EINVAL, name + " is not a key: expected 64 hex digits, got "
                    + value.length() + " characters");
        }
        byte[] key = new byte[32];
        for (int i = 0; i < 32; i++) {
            int hi = hexDigit(value.charAt(2 * i));
            int lo = hexDigit(value.charAt(2 * i + 1));
            if (hi < 0 || lo < 0) {
                throw new UapiException(EINVAL, name + " is not a key: it has characters other than 0-9 and a-f");
            }
            key[i] = (byte) (hi << 4 | lo);
        }
        return key;
    }

    /** An unsigned decimal number up to {@code max}: digits only, as Go's {@code ParseUint(s, 10, n)}. */
    static long number(String name, String value, long max) throws UapiException {
        long n = unsigned(value, max);
        if (n < 0) {
            throw new UapiException(EINVAL, name + " '" + shorten(value) + "' is not a number from 0 to " + max);
        }
        return n;
    }

    /** The only value wireguard-go accepts for its flags is "true"; "false" is an error too. */
    static boolean isTrue(String name, String value) throws UapiException {
        if (!value.equals("true")) {
            throw new UapiException(EINVAL, name + " must be 'true', not '" + shorten(value) + "'");
        }
        return true;
    }

    /**
     * {@code IP:PORT} or {@code [IPv6]:PORT}, as Go's {@code netip.ParseAddrPort} reads it: IPv6
     * must be in brackets and IPv4 must not, host names are refused ({@code wg} resolves names
     * before it sends), the port is 0-65535. An IPv6 zone ({@code [fe80::1%eth0]:51820}, which
     * {@code wg} sends for link-local addresses) names an existing interface or is its index.
     */
    static InetSocketAddress endpoint(String value) throws UapiException {
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw badEndpoint(value, "expected IP:PORT or [IPv6]:PORT");
        }
        String host = value.substring(0, colon);
        String portText = value.substring(colon + 1);
        boolean bracketed = host.startsWith("[");
        if (bracketed) {
            if (host.length() < 2 || !host.endsWith("]")) {
                throw badEndpoint(value, "has no ']' to end the IPv6 address");
            }
            host = host.substring(1, host.length() - 1);
        }
        long port = unsigned(portText, 0xffff);
        if (port < 0) {
            throw badEndpoint(value, "has port '" + shorten(portText) + "', not a number from 0 to 65535");
        }
        int pct = host.indexOf('%');
        String zone = pct < 0 ? null : host.substring(pct + 1);
        InetAddress address;
        try {
            address = Cidr.parseAddress(pct < 0 ? host : host.substring(0, pct));
        } catch (IllegalArgumentException e) {
            throw badEndpoint(value, "does not start with an IP address (host names are resolved by wg, not sent)");
        }
        if (bracketed != (address instanceof Inet6Address)) {
            throw badEndpoint(value, bracketed ? "has an IPv4 address in brackets" : "needs brackets around the IPv6 address");
        }
        if (zone != null) {
            if (!(address instanceof Inet6Address)) {
                throw badEndpoint(value, "has a zone, which only IPv6 addresses take");
            }
            address = scoped(value, address.getAddress(), zone);
        }
        return new InetSocketAddress(address, (int) port);
    }

    /**
     * {@code PREFIX/BITS}, or {@code -PREFIX/BITS} to remove it. Like Go's {@code netip.ParsePrefix}
     * the length is required, has no sign or leading zero, and the address takes no zone. The host
     * bits are cleared.
     */
    static AllowedIpChange allowedIp(String value) throws UapiException {
        boolean remove = value.startsWith("-");
        String text = remove ? value.substring(1) : value;
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new UapiException(EINVAL, "allowed_ip '" + shorten(value) + "' has no /prefix-length");
        }
        String bits = text.substring(slash + 1);
        if (bits.length() > 1 && bits.charAt(0) == '0') {
            throw new UapiException(EINVAL, "allowed_ip '" + shorten(value) + "' has a prefix length with a leading zero");
        }
        if (text.indexOf('%') >= 0) {
            throw new UapiException(EINVAL, "allowed_ip '" + shorten(value) + "' has an IPv6 zone, which a prefix cannot have");
        }
        try {
            Cidr cidr = Cidr.parse(text).network();
            return new AllowedIpChange(cidr, remove);
        } catch (IllegalArgumentException e) {
            throw new UapiException(EINVAL, "allowed_ip: " + e.getMessage());
        }
    }

    /**
     * At most 80 characters of a value for a message, so that a huge line cannot flood the log.
     * {@link UapiException} replaces control characters.
     */
    static String shorten(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    private static InetAddress scoped(String value, byte[] address, String zone) throws UapiException {
        try {
            long index = unsigned(zone, Integer.MAX_VALUE);
            if (index >= 0) {
                return Inet6Address.getByAddress(null, address, (int) index);
            }
            NetworkInterface nif = zone.isEmpty() ? null : NetworkInterface.getByName(zone);
            if (nif == null) {
                throw badEndpoint(value, "names zone '" + shorten(zone) + "', which is no network interface here");
            }
            return Inet6Address.getByAddress(null, address, nif);
        } catch (UnknownHostException | SocketException e) {
            throw badEndpoint(value, "has zone '" + shorten(zone) + "', which cannot be used: " + e.getMessage());
        }
    }

    private static UapiException badEndpoint(String value, String why) {
        return new UapiException(EINVAL, "endpoint '" + shorten(value) + "' " + why);
    }

    /** The value of a string of ASCII digits if it is at most {@code max}, else -1. */
    private static long unsigned(String s, long max) {
        if (s.isEmpty() || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        String digits = s.replaceFirst("^0+(?=.)", "");
        if (digits.length() > 12) {
            return -1;
        }
        long n = Long.parseLong(digits);
        return n <= max ? n : -1;
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
}
