package dev.patchcord.core.assign;

import dev.patchcord.core.Cidr;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;

/**
 * Addresses a pool has assigned to one peer, named by its WireGuard public key, until
 * {@code endsAt}. The key is the lease's identity: the server learns it from the session a
 * control message arrived on, so no peer can ask for, renew or release another peer's lease.
 *
 * <p>{@code endsAt} is wall-clock time in epoch seconds, not a monotonic clock reading, because a
 * lease outlives the process: it is written to disk and must still mean the same instant after a
 * restart. The end alone does not free the addresses; see {@link AddressPool#expire}.
 *
 * @param publicKey the peer's 32-byte Curve25519 public key (copied in and out)
 * @param v4 the assigned IPv4 address, if any
 * @param v6 the assigned IPv6 address, if any; at least one of the two is present
 * @param endsAt the end of the lease term, epoch seconds
 */
public record Lease(byte[] publicKey, Optional<InetAddress> v4, Optional<InetAddress> v6, long endsAt)
        implements Allocation {

    public Lease {
        Objects.requireNonNull(publicKey, "publicKey");
        Objects.requireNonNull(v4, "v4");
        Objects.requireNonNull(v6, "v6");
        if (publicKey.length != 32) {
            throw new IllegalArgumentException("a public key has 32 bytes, not " + publicKey.length);
        }
        if (v4.isEmpty() && v6.isEmpty()) {
            throw new IllegalArgumentException("a lease holds an IPv4 or an IPv6 address");
        }
        if (v4.isPresent() && !(v4.get() instanceof Inet4Address)) {
            throw new IllegalArgumentException(Cidr.format(v4.get()) + " is not an IPv4 address");
        }
        if (v6.isPresent() && !(v6.get() instanceof Inet6Address)) {
            throw new IllegalArgumentException(Cidr.format(v6.get()) + " is not an IPv6 address");
        }
        publicKey = publicKey.clone();
    }

    @Override
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** The public key in base64, as wg prints it. */
    public String keyText() {
        return Base64.getEncoder().encodeToString(publicKey);
    }

    /** Whether this lease belongs to {@code key}. */
    public boolean isFor(byte[] key) {
        return Arrays.equals(publicKey, key);
    }

    /** Seconds left of the term at {@code now}, never below 1 (what an ACK carries). */
    public long secondsLeft(long now) {
        return Math.clamp(endsAt - now, 1, 0xffff_ffffL);
    }

    /** The same addresses with a new end. */
    public Lease withEnd(long newEnd) {
        return new Lease(publicKey, v4, v6, newEnd);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Lease l && Arrays.equals(publicKey, l.publicKey) && v4.equals(l.v4)
                && v6.equals(l.v6) && endsAt == l.endsAt;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(publicKey), v4, v6, endsAt);
    }

    /** {@code Lease[xTIB…= 10.9.0.2 fd00:9::2 until 1767225600]}: addresses as literals, never host names. */
    @Override
    public String toString() {
        return "Lease[" + keyText() + v4.map(a -> " " + Cidr.format(a)).orElse("")
                + v6.map(a -> " " + Cidr.format(a)).orElse("") + " until " + endsAt + "]";
    }
}
