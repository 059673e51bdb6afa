package dev.patchcord.device;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * patchcord's list of endpoints for one peer ({@code Endpoint = a:51820, b:51820}): the hubs of
 * a network that all hold the same key. The peer starts on one entry and moves to the next, round
 * the list, once handshakes to it have gone unanswered; as soon as one is answered it stays where
 * it is, because {@link dev.patchcord.core.wg.Peer#unansweredInitiations()} then starts again from
 * zero.
 *
 * <p>This class only decides; {@link PeerAddress} applies a move. It is told of every initiation
 * as it goes out, under the peer's send-order lock, so calls for one peer never overlap; the
 * lookups of host names (another thread) only record the address they found, under the
 * {@link PeerAddress}'s lock.
 */
public final class EndpointList {
    /**
     * Initiations to one entry that go unanswered before the next is tried. The second initiation
     * is the one that already retries from a fresh source address and after a fresh lookup of a
     * host name ({@link dev.patchcord.core.wg.Reresolve}); only when that one fails too is the
     * entry given up. The TCP fallback waits as long (it starts at the third initiation).
     */
    public static final int UNANSWERED_BEFORE_MOVING = 2;

    /**
     * One entry as configured.
     *
     * @param text the entry as the configuration gives it, e.g. {@code hub-a.example:51820}
     * @param host the host name to look up, or null for an IP literal
     * @param port the UDP port
     */
    public record Entry(String text, String host, int port) {
        public Entry {
            Objects.requireNonNull(text, "text");
        }
    }

    private final Entry[] entries;
    /** The last address each entry resolved to (a literal's own), or null while none is known. */
    private final InetSocketAddress[] addresses;
    private int index;
    /** The unanswered-initiation count when the current entry was chosen. */
    private int base;

    /**
     * @param entries at least two, in the configuration's order
     * @param addresses each entry's address as looked up at start (null where the lookup failed)
     * @param start the entry to start on
     */
    public EndpointList(List<Entry> entries, List<InetSocketAddress> addresses, int start) {
        if (entries.size() < 2 || addresses.size() != entries.size()) {
            throw new IllegalArgumentException("an endpoint list needs two or more entries, each with its address slot");
        }
        if (start < 0 || start >= entries.size()) {
            throw new IllegalArgumentException("start " + start + " is not an entry");
        }
        this.entries = entries.toArray(Entry[]::new);
        this.addresses = addresses.toArray(InetSocketAddress[]::new);
        this.index = start;
    }

    /** How many entries there are. */
    public int size() {
        return entries.length;
    }

    /** The entry in use. */
    public int index() {
        return index;
    }

    public Entry entry(int i) {
        return entries[i];
    }

    /** The entry's last known address, or null. */
    public InetSocketAddress address(int i) {
        return addresses[i];
    }

    /** Records what the entry's host name resolves to now. */
    void resolved(int i, InetSocketAddress address) {
        addresses[i] = address;
    }

    /**
     * An initiation is going out. Allocates nothing.
     *
     * @param unanswered {@link dev.patchcord.core.wg.Peer#unansweredInitiations()} just after it was
     *        made, so counting it (1 for the first since the last completed handshake); 0 if a
     *        handshake completed meanwhile
     * @return the entry this initiation should go to if that is a move, or -1 to stay
     */
    public int initiation(int unanswered) {
        if (unanswered - 1 < base) {
            base = 0; // a handshake completed since the last move: counting starts again here
        }
        if (unanswered < 1 || unanswered - 1 - base < UNANSWERED_BEFORE_MOVING) {
            return -1;
        }
        base = unanswered - 1;
        index = (index + 1) % entries.length;
        return index;
    }

    /** The entries as configured, {@code a:51820, b:51820}. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (Entry e : entries) {
            sb.append(sb.isEmpty() ? "" : ", ").append(e.text());
        }
        return sb.toString();
    }
}
