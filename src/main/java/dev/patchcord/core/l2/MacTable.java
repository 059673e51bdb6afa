package dev.patchcord.core.l2;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The learning table of an Ethernet switch whose ports are peers: which peer a MAC address was
 * last seen behind. Bounded (the least recently refreshed entry makes room) and ageing (an entry
 * not refreshed for {@code ageing} is forgotten, so a station that moves is found again by
 * flooding), as every switch does, so that a peer sending frames from random source addresses
 * cannot grow it without limit.
 *
 * @param <P> the port type (a peer)
 */
public final class MacTable<P> {
    /** 300 s, the usual default ageing time of Ethernet bridges (Linux's br ageing_time). */
    public static final long DEFAULT_AGEING = 300_000_000_000L;
    /** 4096 stations, about 400 KiB: a bridged site's LAN, while a flood of made-up addresses stays small. */
    public static final int DEFAULT_CAPACITY = 4096;

    private record Entry<P>(P port, long seen) {}

    private final int capacity;
    private final long ageing;
    /** Access order: the eldest entry is the least recently refreshed. */
    private final LinkedHashMap<Long, Entry<P>> table = new LinkedHashMap<>(64, 0.75f, true);
    /** Entries pushed out by a full table: many means more stations than the table holds, or a flood. */
    private long evictions;
    /**
     * How many times an address moved to another port (or was pushed out). A learner that skips
     * re-learning a (address, port) it learned a moment ago reads this, without the lock, to know
     * whether another thread has moved an address since.
     */
    private volatile long moves;

    public MacTable(int capacity, long ageing) {
        this.capacity = capacity;
        this.ageing = ageing;
    }

    /** The 48-bit address at {@code buf[off]}, as a long. */
    public static long mac(ByteBuffer buf, int off) {
        return (buf.getShort(off) & 0xffffL) << 32 | (buf.getInt(off + 2) & 0xffffffffL);
    }

    /** Group addresses (broadcast and multicast) have the lowest bit of the first byte set. */
    public static boolean isGroup(long mac) {
        return (mac & (1L << 40)) != 0;
    }

    /** Records that {@code mac} was seen behind {@code port} at {@code now}; group addresses are ignored. */
    public synchronized void learn(long mac, P port, long now) {
        if (isGroup(mac)) {
            return;
        }
        Entry<P> before = table.put(mac, new Entry<>(port, now));
        if (before != null && before.port() != port) {
            moves++;
        }
        if (table.size() > capacity) {
            Iterator<Map.Entry<Long, Entry<P>>> eldest = table.entrySet().iterator();
            eldest.next();
            eldest.remove();
            evictions++;
            moves++;
        }
    }

    /** Changes a cached learning must not outlive: see {@link #moves}. Any thread, no lock. */
    public long moves() {
        return moves;
    }

    /** The port {@code mac} is behind, or null if unknown, aged out, or a group address (flood). */
    public synchronized P lookup(long mac, long now) {
        if (isGroup(mac)) {
            return null;
        }
        Entry<P> e = table.get(mac);
        if (e == null) {
            return null;
        }
        if (now - e.seen() >= ageing) {
            table.remove(mac);
            return null;
        }
        return e.port();
    }

    /** One learned station, as a restart hands it over: its address, its port, and how long ago it was seen. */
    public record Station<P>(long mac, P port, long ageNanos) {}

    /**
     * The stations not aged out at {@code now}, least recently refreshed first, so that
     * {@link #restore} in that order rebuilds the same eviction order.
     */
    public synchronized List<Station<P>> stations(long now) {
        List<Station<P>> out = new ArrayList<>(table.size());
        table.forEach((mac, e) -> {
            if (now - e.seen() < ageing) {
                out.add(new Station<>(mac, e.port(), now - e.seen()));
            }
        });
        return out;
    }

    /** Learns a station handed over by a previous process: seen {@code ageNanos} before {@code now}. */
    public void restore(Station<P> station, long now) {
        learn(station.mac(), station.port(), now - Math.max(0, station.ageNanos()));
    }

    /** Forgets every address behind {@code port} (the peer was removed). */
    public synchronized void forget(P port) {
        table.values().removeIf(e -> e.port() == port);
    }

    public synchronized int size() {
        return table.size();
    }

    /** How many entries a full table has pushed out to make room. */
    public synchronized long evictions() {
        return evictions;
    }
}
