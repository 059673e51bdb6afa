package dev.patchcord.core.wg;

import dev.patchcord.core.Cidr;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Cryptokey routing: which peer owns which inner addresses. Outbound, the longest prefix that
 * covers a packet's destination picks the peer; inbound, a decrypted packet's source must be
 * covered by the peer that sent it. A prefix belongs to one peer at a time: assigning it again
 * moves it.
 *
 * <p>One {@link PrefixTrie} per family. Lookups walk a published snapshot without locks or
 * allocation. Changes are serialised here as well as in the tries, so that a compound change
 * ({@link #remove(Cidr, Peer)}, {@link #replacePeer}) cannot interleave with another; a
 * concurrent lookup may still observe its intermediate steps, as with the kernel's table.
 */
public final class AllowedIps {
    private static final int IPV4_HEADER = 20;
    private static final int IPV6_HEADER = 40;

    private final PrefixTrie<Peer> v4 = new PrefixTrie<>(32);
    private final PrefixTrie<Peer> v6 = new PrefixTrie<>(128);

    /** Routes {@code cidr} (host bits ignored) to {@code peer}, taking it from its previous owner. */
    public synchronized void add(Cidr cidr, Peer peer) {
        trie(cidr).insert(cidr.address().getAddress(), cidr.prefix(), peer);
    }

    /**
     * Removes {@code cidr} only if {@code peer} owns it, as the UAPI's {@code allowed_ip=-prefix}
     * does: a peer cannot take away another peer's route. Returns whether it was removed.
     */
    public synchronized boolean remove(Cidr cidr, Peer peer) {
        PrefixTrie<Peer> trie = trie(cidr);
        byte[] address = cidr.address().getAddress();
        return trie.get(address, cidr.prefix()) == peer && trie.remove(address, cidr.prefix());
    }

    /** Removes every prefix of {@code peer}. */
    public synchronized void removePeer(Peer peer) {
        v4.removeAll(peer);
        v6.removeAll(peer);
    }

    /**
     * Makes {@code cidrs} the peer's only prefixes ({@code replace_allowed_ips}): its old ones go,
     * and each new one is taken from whichever peer had it.
     */
    public synchronized void replacePeer(Peer peer, List<Cidr> cidrs) {
        removePeer(peer);
        for (Cidr cidr : cidrs) {
            add(cidr, peer);
        }
    }

    /** The peer's prefixes in network form: IPv4 before IPv6, each by address, then prefix length. */
    public List<Cidr> of(Peer peer) {
        List<Cidr> out = new ArrayList<>();
        for (PrefixTrie<Peer> trie : List.of(v4, v6)) {
            for (PrefixTrie.Entry<Peer> e : trie.entriesOf(peer)) {
                out.add(new Cidr(address(e.network()), e.prefix()));
            }
        }
        return out;
    }

    /** Prefixes of both families. */
    public int size() {
        return v4.size() + v6.size();
    }

    /** The peer for the destination of the IP packet at {@code off}, or null. */
    public Peer forDestination(ByteBuffer buf, int off, int len) {
        return lookup(buf, off, len, true);
    }

    /** The peer that may send the IP packet at {@code off} (by its source address), or null. */
    public Peer forSource(ByteBuffer buf, int off, int len) {
        return lookup(buf, off, len, false);
    }

    private Peer lookup(ByteBuffer buf, int off, int len, boolean destination) {
        if (len < 1) {
            return null;
        }
        int version = (buf.get(off) >> 4) & 0xf;
        if (version == 4 && len >= IPV4_HEADER) {
            return v4.lookup(buf, off + (destination ? 16 : 12));
        }
        if (version == 6 && len >= IPV6_HEADER) {
            return v6.lookup(buf, off + (destination ? 24 : 8));
        }
        return null;
    }

    private PrefixTrie<Peer> trie(Cidr cidr) {
        return cidr.isIpv4() ? v4 : v6;
    }

    /** 16 bytes stay IPv6 even when IPv4-mapped, unlike {@link InetAddress#getByAddress(byte[])}. */
    private static InetAddress address(byte[] bytes) {
        try {
            return bytes.length == 4 ? InetAddress.getByAddress(bytes) : Inet6Address.getByAddress(null, bytes, -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("address of " + bytes.length + " bytes", e);
        }
    }
}
