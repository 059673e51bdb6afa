package dev.patchcord.core.wg;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * When an endpoint given as a host name should be looked up again: when the peer has gone quiet
 * and handshakes to the address we have keep failing (it may have moved to a new address), but not
 * while it answers, so that an address learned from its authenticated packets (roaming) is never
 * overridden by DNS. Like wireguard-tools' reresolve-dns script (135 s without a handshake), and
 * sooner: as soon as a handshake retry goes unanswered.
 */
public final class Reresolve {
    private Reresolve() {}

    /** wireguard-tools re-resolves once the last handshake is older than this. */
    public static final long STALE_HANDSHAKE = 135_000_000_000L;
    /** While handshakes fail, a name is looked up at most this often. */
    public static final long FAILING_INTERVAL = REKEY_TIMEOUT;
    /** While the peer is merely quiet (no handshake for 135 s), this often. */
    public static final long STALE_INTERVAL = 60_000_000_000L;

    /**
     * @param unanswered initiations sent since a handshake last completed ({@link Peer#unansweredInitiations()})
     * @param sessionAge nanoseconds since the current session was made, or -1 if there is none
     * @param sinceLastLookup nanoseconds since this peer's name was last looked up, or -1 for never
     */
    public static boolean due(int unanswered, long sessionAge, long sinceLastLookup) {
        boolean never = sinceLastLookup < 0;
        if (unanswered >= 2) { // the first try went unanswered and a retry is out
            return never || sinceLastLookup >= FAILING_INTERVAL;
        }
        boolean stale = sessionAge < 0 || sessionAge >= STALE_HANDSHAKE;
        return stale && (never || sinceLastLookup >= STALE_INTERVAL);
    }
}
