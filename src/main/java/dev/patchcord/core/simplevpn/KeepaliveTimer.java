package dev.patchcord.core.simplevpn;

/**
 * The liveness timers of one simplevpn connection, kept as time stamps (nanoseconds from any
 * monotonic clock the caller chooses) and compared with "now" when asked, so every edge can be
 * tested with a fake clock.
 *
 * <p>What the original does, and what patchcord keeps:
 * <ul>
 *   <li>The server drops a client it has received nothing from for {@link #EXPIRY} (60 s), and
 *       frees its address. Only input counts: what the server sends proves nothing about the
 *       client.</li>
 *   <li>A client that has had no traffic either way for {@link #IDLE} (15 s) sends a keepalive,
 *       and re-sends one every {@link #RETRY} (1 s) until something arrives.</li>
 * </ul>
 * What patchcord fixes: in the original, received traffic also resets the client's 15 s timer, so
 * a client that only receives (a peer streaming to it) never sends anything and the server drops it
 * after 60 s. Here a client sends a keepalive whenever it has <em>sent</em> nothing for 15 s,
 * whatever it received, so the server hears from it at least four times a minute. And a client that
 * has received nothing at all for {@link #EXPIRY} although it sent keepalives (which the server
 * echoes) knows the connection is dead and reconnects, instead of waiting for TCP to notice.
 *
 * <p>The fields are volatile: the loops that send and receive record events from their own
 * threads, and a ticking thread asks what is due.
 */
public final class KeepaliveTimer {
    public static final long SECOND = 1_000_000_000L;
    /** Client: silence (in what it sends) before a keepalive. The original's SOCK_TIMEOUT/4. */
    public static final long IDLE = 15 * SECOND;
    /** Client: interval of keepalives while none has been answered. */
    public static final long RETRY = SECOND;
    /** Server: a client silent this long is dropped. Client: a server silent this long is dead. */
    public static final long EXPIRY = 60 * SECOND;
    /** Client: how long to wait for the answer to an address request (a read time-out, not polled). */
    public static final long REPLY_TIMEOUT = 10 * SECOND;

    private volatile long lastSent;
    private volatile long lastReceived;
    private volatile long lastKeepalive;
    private volatile boolean awaitingEcho;

    /** A timer for a connection that opened at {@code now}; opening counts as both sending and receiving. */
    public KeepaliveTimer(long now) {
        lastSent = now;
        lastReceived = now;
        lastKeepalive = now;
    }

    /** Anything written to the connection: a packet, a request, a keepalive. */
    public void onSent(long now) {
        lastSent = now;
    }

    /** A keepalive written; until something arrives it is re-sent every {@link #RETRY}. */
    public void onKeepaliveSent(long now) {
        lastSent = now;
        lastKeepalive = now;
        awaitingEcho = true;
    }

    /** Any bytes read from the connection. */
    public void onReceived(long now) {
        lastReceived = now;
        awaitingEcho = false;
    }

    /** Client: whether to send a keepalive now. */
    public boolean due(long now) {
        if (awaitingEcho) {
            return now - lastKeepalive >= RETRY;
        }
        return now - lastSent >= IDLE;
    }

    /** Nanoseconds until {@link #due} or {@link #expired} may turn true; 0 if one already is. */
    public long untilNextCheck(long now) {
        long keepalive = awaitingEcho ? lastKeepalive + RETRY - now : lastSent + IDLE - now;
        long expiry = lastReceived + EXPIRY - now;
        return Math.max(0, Math.min(keepalive, expiry));
    }

    /** Whether the other side has been silent for {@link #EXPIRY}: drop it (server) or reconnect (client). */
    public boolean expired(long now) {
        return now - lastReceived >= EXPIRY;
    }

    /** Whether a keepalive went out and nothing has arrived since. */
    public boolean awaitingEcho() {
        return awaitingEcho;
    }

    public long lastReceived() {
        return lastReceived;
    }
}
