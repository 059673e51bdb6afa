package dev.patchcord.control;

import dev.patchcord.control.handover.HandoverSnapshot;

import java.io.IOException;

/**
 * What a running tunnel does in a restart ({@code patchcord restart}), whatever its mode: it
 * stops its traffic at a safe point and gathers its descriptors and state ({@link #pause}),
 * carries on if the successor fails ({@link #resume}), and wipes its secrets once the successor
 * has taken over ({@link #wipe}).
 *
 * <p>Concurrency: one hand-over at a time, driven by one thread; {@link #resume} and
 * {@link #wipe} only after {@link #pause} returned.
 */
public interface Handover {

    /** What goes to the successor: the snapshot and, in the order of its roles, the descriptors. */
    record Outgoing(HandoverSnapshot snapshot, int[] fds) {}

    /** Why this tunnel cannot be handed over, or null if it can. */
    String refusal();

    /** Stops the traffic and collects the state; on failure, resumes before the exception leaves. */
    Outgoing pause() throws IOException;

    /**
     * The successor failed: the traffic goes on here.
     *
     * @param stateSent whether the snapshot had (perhaps partly) gone: the successor may then have
     *                  sealed under the sessions, so they are ended and made anew rather than
     *                  reused, and it may have read from the TCP connections
     */
    void resume(boolean stateSent);

    /** The successor carries the tunnel now: zero every secret this process holds. */
    void wipe();
}
