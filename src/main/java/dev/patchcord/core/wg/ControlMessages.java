package dev.patchcord.core.wg;

import java.nio.ByteBuffer;

/**
 * Messages of patchcord's own that ride in a session beside IP packets (address assignment,
 * docs/protocol.md), recognised by a {@link Node} in TUN mode before the IP checks and handed to
 * the shell as {@link Outcome.Kind#CONTROL}. The protocol core knows only these two questions;
 * what the messages mean is decided where they are defined (and decoded by the shell).
 *
 * <p>Both run on the receiving thread and must never throw. {@link #isControl} is asked about
 * every received plaintext in TUN mode, so it must be cheap and allocate nothing;
 * {@link #isWellFormed} only about those that look like control messages, which are rare.
 */
public interface ControlMessages {
    /** Whether the {@code len} bytes at {@code off} start like a control message, not an IP packet. */
    boolean isControl(ByteBuffer buf, int off, int len);

    /** Whether they hold exactly one well-formed control message (else a counted {@code bad-control} drop). */
    boolean isWellFormed(ByteBuffer buf, int off, int len);
}
