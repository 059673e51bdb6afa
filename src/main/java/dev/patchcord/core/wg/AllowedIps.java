package dev.patchcord.core.wg;

import dev.patchcord.core.Cidr;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Cryptokey routing: which peer owns which inner addresses. Outbound, the longest prefix that
 * covers a packet's destination picks the peer; inbound, a decrypted packet's source must be
 * covered by the peer that sent it. A prefix belongs to one peer at a time: assigning it again
 * moves it. Lookups read a published snapshot without locks or allocation.
 */
public final class AllowedIps {
    private record Entry(byte[] network, int prefix, Peer peer, Cidr cidr) {}

    private volatile Entry[] v4 = new Entry[0];
    private volatile Entry[] v6 = new Entry[0];

    public synchronized void add(Cidr cidr, Peer peer) {
        Cidr net = cidr.network();
        byte[] bytes = net.address().getAddress();
        List<Entry> list = new ArrayList<>(List.of(net.isIpv4() ? v4 : v6));
        list.removeIf(e -> e.prefix == net.prefix() && java.util.Arrays.equals(e.network, bytes));
        list.add(new Entry(bytes, net.prefix(), peer, net));
        // Longest prefix first, so the first match is the best one.
        list.sort((a, b) -> Integer.compare(b.prefix, a.prefix));
        publish(net.isIpv4(), list);
    }

    public synchronized void removePeer(Peer peer) {
        for (boolean ipv4 : new boolean[]{true, false}) {
            List<Entry> list = new ArrayList<>(List.of(ipv4 ? v4 : v6));
            list.removeIf(e -> e.peer == peer);
            publish(ipv4, list);
        }
    }

    private void publish(boolean ipv4, List<Entry> list) {
        Entry[] array = list.toArray(Entry[]::new);
        if (ipv4) {
            v4 = array;
        } else {
            v6 = array;
        }
    }

    public List<Cidr> of(Peer peer) {
        List<Cidr> out = new ArrayList<>();
        for (Entry[] table : List.of(v4, v6)) {
            for (Entry e : table) {
                if (e.peer == peer) {
                    out.add(e.cidr);
                }
            }
        }
        return out;
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
        Entry[] table;
        int addrOff;
        if (version == 4 && len >= 20) {
            table = v4;
            addrOff = off + (destination ? 16 : 12);
        } else if (version == 6 && len >= 40) {
            table = v6;
            addrOff = off + (destination ? 24 : 8);
        } else {
            return null;
        }
        for (Entry e : table) {
            if (matches(e, buf, addrOff)) {
                return e.peer;
            }
        }
        return null;
    }

    private static boolean matches(Entry e, ByteBuffer buf, int addrOff) {
        int full = e.prefix >>> 3;
        for (int i = 0; i < full; i++) {
            if (buf.get(addrOff + i) != e.network[i]) {
                return false;
            }
        }
        int rest = e.prefix & 7;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return ((buf.get(addrOff + full) ^ e.network[full]) & mask) == 0;
    }
}
