package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The value syntax of each wg-quick key, checked as wg and wg-quick check it. Every method throws
 * {@link IllegalArgumentException} with a message that names the key and says what is expected;
 * the parser adds the file and line.
 *
 * <p>Key values are never repeated in messages: a private key pasted into the wrong place must not
 * end up on a terminal or in a log.
 */
final class ConfigValues {
    private ConfigValues() {}

    /** The key length of Curve25519 and of the preshared key. */
    static final int KEY_BYTES = 32;
    /** 32 bytes in standard base64: 43 characters and one '=' of padding, as {@code wg genkey} prints. */
    static final int KEY_BASE64_CHARS = 44;
    /** The smallest MTU Linux allows on a TUN device (IPv4's minimum); IPv6 needs 1280. */
    static final int MIN_MTU = 68;
    static final int MAX_MTU = 65535;
    private static final Pattern LOOKS_LIKE_KEY = Pattern.compile("[A-Za-z0-9+/]{32,}={0,2}");

    /** Decodes {@code wg genkey} output; wg also refuses non-zero bits in the last character. */
    static byte[] key(String name, String value) {
        if (value.length() != KEY_BASE64_CHARS || value.charAt(KEY_BASE64_CHARS - 1) != '='
                || value.charAt(KEY_BASE64_CHARS - 2) == '=') {
            throw new IllegalArgumentException(name + " is not a valid key: expected " + KEY_BASE64_CHARS
                    + " base64 characters for " + KEY_BYTES + " bytes");
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            key = null;
        }
        if (key == null || key.length != KEY_BYTES || !Base64.getEncoder().encodeToString(key).equals(value)) {
            throw new IllegalArgumentException(name + " is not a valid key: it is not base64"
                    + " (A-Z, a-z, 0-9, '+' and '/', then one '=')");
        }
        return key;
    }

    /** For the records: a key must be present and 32 bytes. */
    static byte[] checkKey(byte[] key, String what) {
        if (key == null || key.length != KEY_BYTES) {
            throw new IllegalArgumentException(what + " must be " + KEY_BYTES + " bytes");
        }
        return key;
    }

    /** 1-65535, or 0 for a random port (wg's meaning of 0), given back as null. */
    static Integer listenPort(String value) {
        long port = decimal(value, 5);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("ListenPort " + quote(value) + " is not a UDP port number (0-65535)");
        }
        return port == 0 ? null : (int) port;
    }

    /** "off", decimal or 0x hexadecimal up to 0xffffffff; null for off and 0. */
    static Integer fwMark(String value) {
        if (value.equalsIgnoreCase("off")) {
            return null;
        }
        long mark = value.startsWith("0x") && value.length() > 2 ? hex(value.substring(2)) : decimal(value, 10);
        if (mark < 0 || mark > 0xffffffffL) {
            throw new IllegalArgumentException("FwMark " + quote(value) + " is not a number (0-0xffffffff) or 'off'");
        }
        return mark == 0 ? null : (int) mark;
    }

    /** Seconds between keepalives; "off" and 0 both give 0. */
    static int persistentKeepalive(String value) {
        if (value.equalsIgnoreCase("off")) {
            return 0;
        }
        long seconds = decimal(value, 5);
        if (seconds < 0 || seconds > 65535) {
            throw new IllegalArgumentException("PersistentKeepalive " + quote(value)
                    + " is not a number of seconds (1-65535) or 'off'");
        }
        return (int) seconds;
    }

    static int mtu(String value) {
        long mtu = decimal(value, 5);
        if (mtu < MIN_MTU || mtu > MAX_MTU) {
            throw new IllegalArgumentException("MTU " + quote(value) + " is not a number of bytes ("
                    + MIN_MTU + "-" + MAX_MTU + ")");
        }
        return (int) mtu;
    }

    /** wg-quick's read_bool: "true" or "false", in any case. */
    static boolean bool(String name, String value) {
        if (value.equalsIgnoreCase("true")) {
            return true;
        }
        if (value.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException(name + " " + quote(value) + " is neither true nor false");
    }

    /** A list of prefixes separated by commas and/or white space; empty entries are skipped. */
    static List<Cidr> cidrs(String name, String value) {
        List<Cidr> out = new ArrayList<>();
        for (String entry : entries(value)) {
            try {
                out.add(Cidr.parse(entry));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(about(name, entry, e));
            }
        }
        return out;
    }

    /**
     * DNS servers and search domains as wg-quick tells them apart: only digits and dots, or any
     * colon, is a server and must then be an IP address (an IPv6 zone is allowed); anything else is
     * a search domain.
     */
    static List<String> dns(String value) {
        List<String> out = new ArrayList<>();
        for (String entry : entries(value)) {
            if (isDnsServer(entry)) {
                int zone = entry.indexOf('%');
                try {
                    Cidr.parseAddress(zone < 0 ? entry : entry.substring(0, zone));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("DNS " + quote(entry) + " is not an IP address");
                }
            }
            out.add(entry);
        }
        return out;
    }

    static boolean isDnsServer(String entry) {
        return entry.indexOf(':') >= 0 || entry.chars().allMatch(c -> c == '.' || c >= '0' && c <= '9');
    }

    static Endpoint endpoint(String value) {
        try {
            return Endpoint.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(about("Endpoint", value, e));
        }
    }

    /**
     * A peer's {@code Endpoint}: one endpoint, or patchcord's list of them separated by commas
     * ({@code a:51820,b:51820}, white space already removed). Each entry is read as a lone endpoint,
     * and a bad one is named in the message; an empty entry or one given twice is refused, since
     * either is a slip that would otherwise change how long a dead hub is tried.
     */
    static List<Endpoint> endpoints(String value) {
        if (value.indexOf(',') < 0) {
            return List.of(endpoint(value));
        }
        List<Endpoint> out = new ArrayList<>();
        for (String entry : value.split(",", -1)) {
            if (entry.isEmpty()) {
                throw new IllegalArgumentException("Endpoint " + quote(value) + " has an empty entry (expected HOST:PORT, HOST:PORT, ...)");
            }
            Endpoint e = endpoint(entry);
            if (out.contains(e)) {
                throw new IllegalArgumentException("Endpoint " + quote(entry) + " is listed twice");
            }
            out.add(e);
        }
        return List.copyOf(out);
    }

    /**
     * patchcord's {@code Metrics = [HOST:]PORT}: a bare port listens on localhost (the metrics name
     * every peer's key and traffic); a host must be an IP address, since it is bound, not looked up.
     *
     * @return {@code HOST:PORT}, IPv6 in brackets
     */
    static String metrics(String value) {
        if (value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return "127.0.0.1:" + listenPort(value);
        }
        Endpoint e = endpoint(value);
        try {
            Cidr.parseAddress(e.host());
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException("Metrics " + quote(value) + ": the host must be an IP address to listen on");
        }
        return e.toString();
    }

    /** Prefixes a message about one entry: {@code Address '10.0.0.300' is not an IP address}. */
    private static String about(String name, String entry, IllegalArgumentException e) {
        String message = e.getMessage();
        return message.startsWith("'" + entry + "'") ? name + " " + message
                : name + " " + quote(entry) + ": " + message;
    }

    /** The entries of a list value: split at commas and white space, as wg-quick's word splitting. */
    static List<String> entries(String value) {
        List<String> out = new ArrayList<>();
        for (String entry : value.split("[,\\s]+")) {
            if (!entry.isEmpty()) {
                out.add(entry);
            }
        }
        return out;
    }

    /** wg reads its keys' values with all white space removed ({@code Endpoint = host : 51820} works). */
    static String withoutSpaces(String value) {
        return value.replaceAll("\\s+", "");
    }

    /** A value for a message: in quotes and shortened, so a runaway line stays one readable line. */
    static String quote(String value) {
        String shown = hideKeys(value);
        return "'" + (shown.length() > 60 ? shown.substring(0, 57) + "..." : shown) + "'";
    }

    /**
     * Replaces anything that looks like key material (32 or more base64 characters in a row) with
     * {@code (key hidden)}: a private key pasted after the wrong key name must not be printed.
     */
    static String hideKeys(String text) {
        return LOOKS_LIKE_KEY.matcher(text).replaceAll("(key hidden)");
    }

    /** ASCII decimal digits as a number, -1 if it is not one or is longer than {@code maxDigits}. */
    private static long decimal(String s, int maxDigits) {
        if (s.isEmpty() || s.length() > maxDigits || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        return Long.parseLong(s);
    }

    private static long hex(String s) {
        if (s.length() > 8 || !s.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
            return -1;
        }
        return Long.parseLong(s, 16);
    }
}
