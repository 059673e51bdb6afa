package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Picks a free address for a new client in a server's subnet: the lowest host address that is
 * neither the server's own nor inside any peer's allowed IPs. IPv4's network and broadcast
 * addresses and IPv6's subnet-router anycast address (the all-zero host) are never picked. The search jumps over whole taken ranges, so it takes at most one
 * step per range even in an IPv6 /64.
 */
public final class AddressPicker {
    private AddressPicker() {
    }

    /**
     * @param subnet the server's address with its prefix (e.g. {@code 10.8.0.1/24})
     * @param taken the server's addresses and every peer's allowed IPs (any family; others ignored)
     * @return a single-host prefix ({@code /32} or {@code /128}), or empty if the subnet is full
     */
    public static Optional<Cidr> pick(Cidr subnet, List<Cidr> taken) {
        int bits = subnet.bits();
        BigInteger first = value(subnet.network().address());
        BigInteger size = BigInteger.ONE.shiftLeft(bits - subnet.prefix());
        BigInteger last = first.add(size).subtract(BigInteger.ONE);
        if (subnet.prefix() < bits - 1) {
            first = first.add(BigInteger.ONE); // IPv4's network address, IPv6's subnet-router anycast
            if (subnet.isIpv4()) {
                last = last.subtract(BigInteger.ONE); // the broadcast address
            }
        }
        List<BigInteger[]> ranges = new ArrayList<>();
        for (Cidr c : taken) {
            if (c.isIpv4() == subnet.isIpv4()) {
                BigInteger lo = value(c.network().address());
                ranges.add(new BigInteger[] {lo, lo.add(BigInteger.ONE.shiftLeft(bits - c.prefix())).subtract(BigInteger.ONE)});
            }
        }
        BigInteger candidate = first;
        // Each pass either returns or moves past one range for good: at most ranges + 1 passes.
        for (int pass = 0; pass <= ranges.size(); pass++) {
            if (candidate.compareTo(last) > 0) {
                return Optional.empty();
            }
            BigInteger[] hit = null;
            for (BigInteger[] r : ranges) {
                if (candidate.compareTo(r[0]) >= 0 && candidate.compareTo(r[1]) <= 0) {
                    hit = r;
                    break;
                }
            }
            if (hit == null) {
                return Optional.of(new Cidr(address(candidate, bits), bits));
            }
            candidate = hit[1].add(BigInteger.ONE);
        }
        return Optional.empty();
    }

    /**
     * The lowest {@code limit} free host addresses of {@code subnet}, in order, by the same rule
     * as {@link #pick}: the candidates a shared store's allocation tries in turn. The store alone
     * decides which of them is free; {@code taken} only keeps off what it cannot know (the
     * server's own addresses, the peers of its file) and what was already leased when it was read.
     *
     * @param taken prefixes to skip (any family; others ignored)
     * @param limit how many at most
     * @return single-host addresses, ascending; empty if the subnet has no free host
     */
    public static List<InetAddress> candidates(Cidr subnet, List<Cidr> taken, int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit " + limit + " is negative");
        }
        int bits = subnet.bits();
        BigInteger first = value(subnet.network().address());
        BigInteger last = first.add(BigInteger.ONE.shiftLeft(bits - subnet.prefix())).subtract(BigInteger.ONE);
        if (subnet.prefix() < bits - 1) {
            first = first.add(BigInteger.ONE);
            if (subnet.isIpv4()) {
                last = last.subtract(BigInteger.ONE);
            }
        }
        List<BigInteger[]> ranges = new ArrayList<>();
        for (Cidr c : taken) {
            if (c.isIpv4() == subnet.isIpv4()) {
                BigInteger lo = value(c.network().address());
                ranges.add(new BigInteger[] {lo, lo.add(BigInteger.ONE.shiftLeft(bits - c.prefix())).subtract(BigInteger.ONE)});
            }
        }
        // Sorted by start, the taken ranges are passed once each: the gaps between them are the
        // free hosts, so a store with thousands of leases costs one sort, not a search per host.
        ranges.sort((a, b) -> a[0].compareTo(b[0]));
        List<InetAddress> out = new ArrayList<>();
        BigInteger cursor = first;
        for (BigInteger[] r : ranges) {
            while (out.size() < limit && cursor.compareTo(r[0]) < 0 && cursor.compareTo(last) <= 0) {
                out.add(address(cursor, bits));
                cursor = cursor.add(BigInteger.ONE);
            }
            if (out.size() == limit || cursor.compareTo(last) > 0) {
                return out;
            }
            if (r[1].compareTo(cursor) >= 0) {
                cursor = r[1].add(BigInteger.ONE);
            }
        }
        while (out.size() < limit && cursor.compareTo(last) <= 0) {
            out.add(address(cursor, bits));
            cursor = cursor.add(BigInteger.ONE);
        }
        return out;
    }

    private static BigInteger value(InetAddress a) {
        return new BigInteger(1, a.getAddress());
    }

    private static InetAddress address(BigInteger v, int bits) {
        byte[] raw = v.toByteArray();
        byte[] out = new byte[bits / 8];
        // toByteArray may add a leading zero byte or return fewer bytes than the address has.
        int copy = Math.min(raw.length, out.length);
        System.arraycopy(raw, raw.length - copy, out, out.length - copy, copy);
        try {
            return InetAddress.getByAddress(out);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("a 4- or 16-byte address was refused", e);
        }
    }
}
