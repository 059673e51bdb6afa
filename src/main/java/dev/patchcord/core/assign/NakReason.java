package dev.patchcord.core.assign;

/**
 * Why the server refused to assign an address: the reason code of a NAK. The code tells a program
 * what to do next; the text beside it in the NAK tells a person what went wrong.
 *
 * <p>Codes are part of the wire format (docs/protocol.md) and never change meaning. A client that
 * receives a code it does not know treats it as {@link #OTHER}, so a newer server can add reasons.
 */
public enum NakReason {
    /** The requested address is leased to another peer. Worth retrying: that lease may end. */
    ADDRESS_IN_USE(1, "address-in-use", true),
    /**
     * The requested address is not one the pool hands out: outside its range, the network or
     * broadcast address, or reserved (the server's own, a statically configured peer's).
     */
    OUT_OF_POOL(2, "out-of-pool", false),
    /** Every address of a family the client wants is leased. Worth retrying: leases end. */
    POOL_EXHAUSTED(3, "pool-exhausted", true),
    /** The server assigns none of the address families the client wants. */
    FAMILY_UNAVAILABLE(4, "family-unavailable", false),
    /** This peer may not lease addresses (no pool, or its configuration gives it fixed ones). */
    NOT_PERMITTED(5, "not-permitted", false),
    /** Anything else, including any code this implementation does not know. */
    OTHER(255, "other", true);

    private final int code;
    private final String label;
    private final boolean retryable;

    NakReason(int code, String label, boolean retryable) {
        this.code = code;
        this.label = label;
        this.retryable = retryable;
    }

    /** The byte on the wire, 1-255. */
    public int code() {
        return code;
    }

    /** The short name used in logs and status output. */
    public String label() {
        return label;
    }

    /**
     * Whether the same request can succeed later without a configuration change, so that a client
     * keeps asking (every 30 s) instead of giving up.
     */
    public boolean retryable() {
        return retryable;
    }

    /** The reason a code stands for; codes this version does not define are {@link #OTHER}. */
    public static NakReason of(int code) {
        for (NakReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return OTHER;
    }
}
