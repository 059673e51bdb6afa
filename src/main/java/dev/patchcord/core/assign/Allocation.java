package dev.patchcord.core.assign;

import java.util.Objects;

/**
 * What {@link AddressPool#offer} decided: a {@link Lease}, or a {@link Refusal} that says why not.
 * A sealed pair rather than an exception, because a refusal is an ordinary answer that goes back
 * to the client as a NAK, and a {@code switch} over it cannot forget either case.
 */
public sealed interface Allocation permits Lease, Allocation.Refusal {

    /**
     * No addresses, and nothing in the pool changed.
     *
     * @param reason what the client should do next (retry or give up)
     * @param text one line for a person, e.g. "10.9.0.7 is leased to another peer"; it never names
     *             another peer's key
     */
    record Refusal(NakReason reason, String text) implements Allocation {
        public Refusal {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(text, "text");
        }

        /** The NAK that carries this refusal to the client. */
        public AddressMessage.Nak toNak(int requestId) {
            return AddressMessage.Nak.of(requestId, reason, text);
        }
    }
}
