package dev.patchcord.control;

import java.util.Objects;

/**
 * wg-quick's {@code Table} key: where the routes to the peers' allowed IPs go. Parsed once from
 * the file; everything after asks {@link #routes()} and {@link #kernelTable()}, never the word.
 *
 * @param kind which of the three forms was written
 * @param name the table number or name for {@link Kind#NAMED}, else null
 */
public record RouteTable(Kind kind, String name) {

    public enum Kind {
        /** {@code auto}: the main table, as when the key is absent. */
        AUTO,
        /** {@code off}: no routes at all. */
        OFF,
        /** A routing table number or a name from rt_tables. */
        NAMED
    }

    public static final RouteTable AUTO = new RouteTable(Kind.AUTO, null);
    public static final RouteTable OFF = new RouteTable(Kind.OFF, null);

    public RouteTable {
        Objects.requireNonNull(kind, "kind");
        if ((kind == Kind.NAMED) != (name != null)) {
            throw new IllegalArgumentException("a named table needs a name, and only it has one");
        }
    }

    /** A routing table number or name, as written. */
    public static RouteTable named(String name) {
        return new RouteTable(Kind.NAMED, Objects.requireNonNull(name, "name"));
    }

    /**
     * {@code off} and {@code auto} in any case, a table number up to 2^32-1, or a name from rt_tables.
     *
     * @throws IllegalArgumentException for anything else, naming the value
     */
    public static RouteTable parse(String value) {
        if (value.equalsIgnoreCase("off")) {
            return OFF;
        }
        if (value.equalsIgnoreCase("auto")) {
            return AUTO;
        }
        boolean digits = value.chars().allMatch(c -> c >= '0' && c <= '9');
        boolean name = value.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
                || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.');
        if (value.isEmpty() || !name || (digits && (value.length() > 10 || Long.parseLong(value) > 0xffffffffL))) {
            throw new IllegalArgumentException("Table " + ConfigValues.quote(value)
                    + " is not 'off', 'auto' or a routing table number or name");
        }
        return named(value);
    }

    /** Whether routes for the peers' allowed IPs are added at all. */
    public boolean routes() {
        return kind != Kind.OFF;
    }

    /** The table the routes go into, or null for the main one. */
    public String kernelTable() {
        return name;
    }

    /** The value as a configuration file writes it. */
    public String word() {
        return switch (kind) {
            case AUTO -> "auto";
            case OFF -> "off";
            case NAMED -> name;
        };
    }

    @Override
    public String toString() {
        return word();
    }
}
