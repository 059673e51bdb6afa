package dev.patchcord.core.udptun;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * udptun's resolver: an ordered list of inner IPv4 address → underlay address. A lookup takes the
 * first entry equal to the destination or equal to the wildcard 0.0.0.0, so a wildcard hides every
 * entry after it, exactly as in udptun; there are no prefixes. Immutable: a refresh builds a new
 * table and swaps it in whole.
 */
public final class HostsTable {
    /** One resolved entry; {@code inner} is the address as a big-endian int, 0 for the wildcard. */
    public record Route(int inner, InetSocketAddress to) {}

    /** A host name that could not be turned into an address. */
    public interface Resolver {
        InetAddress resolve(String host) throws UnknownHostException;
    }

    public static final HostsTable EMPTY = new HostsTable(List.of());
    /**
     * Entries a table may have. Every packet from the interface searches the table in order (as
     * udptun does) and every entry is resolved at each load, so a table is meant to list hosts,
     * not networks; this is far above any such list and bounds what a hosts URL can make patchcord
     * hold and resolve.
     */
    public static final int MAX_HOSTS = 4096;

    private final List<Route> routes;

    public HostsTable(List<Route> routes) {
        this.routes = List.copyOf(routes);
    }

    /** Resolves every host now (IPv4 or IPv6, the first address the system gives), failing on the first that does not resolve. */
    public static HostsTable resolve(List<HostEntry> entries, Resolver resolver) throws HostsException {
        if (entries.size() > MAX_HOSTS) {
            throw new HostsException("the hosts table has " + entries.size() + " entries; at most " + MAX_HOSTS
                    + " are allowed");
        }
        List<Route> routes = new ArrayList<>();
        for (HostEntry e : entries) {
            InetAddress a;
            try {
                a = resolver.resolve(e.host());
            } catch (UnknownHostException | RuntimeException ex) {
                throw new HostsException("cannot resolve host '" + e.host() + "' of " + e.inner().getHostAddress());
            }
            routes.add(new Route(toInt(e.inner().getAddress()), new InetSocketAddress(a, e.port())));
        }
        return new HostsTable(routes);
    }

    /** Same routes in the same order. */
    @Override
    public boolean equals(Object o) {
        return o instanceof HostsTable t && routes.equals(t.routes);
    }

    @Override
    public int hashCode() {
        return routes.hashCode();
    }

    /** A single wildcard entry, as udptun's {@code -A HOST -P PORT} makes. */
    public static HostsTable wildcard(InetSocketAddress to) {
        return new HostsTable(List.of(new Route(0, to)));
    }

    /** The index of the route for destination {@code dst} (big-endian int), or -1 if none. */
    public int find(int dst) {
        for (int i = 0; i < routes.size(); i++) {
            int inner = routes.get(i).inner();
            if (inner == 0 || inner == dst) {
                return i;
            }
        }
        return -1;
    }

    /** Where packets for {@code dst} go, or null if nowhere. */
    public InetSocketAddress lookup(int dst) {
        int i = find(dst);
        return i < 0 ? null : routes.get(i).to();
    }

    public List<Route> routes() {
        return routes;
    }

    public int size() {
        return routes.size();
    }

    public static int toInt(byte[] a) {
        return (a[0] & 0xff) << 24 | (a[1] & 0xff) << 16 | (a[2] & 0xff) << 8 | (a[3] & 0xff);
    }
}
