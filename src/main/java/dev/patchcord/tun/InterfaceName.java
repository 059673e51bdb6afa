package dev.patchcord.tun;

import dev.patchcord.sys.Linux;

import java.nio.charset.StandardCharsets;

/**
 * The kernel's rules for a network interface name ({@code dev_valid_name}): 1 to 15 bytes, not
 * "." or "..", and no '/', ':' or white space. A name may hold one {@code %d}, which the kernel
 * replaces with the first free number.
 */
public final class InterfaceName {
    private InterfaceName() {}

    /** Returns null when {@code name} is valid, otherwise why it is not. */
    public static String problem(String name) {
        if (name == null || name.isEmpty()) {
            return "an interface name cannot be empty";
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes >= Linux.IFNAMSIZ) {
            return "interface name '" + name + "' is " + bytes + " bytes long; Linux allows at most "
                    + (Linux.IFNAMSIZ - 1);
        }
        if (name.equals(".") || name.equals("..")) {
            return "'" + name + "' is not a valid interface name";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == ':' || Character.isWhitespace(c) || c < 0x20) {
                return "interface name '" + name + "' contains '" + printable(c)
                        + "'; names cannot contain '/', ':' or white space";
            }
        }
        int pct = name.indexOf('%');
        if (pct >= 0 && (!name.startsWith("%d", pct) || name.indexOf('%', pct + 1) >= 0)) {
            return "interface name '" + name + "' may contain '%' only once, as '%d'";
        }
        return null;
    }

    /** Throws {@link IllegalArgumentException} with the reason when the name is not valid. */
    public static String require(String name) {
        String problem = problem(name);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        return name;
    }

    private static String printable(char c) {
        return c < 0x20 || Character.isWhitespace(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }
}
