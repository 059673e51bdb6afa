package dev.patchcord.control;

/**
 * Where an interface's addresses come from, decided once from the file: written out as wg-quick
 * has them, asked of an address server ({@code Address = auto}), or this interface being that
 * server ({@code [Pool]}). The two patchcord forms exclude each other.
 */
public enum AddressMode {
    /** The {@code Address} lines as written (or none), as wg-quick. */
    STATIC,
    /** {@code Address = auto}: the first [Peer] is asked for addresses, and routes with them. */
    AUTO,
    /** {@code [Pool]}: this interface leases addresses to its peers. */
    POOL
}
