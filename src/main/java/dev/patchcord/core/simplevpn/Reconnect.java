package dev.patchcord.core.simplevpn;

/**
 * When a simplevpn client tries again after losing (or failing to open) its connection, and when it
 * gives up on a refused static address. Times in nanoseconds from the caller's monotonic clock.
 *
 * <p>The original retries every second forever, to port 2002 whatever {@code -p} said. patchcord
 * waits 1 s, then doubles up to 30 s, so a server that is down for a while is not hammered, and
 * starts again at 1 s once an address has been assigned.
 *
 * <p>A static request is refused by closing the connection, and the server cannot say why. On the
 * first connection that means the address is taken or outside the pool, and the client exits.
 * After a reconnection it may only mean that the server has not yet noticed our previous
 * connection is gone: it frees that address once it has heard nothing on it for 60 s
 * ({@link KeepaliveTimer#EXPIRY}). So refusals after a reconnection are retried for
 * {@link #STATIC_GRACE} before the client gives up.
 */
public final class Reconnect {
    public static final long FIRST_DELAY = KeepaliveTimer.SECOND;
    public static final long MAX_DELAY = 30 * KeepaliveTimer.SECOND;
    /** The server's idle expiry plus enough for its once-a-second check and our own back-off. */
    public static final long STATIC_GRACE = KeepaliveTimer.EXPIRY + 15 * KeepaliveTimer.SECOND;
    private static final long NEVER = Long.MIN_VALUE;

    private long delay = FIRST_DELAY;
    private boolean everAssigned;
    private long refusedSince = NEVER;

    /** The wait before the next attempt: 1 s, 2 s, 4 s, … 30 s, 30 s, … */
    public long nextDelay() {
        long d = delay;
        delay = Math.min(delay * 2, MAX_DELAY);
        return d;
    }

    /** An address was assigned: the next loss starts again at the shortest delay. */
    public void assigned() {
        delay = FIRST_DELAY;
        everAssigned = true;
        refusedSince = NEVER;
    }

    /**
     * The server closed the connection in answer to our static request.
     *
     * @return true to give up (exit), false to try again after {@link #nextDelay()}
     */
    public boolean giveUpAfterRefusal(long now) {
        if (!everAssigned) {
            return true;
        }
        if (refusedSince == NEVER) {
            refusedSince = now;
        }
        return now - refusedSince >= STATIC_GRACE;
    }
}
