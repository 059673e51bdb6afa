package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * A peer's {@code Endpoint}: a host and a UDP port, still unresolved. wg resolves host names while
 * it reads the file; patchcord keeps the name so that it can resolve it when the tunnel starts
 * (and again later, for a peer whose address changes).
 *
 * <p>The forms are wg's: {@code host:port}, {@code 1.2.3.4:51820} and {@code [fd00::1]:51820}
 * (an IPv6 zone such as {@code [fe80::1%eth0]:51820} is allowed). Without brackets the port follows
 * the last colon, so wg also reads {@code fd00::1:51820} as {@code [fd00::1]:51820}; patchcord
 * accepts that too, and prints the bracketed form. The port must be a number (wg would also look
 * up a service name).
 *
 * @param host a host name, an IPv4 literal or an IPv6 literal without brackets
 * @param port 1-65535
 */
public record Endpoint(String host, int port) {

    public Endpoint {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("endpoint host cannot be empty");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("endpoint port " + port + " is out of range (1-65535)");
        }
    }

    /**
     * Parses {@code HOST:PORT} or {@code [IPV6]:PORT} with no white space.
     *
     * @throws IllegalArgumentException a message that starts with the quoted text, e.g.
     *         {@code 'vpn.example.com' has no port (expected HOST:PORT or [IPv6]:PORT)}
     */
    public static Endpoint parse(String text) {
        Objects.requireNonNull(text, "text");
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("'" + text + "' has no ']' to end the IPv6 address");
            }
            host = text.substring(1, close);
            if (!text.startsWith(":", close + 1) || close + 2 == text.length()) {
                throw noPort(text);
            }
            port = text.substring(close + 2);
            if (!isIpv6Literal(host)) {
                throw new IllegalArgumentException("'" + text + "' has '" + host + "' in brackets, which is not an IPv6 address");
            }
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0 || colon == text.length() - 1) {
                throw noPort(text);
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
            boolean valid = host.indexOf(':') >= 0 ? isIpv6Literal(host) : isHostName(host);
            if (!valid) {
                throw new IllegalArgumentException("'" + text + "' does not start with a host name or IP address");
            }
        }
        return new Endpoint(host, parsePort(text, port));
    }

    /** The address when {@link #host} is an IP literal (zone dropped); empty for a host name. */
    public Optional<InetAddress> literal() {
        String bare = host.indexOf('%') >= 0 ? host.substring(0, host.indexOf('%')) : host;
        try {
            return Optional.of(Cidr.parseAddress(bare));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** {@code host:port}, with brackets around an IPv6 host: {@code [fd00::1]:51820}. */
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    private static IllegalArgumentException noPort(String text) {
        return new IllegalArgumentException("'" + text + "' has no port (expected HOST:PORT or [IPv6]:PORT)");
    }

    private static int parsePort(String text, String port) {
        boolean digits = !port.isEmpty() && port.length() <= 5 && port.chars().allMatch(c -> c >= '0' && c <= '9');
        int value = digits ? Integer.parseInt(port) : -1;
        if (value < 1 || value > 65535) {
            throw new IllegalArgumentException("'" + text + "' has port '" + port + "', which is not a number from 1 to 65535");
        }
        return value;
    }

    /** An IPv6 literal, optionally with a zone made of interface-name characters. */
    private static boolean isIpv6Literal(String s) {
        int pct = s.indexOf('%');
        String address = pct < 0 ? s : s.substring(0, pct);
        if (pct >= 0 && !isZone(s.substring(pct + 1))) {
            return false;
        }
        return address.indexOf(':') >= 0 && isLiteral(address);
    }

    private static boolean isZone(String zone) {
        return !zone.isEmpty() && zone.length() < 16 && zone.chars().allMatch(Endpoint::isNameChar);
    }

    /**
     * A DNS name or an IPv4 literal: letters, digits, '-', '_' and '.', not starting with a dot and
     * without empty labels. Digits and dots alone must make a valid IPv4 address, so that a typo
     * such as {@code 10.0.0.300} is caught here instead of being sent to DNS. Anything stricter is
     * left to the resolver.
     */
    private static boolean isHostName(String s) {
        if (s.isEmpty() || s.length() > 254 || s.startsWith(".") || s.contains("..")
                || !s.chars().allMatch(Endpoint::isNameChar)) {
            return false;
        }
        return !s.chars().allMatch(c -> c == '.' || c >= '0' && c <= '9') || isLiteral(s);
    }

    private static boolean isLiteral(String s) {
        try {
            Cidr.parseAddress(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean isNameChar(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.';
    }
}
