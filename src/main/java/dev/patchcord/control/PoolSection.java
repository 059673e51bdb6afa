package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * patchcord's {@code [Pool]} section: this interface is an address server that leases addresses
 * to clients configured with {@code Address = auto} (docs/protocol.md). A patchcord-only section;
 * wg-quick rejects a file that has one.
 *
 * @param v4Range the IPv4 range leased from ({@code Range}), if any
 * @param v6Prefix the IPv6 prefix leased from ({@code Range}), if any; at least one of the two
 * @param leaseSeconds {@code LeaseTime}, 1 to 2^32-1 seconds (default 3600)
 * @param deadPeerSeconds {@code DeadPeerTimeout}: a lease whose term ended is freed only once its
 *                        peer sent nothing authenticated for this long (default 300)
 * @param routes {@code Routes}: prefixes pushed to every client, host bits clear
 * @param leaseFile {@code LeaseFile}, or null for {@code /var/lib/patchcord/IFNAME.leases}
 */
public record PoolSection(Optional<Cidr> v4Range, Optional<Cidr> v6Prefix, long leaseSeconds, long deadPeerSeconds,
                          List<Cidr> routes, String leaseFile) {
    public static final long DEFAULT_LEASE_SECONDS = 3600;
    public static final long DEFAULT_DEAD_PEER_SECONDS = 300;

    public PoolSection {
        Objects.requireNonNull(v4Range, "v4Range");
        Objects.requireNonNull(v6Prefix, "v6Prefix");
        routes = List.copyOf(routes);
        if (v4Range.isEmpty() && v6Prefix.isEmpty()) {
            throw new IllegalArgumentException("a pool needs an IPv4 range, an IPv6 prefix or both");
        }
    }

    /** Where the leases are kept for interface {@code ifname}. */
    public Path leaseFile(String ifname) {
        return leaseFile != null ? Path.of(leaseFile) : Path.of("/var/lib/patchcord", ifname + ".leases");
    }

    /** The ranges, IPv4 first. */
    public List<Cidr> ranges() {
        return java.util.stream.Stream.concat(v4Range.stream(), v6Prefix.stream()).toList();
    }
}
