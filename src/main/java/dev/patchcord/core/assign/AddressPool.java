package dev.patchcord.core.assign;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.assign.Allocation.Refusal;

import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The server's {@code [Pool]}: the addresses it hands to clients with {@code Address = auto}, and
 * who holds which. Every lease is bound to a WireGuard public key, so the rules are simple and
 * leave no room for one peer to take another's address:
 *
 * <ul>
 *   <li>a key that holds a lease gets the same addresses back (with a fresh term);</li>
 *   <li>a requested address is granted if it is in the pool and nobody else holds it, and
 *       otherwise refused with the reason, never silently swapped for another, unless the client
 *       said any address will do;</li>
 *   <li>else the lowest free address: assignment is deterministic, so tests and operators can
 *       predict it, and a client that comes back after its lease was freed usually gets the same
 *       address again.</li>
 * </ul>
 *
 * <p>An IPv4 range loses its network and broadcast addresses (not a /31 or /32, which have none);
 * an IPv6 prefix loses its subnet-router anycast address (host part zero; not a /127 or /128). The
 * {@code reserved} prefixes (the server's own addresses, any peer's fixed {@code AllowedIPs}) are
 * never assigned. A refusal changes nothing: the old lease, if any, stays as it was.
 *
 * <p>Sans-IO: times are parameters in epoch seconds, and {@link #expire} asks the caller whether a
 * peer is alive. The methods are synchronized, because the receive path (requests) and a timer
 * (expiry) both use one pool; it is control traffic, not the data path.
 */
public final class AddressPool {
    private final Range v4;
    private final Range v6;
    private final List<Cidr> reserved;
    private final long leaseSeconds;
    private final List<Cidr> routes;
    private final Map<ByteBuffer, Lease> byKey = new LinkedHashMap<>();
    private final Map<InetAddress, Lease> byAddress = new HashMap<>();

    /**
     * What a client asks for: which families, optionally a particular address in each, and
     * whether any other address will do when a particular one cannot be had.
     */
    public record Want(boolean v4, boolean v6, Optional<InetAddress> requestedV4, Optional<InetAddress> requestedV6,
                       boolean any) {
        public Want {
            Objects.requireNonNull(requestedV4, "requestedV4");
            Objects.requireNonNull(requestedV6, "requestedV6");
            if (requestedV4.isPresent() && !(v4 && requestedV4.get() instanceof Inet4Address)
                    || requestedV6.isPresent() && !(v6 && requestedV6.get() instanceof Inet6Address)) {
                throw new IllegalArgumentException("a requested address must be of its own family, and that family wanted");
            }
        }

        /** What a REQUEST message asks for. */
        public static Want of(AddressMessage.Request r) {
            return new Want(r.wantV4(), r.wantV6(), r.v4(), r.v6(), r.any());
        }
    }

    /**
     * @param v4Range the IPv4 range to assign from (host bits are ignored: 10.9.0.1/24 is 10.9.0.0/24)
     * @param v6Prefix the IPv6 prefix to assign from; at least one of the two
     * @param reserved prefixes never assigned, of either family
     * @param leaseSeconds the lease term, 1 to 2^32-1 seconds
     * @param routes prefixes pushed to every client, at most {@link AddressMessage#MAX_ROUTES}, host bits clear
     * @throws IllegalArgumentException saying what is wrong with the configuration
     */
    public AddressPool(Optional<Cidr> v4Range, Optional<Cidr> v6Prefix, List<Cidr> reserved, long leaseSeconds,
                       List<Cidr> routes) {
        if (v4Range.isEmpty() && v6Prefix.isEmpty()) {
            throw new IllegalArgumentException("a pool needs an IPv4 range, an IPv6 prefix or both");
        }
        if (v4Range.isPresent() && !v4Range.get().isIpv4()) {
            throw new IllegalArgumentException("pool range " + v4Range.get() + " is not IPv4");
        }
        if (v6Prefix.isPresent() && v6Prefix.get().isIpv4()) {
            throw new IllegalArgumentException("pool prefix " + v6Prefix.get() + " is not IPv6");
        }
        if (leaseSeconds < 1 || leaseSeconds > 0xffff_ffffL) {
            throw new IllegalArgumentException("lease time " + leaseSeconds + " s is out of range (1-4294967295)");
        }
        if (routes.size() > AddressMessage.MAX_ROUTES) {
            throw new IllegalArgumentException(routes.size() + " routes to push are more than " + AddressMessage.MAX_ROUTES);
        }
        for (Cidr r : routes) {
            if (!r.equals(r.network())) {
                throw new IllegalArgumentException("route " + r + " has host bits set (did you mean " + r.network() + "?)");
            }
        }
        this.v4 = v4Range.map(Range::new).orElse(null);
        this.v6 = v6Prefix.map(Range::new).orElse(null);
        this.reserved = List.copyOf(reserved);
        this.leaseSeconds = leaseSeconds;
        this.routes = List.copyOf(routes);
    }

    public Optional<Cidr> v4Range() {
        return Optional.ofNullable(v4).map(r -> r.network);
    }

    public Optional<Cidr> v6Prefix() {
        return Optional.ofNullable(v6).map(r -> r.network);
    }

    public long leaseSeconds() {
        return leaseSeconds;
    }

    public List<Cidr> routes() {
        return routes;
    }

    /**
     * Every family this pool serves, with the requested addresses and no fallback: a requested
     * address that cannot be granted is refused.
     */
    public Allocation offer(byte[] publicKey, Optional<InetAddress> requestedV4, Optional<InetAddress> requestedV6,
                            long now) {
        return offer(publicKey, new Want(v4 != null || requestedV4.isPresent(), v6 != null || requestedV6.isPresent(),
                requestedV4, requestedV6, false), now);
    }

    /**
     * Assigns addresses to {@code publicKey} as {@code want} asks, for a term from {@code now}
     * (epoch seconds), or refuses. All or nothing: every wanted family this pool serves gets an
     * address, or nothing changes. A wanted family the pool does not serve is left out of the
     * lease, unless a particular address of it was requested without {@code any} (then it is
     * refused), or it was the only family wanted.
     */
    public synchronized Allocation offer(byte[] publicKey, Want want, long now) {
        ByteBuffer key = key(publicKey);
        Lease held = byKey.get(key);
        Pick p4 = pick(v4, "IPv4", want.v4(), want.requestedV4(), held == null ? Optional.empty() : held.v4(), publicKey, want.any());
        if (p4.refusal != null) {
            return p4.refusal;
        }
        Pick p6 = pick(v6, "IPv6", want.v6(), want.requestedV6(), held == null ? Optional.empty() : held.v6(), publicKey, want.any());
        if (p6.refusal != null) {
            return p6.refusal;
        }
        if (p4.address.isEmpty() && p6.address.isEmpty()) {
            String families = want.v4() && want.v6() ? "IPv4 or IPv6" : want.v4() ? "IPv4" : "IPv6";
            return new Refusal(NakReason.FAMILY_UNAVAILABLE, "this server assigns no " + families + " addresses");
        }
        if (held != null) {
            forget(held);
        }
        Lease lease = new Lease(publicKey, p4.address, p6.address, now + leaseSeconds);
        remember(key, lease);
        return lease;
    }

    /** Extends the lease of {@code publicKey} to a full term from {@code now}; empty if it holds none. */
    public synchronized Optional<Lease> renew(byte[] publicKey, long now) {
        ByteBuffer key = key(publicKey);
        Lease held = byKey.get(key);
        if (held == null) {
            return Optional.empty();
        }
        Lease renewed = held.withEnd(now + leaseSeconds);
        remember(key, renewed);
        return Optional.of(renewed);
    }

    /** Frees the lease of {@code publicKey} at once; empty if it held none. */
    public synchronized Optional<Lease> release(byte[] publicKey) {
        Lease held = byKey.remove(key(publicKey));
        if (held != null) {
            forget(held);
        }
        return Optional.ofNullable(held);
    }

    /**
     * Frees every lease whose term ended by {@code now} and whose peer {@code peerAlive} says is
     * dead (no authenticated traffic for the dead-peer timeout). Both conditions, because a peer
     * that still talks through the tunnel is still using its address even if it stopped renewing,
     * and a peer that went quiet still owns its address until its term ends.
     *
     * @param peerAlive given a copy of a lease's public key
     * @return the freed leases, so the caller can remove their allowed IPs
     */
    public synchronized List<Lease> expire(long now, Predicate<byte[]> peerAlive) {
        List<Lease> freed = new ArrayList<>();
        for (Iterator<Lease> it = byKey.values().iterator(); it.hasNext(); ) {
            Lease l = it.next();
            if (l.endsAt() <= now && !peerAlive.test(l.publicKey())) {
                it.remove();
                forget(l);
                freed.add(l);
            }
        }
        return freed;
    }

    /** The lease {@code publicKey} holds, if any. */
    public synchronized Optional<Lease> lease(byte[] publicKey) {
        return Optional.ofNullable(byKey.get(key(publicKey)));
    }

    /** Every lease, in the order they were first granted. */
    public synchronized List<Lease> leases() {
        return List.copyOf(byKey.values());
    }

    /**
     * Takes back leases saved before a restart (ends kept as saved). A lease that no longer fits
     * (the pool or the reservations changed, or another lease restored earlier has its address or
     * key) is left out, whole, and named in the returned one-line problems; the others stay.
     */
    public synchronized List<String> restore(Collection<Lease> saved) {
        List<String> problems = new ArrayList<>();
        for (Lease l : saved) {
            String problem = byKey.containsKey(key(l.publicKey())) ? "a lease for the same key came earlier"
                    : fits(v4, "IPv4", l.v4(), l.publicKey());
            if (problem == null) {
                problem = fits(v6, "IPv6", l.v6(), l.publicKey());
            }
            if (problem != null) {
                problems.add("lease of " + l.keyText() + " dropped: " + problem);
            } else {
                remember(key(l.publicKey()), l);
            }
        }
        return problems;
    }

    /** The ACK that tells a client about {@code lease}: pool prefix lengths, term left, routes. */
    public AddressMessage.Ack ack(int requestId, Lease lease, long now) {
        return new AddressMessage.Ack(requestId,
                lease.v4().map(a -> new Cidr(a, v4 == null ? 32 : v4.network.prefix())),
                lease.v6().map(a -> new Cidr(a, v6 == null ? 128 : v6.network.prefix())),
                lease.secondsLeft(now), routes);
    }

    private String fits(Range range, String family, Optional<InetAddress> address, byte[] publicKey) {
        if (address.isEmpty()) {
            return null;
        }
        if (range == null) {
            return "this pool has no " + family + " addresses";
        }
        Refusal r = check(range, address.get(), publicKey);
        return r == null ? null : r.text();
    }

    /** One family's outcome: an address, none (not wanted or not served), or a refusal. */
    private record Pick(Optional<InetAddress> address, Refusal refusal) {
        static final Pick NONE = new Pick(Optional.empty(), null);
    }

    private Pick pick(Range range, String family, boolean wanted, Optional<InetAddress> requested,
                      Optional<InetAddress> held, byte[] publicKey, boolean any) {
        if (!wanted) {
            return Pick.NONE;
        }
        if (range == null) {
            if (requested.isPresent() && !any) {
                return new Pick(Optional.empty(), new Refusal(NakReason.OUT_OF_POOL, Cidr.format(requested.get())
                        + " is not in the address pool (this server assigns no " + family + " addresses)"));
            }
            return Pick.NONE;
        }
        if (requested.isPresent()) {
            Refusal r = check(range, requested.get(), publicKey);
            if (r == null) {
                return new Pick(requested, null);
            }
            if (!any) {
                return new Pick(Optional.empty(), r);
            }
        }
        if (held.isPresent()) {
            return new Pick(held, null);
        }
        InetAddress free = lowestFree(range);
        if (free == null) {
            return new Pick(Optional.empty(), new Refusal(NakReason.POOL_EXHAUSTED,
                    "the " + family + " pool " + range.network + " is exhausted"));
        }
        return new Pick(Optional.of(free), null);
    }

    /** Null if {@code publicKey} may hold {@code a}, else why not. */
    private Refusal check(Range range, InetAddress a, byte[] publicKey) {
        String text = Cidr.format(a);
        if (!range.network.contains(a)) {
            return new Refusal(NakReason.OUT_OF_POOL, text + " is not in the address pool " + range.network);
        }
        BigInteger value = Range.value(a);
        if (value.compareTo(range.first) < 0 || value.compareTo(range.last) > 0) {
            String what = range.network.isIpv4()
                    ? value.equals(range.base) ? "network" : "broadcast"
                    : "subnet-router anycast";
            return new Refusal(NakReason.OUT_OF_POOL, text + " is the " + what + " address of " + range.network);
        }
        if (reservedPrefix(a) != null) {
            return new Refusal(NakReason.OUT_OF_POOL, text + " is reserved (not in the address pool)");
        }
        Lease holder = byAddress.get(a);
        if (holder != null && !holder.isFor(publicKey)) {
            return new Refusal(NakReason.ADDRESS_IN_USE, text + " is leased to another peer");
        }
        return null;
    }

    /**
     * The lowest address of the range that is neither reserved nor leased. Steps over a reserved
     * prefix in one go, so the walk costs at most one step per lease and per reservation.
     */
    private InetAddress lowestFree(Range range) {
        BigInteger c = range.first;
        while (c.compareTo(range.last) <= 0) {
            InetAddress a = range.at(c);
            Cidr r = reservedPrefix(a);
            if (r != null) {
                c = Range.value(r.network().address()).add(BigInteger.ONE.shiftLeft(r.bits() - r.prefix()));
            } else if (byAddress.containsKey(a)) {
                c = c.add(BigInteger.ONE);
            } else {
                return a;
            }
        }
        return null;
    }

    private Cidr reservedPrefix(InetAddress a) {
        for (Cidr r : reserved) {
            if (r.contains(a)) {
                return r;
            }
        }
        return null;
    }

    private void remember(ByteBuffer key, Lease lease) {
        byKey.put(key, lease);
        lease.v4().ifPresent(a -> byAddress.put(a, lease));
        lease.v6().ifPresent(a -> byAddress.put(a, lease));
    }

    private void forget(Lease lease) {
        lease.v4().ifPresent(byAddress::remove);
        lease.v6().ifPresent(byAddress::remove);
    }

    private static ByteBuffer key(byte[] publicKey) {
        if (publicKey.length != 32) {
            throw new IllegalArgumentException("a public key has 32 bytes, not " + publicKey.length);
        }
        return ByteBuffer.wrap(publicKey.clone());
    }

    /** One family's assignable span: addresses as unsigned integers, {@code first..last} inclusive. */
    private static final class Range {
        final Cidr network;
        final BigInteger base;
        final BigInteger first;
        final BigInteger last;

        Range(Cidr cidr) {
            network = cidr.network();
            base = value(network.address());
            BigInteger end = base.add(BigInteger.ONE.shiftLeft(network.bits() - network.prefix())).subtract(BigInteger.ONE);
            // IPv4: no network or broadcast address (RFC 3021: a /31 or /32 has neither).
            // IPv6: no subnet-router anycast address, host part zero (RFC 4291; RFC 6164 for /127).
            boolean v4 = network.isIpv4();
            boolean trimLow = v4 ? network.prefix() <= 30 : network.prefix() <= 126;
            boolean trimHigh = v4 && network.prefix() <= 30;
            first = trimLow ? base.add(BigInteger.ONE) : base;
            last = trimHigh ? end.subtract(BigInteger.ONE) : end;
        }

        InetAddress at(BigInteger value) {
            int size = network.isIpv4() ? 4 : 16;
            byte[] raw = value.toByteArray(); // big-endian, maybe with a leading sign byte
            byte[] b = new byte[size];
            int n = Math.min(raw.length, size);
            System.arraycopy(raw, raw.length - n, b, size - n, n);
            return AddressMessages.address(b);
        }

        static BigInteger value(InetAddress a) {
            return new BigInteger(1, a.getAddress());
        }
    }
}
