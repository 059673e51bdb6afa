package dev.patchcord.core.mesh;

/**
 * How one mesh peer is reached: directly, or through a relay when a direct path cannot be made
 * (both ends behind NATs that do not let the simultaneous handshakes through, or a firewall in
 * between). Sans-IO: the caller says whether the direct session works and whether a relay is up,
 * and is told what to do.
 *
 * <ul>
 * <li>{@code TRYING}: the peer keeps its allowed IPs, and a handshake is started every
 *     {@link #KICK_NANOS} (every {@link #RETRY_DIRECT_NANOS} after {@link #RELAY_AFTER_NANOS}),
 *     each time at the next candidate endpoint. Both ends do this from the
 *     moment they learn of each other, so their first packets open both NATs (hole punching).
 * <li>{@code DIRECT}: a session is up; the endpoint is left to roaming.
 * <li>{@code RELAYED}: after {@link #RELAY_AFTER_NANOS} without a session, if a relay is up, the
 *     peer's allowed IPs are withdrawn, so longest-prefix routing sends its traffic to the relay's
 *     wider prefix. A direct handshake is still tried every {@link #RETRY_DIRECT_NANOS}; when one
 *     succeeds (from either end) the allowed IPs come back.
 * </ul>
 *
 * Withdrawing the allowed IPs, rather than forwarding by hand, keeps cryptokey routing sound on
 * the receiving side too: a packet relayed from a peer is only accepted from the relay once that
 * peer's addresses no longer belong to the direct peer there, which is the same decision made by the
 * same rule at the other end.
 */
public final class PathState {
    /** WireGuard's REKEY_TIMEOUT: one handshake attempt per candidate endpoint. */
    public static final long KICK_NANOS = 5_000_000_000L;
    /** Three attempts without a session before falling back to the relay. */
    public static final long RELAY_AFTER_NANOS = 15_000_000_000L;
    public static final long RETRY_DIRECT_NANOS = 30_000_000_000L;

    public enum Path { TRYING, DIRECT, RELAYED }

    /**
     * What to do now.
     *
     * @param direct whether the peer should hold its allowed IPs
     * @param kick start a handshake now
     * @param candidate the endpoint index to aim the handshake at, or -1 to keep the current endpoint
     */
    public record Step(boolean direct, boolean kick, int candidate) {}

    private Path path = Path.TRYING;
    private long since;
    private long lastKick;
    private boolean started;
    private int next;

    public Path path() {
        return path;
    }

    /**
     * @param now monotonic nanoseconds
     * @param alive the direct session exists and its handshakes are not failing
     * @param relayUp a relay peer (another one) has a working session
     * @param candidates how many endpoints are known for the peer (0: none, so no handshake can be started)
     */
    public Step step(long now, boolean alive, boolean relayUp, int candidates) {
        if (!started) {
            started = true;
            since = now;
            return alive ? enter(Path.DIRECT, now) : kick(now, candidates, true);
        }
        switch (path) {
            case DIRECT -> {
                if (alive) {
                    return new Step(true, false, -1);
                }
                path = Path.TRYING;
                since = now;
                // The endpoint roaming last settled on is the best guess: try it first.
                lastKick = now;
                return new Step(true, candidates > 0, -1);
            }
            case TRYING -> {
                if (alive) {
                    return enter(Path.DIRECT, now);
                }
                if (relayUp && now - since >= RELAY_AFTER_NANOS) {
                    path = Path.RELAYED;
                    since = now;
                    lastKick = now;
                    return new Step(false, false, -1);
                }
                // With no relay to fall back on, keep trying, but after the first attempts only as
                // often as from the relay, so an unreachable peer does not cost a handshake every 5 s.
                long every = now - since < RELAY_AFTER_NANOS ? KICK_NANOS : RETRY_DIRECT_NANOS;
                if (now - lastKick >= every) {
                    return kick(now, candidates, true);
                }
                return new Step(true, false, -1);
            }
            default -> {
                if (alive) {
                    return enter(Path.DIRECT, now);
                }
                if (!relayUp) {
                    path = Path.TRYING;
                    since = now;
                    return kick(now, candidates, true);
                }
                if (now - lastKick >= RETRY_DIRECT_NANOS) {
                    return kick(now, candidates, false);
                }
                return new Step(false, false, -1);
            }
        }
    }

    private Step enter(Path p, long now) {
        path = p;
        since = now;
        return new Step(true, false, -1);
    }

    private Step kick(long now, int candidates, boolean direct) {
        lastKick = now;
        if (candidates <= 0) {
            return new Step(direct, false, -1);
        }
        int c = next % candidates;
        next = c + 1;
        return new Step(direct, true, c);
    }
}
