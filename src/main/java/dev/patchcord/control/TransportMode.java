package dev.patchcord.control;

import java.util.Locale;

/**
 * patchcord's {@code Transport} key: how WireGuard messages travel to and from the peers. Parsed
 * once from the file; everything after uses the constant, never the word.
 */
public enum TransportMode {
    /** UDP only, as every WireGuard implementation (the default). */
    UDP("udp"),
    /** TCP only: nothing is sent to peers over UDP. */
    TCP("tcp"),
    /** A server listens on both; a client tries UDP first and falls back to TCP. */
    UDP_AND_TCP("udp,tcp");

    private final String word;

    TransportMode(String word) {
        this.word = word;
    }

    /** The value as a configuration file writes it. */
    public String word() {
        return word;
    }

    /** Whether TCP is used at all. */
    public boolean tcp() {
        return this != UDP;
    }

    /**
     * {@code udp}, {@code tcp}, or {@code udp,tcp} in either order, any case, spaces allowed.
     *
     * @throws IllegalArgumentException for anything else, naming the value
     */
    public static TransportMode parse(String value) {
        return switch (value.toLowerCase(Locale.ROOT).replace(" ", "")) {
            case "udp" -> UDP;
            case "tcp" -> TCP;
            case "udp,tcp", "tcp,udp" -> UDP_AND_TCP;
            default -> throw new IllegalArgumentException("Transport " + ConfigValues.quote(value)
                    + " is not udp, tcp or udp,tcp");
        };
    }
}
