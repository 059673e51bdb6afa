package dev.patchcord.e2e.conformance;

import dev.patchcord.e2e.LabExtension;
import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;

import static dev.patchcord.e2e.conformance.Topology.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conformance: the tunnel and the host's routing. Policy routing with fwmark, which source
 * address the encrypted packets leave from, a route that loops the tunnel into itself, and the
 * ICMP error for a destination no peer covers. See docs/conformance.md.
 */
@ExtendWith(LabExtension.class)
class RoutingIT {
    private static final String MARK = "0xca6c";

    /**
     * Everything of peer1's goes into the tunnel (a default route in a table of its own, as
     * wg-quick sets it up) except the tunnel's own packets, which carry the fwmark and so skip
     * that table. Pings to peer2's underlay addresses then travel inside the tunnel.
     */
    @Test
    void fwmarkKeepsTheTunnelsOwnPacketsOutOfTheTunnel(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.wg1.set("fwmark", MARK, "peer", t.keys2.publicKey(), "allowed-ips", "0.0.0.0/0,::/0");
        assertThat(t.wg1.show("fwmark")).isEqualTo(MARK);
        for (String family : new String[]{"-4", "-6"}) {
            lab.ip(t.peer1, family, "route", "add", "default", "dev", t.wg1.name, "table", "51820");
            lab.ip(t.peer1, family, "rule", "add", "table", "main", "suppress_prefixlength", "0", "pref", "100");
            lab.ip(t.peer1, family, "rule", "add", "not", "fwmark", MARK, "table", "51820", "pref", "101");
        }
        t.reach(t.peer1, IN2_V4);
        long tx = t.wg1.transfer(t.keys2.publicKey())[1];
        t.assertPings(t.peer1, P2_V4, 56, 3);
        t.assertPings(t.peer1, P2_V6, 56, 3);
        assertThat(t.wg1.transfer(t.keys2.publicKey())[1] - tx).as("the pings went through the tunnel")
                .isGreaterThanOrEqualTo(6 * 128);
    }

    /**
     * Replies leave from the address the peer contacted: a second address on the same
     * interface (IPv4 and IPv6, where routing would pick the first), and an address on another
     * interface (loopback). Had a reply come from elsewhere, peer1 would have roamed to that address.
     */
    @Test
    void sourceAddressIsSticky(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        lab.addAddress(t.peer2, t.veth2, "198.18.2.2/24");
        lab.addAddress(t.peer2, t.veth2, "fd00:c2::2/64");
        lab.ip(t.peer2, "-6", "route", "add", "fd00:c1::/64", "via", R2_V6, "src", P2_V6);
        lab.addAddress(t.peer2, "lo", "198.18.9.1/32");
        lab.ip(t.router, "route", "add", "198.18.9.1/32", "via", P2_V4);
        for (String contacted : new String[]{"198.18.2.2", "[fd00:c2::2]", "198.18.9.1"}) {
            String endpoint = contacted + ":" + PORT2;
            t.wg1.set("peer", t.keys2.publicKey(), "endpoint", endpoint);
            t.reach(t.peer1, IN2_V4);
            t.assertPings(t.peer2, IN1_V4, 56, 2);
            assertThat(t.wg1.endpoint(t.keys2.publicKey())).as("peer2's replies come from the address peer1 sent to")
                    .isEqualTo(endpoint);
        }
    }

    /**
     * The address replies were sticking to disappears: peer2's next packet leaves from the
     * address that is left, at once, and peer1 follows it there.
     */
    @Test
    void sourceAddressFallsOverWhenItIsRemoved(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        lab.addAddress(t.peer2, t.veth2, "198.18.2.2/24");
        t.wg1.set("peer", t.keys2.publicKey(), "endpoint", "198.18.2.2:" + PORT2);
        t.reach(t.peer1, IN2_V4);
        lab.ip(t.peer2, "addr", "del", "198.18.2.2/24", "dev", t.veth2);
        Lab.Result first = t.ping(t.peer2, IN1_V4, 56);
        t.reach(t.peer2, IN1_V4);
        assertThat(t.wg1.endpoint(t.keys2.publicKey())).isEqualTo(P2_V4 + ":" + PORT2);
        t.assertPings(t.peer1, IN2_V4, 56, 3);
        assertThat(first.code()).as("it fell over, but did the first packet after the address went get through?\n"
                + first.output()).isZero();
    }

    /**
     * Before any packet fixes it, the source address is the one routing prefers: the route's
     * {@code src}, for both families.
     */
    @Test
    void sourceAddressFollowsThePreferredRoute(Lab lab) {
        Topology t = Topology.create(lab);
        lab.addAddress(t.peer1, t.veth1, "198.18.1.3/24");
        lab.addAddress(t.peer1, t.veth1, "fd00:c1::3/64");
        lab.ip(t.peer1, "route", "replace", "default", "via", R1_V4, "src", "198.18.1.3");
        lab.ip(t.peer1, "-6", "route", "replace", "default", "via", R1_V6, "src", "fd00:c1::3");
        t.startTunnel(Underlay.V4, false);
        t.reach(t.peer1, IN2_V4);
        assertThat(t.wg2.endpoint(t.keys1.publicKey())).isEqualTo("198.18.1.3:" + PORT1);
        t.wg1.set("peer", t.keys2.publicKey(), "endpoint", "[" + P2_V6 + "]:" + PORT2);
        // Moving to the other family is not what this scenario is about: a packet lost on the
        // way does not count, the address peer2 sees does.
        String v6 = "[fd00:c1::3]:" + PORT1;
        Lab.await(Duration.ofSeconds(10), () -> t.ping(t.peer1, IN2_V4, 56).code() == 0
                && v6.equals(t.wg2.endpoint(t.keys1.publicKey())));
        assertThat(t.wg2.endpoint(t.keys1.publicKey())).isEqualTo(v6);
    }

    /**
     * A route sends peer2's endpoint into the tunnel, and peer2's allowed IPs cover it, so each
     * encrypted packet comes back to be encrypted again. The kernel refuses to send a tunnel
     * packet into its own interface; the bytes that enter the loop during 10 pings must stay
     * under 100 kB, and the interface must still answer and work once the route is gone.
     */
    @Test
    void aRoutingLoopIsBounded(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        t.wg1.set("peer", t.keys2.publicKey(), "allowed-ips", IN2_V4 + "/32," + IN2_V6 + "/128," + P2_V4 + "/32");
        long before = t.wg1.linkCounter("tx_bytes");
        long intoLoop;
        lab.ip(t.peer1, "route", "add", P2_V4 + "/32", "dev", t.wg1.name);
        try {
            lab.run(t.peer1, Duration.ofSeconds(20), "ping", "-c", "10", "-i", "0.2", "-W", "1", IN2_V4);
            intoLoop = t.wg1.linkCounter("tx_bytes") - before - 10 * 84;
        } finally {
            lab.ip(t.peer1, "route", "del", P2_V4 + "/32", "dev", t.wg1.name);
        }
        Figures.record("bytes into the routing loop for 10 pings", intoLoop, "bytes");
        long start = System.nanoTime();
        Lab.Result show = t.wg1.tryWg("show", t.wg1.name);
        assertThat(show.code()).as("wg show after the loop: " + show.output()).isZero();
        assertThat((System.nanoTime() - start) / 1e9).as("seconds wg show took").isLessThan(5);
        assertThat(t.wg1.process().isAlive()).isTrue();
        assertThat(intoLoop).as("bytes sent into the loop").isLessThan(100_000);
        t.reach(t.peer1, IN2_V4);
    }

    /**
     * A packet for a tunnel address no peer's allowed IPs cover is answered at once with ICMP
     * "destination unreachable" (host unreachable for IPv4, address unreachable for IPv6), as
     * the kernel does, instead of being dropped silently.
     */
    @Test
    void icmpUnreachableForADestinationNoPeerCovers(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        for (String target : new String[]{"10.77.0.55", "fd00:77::55"}) {
            Lab.Result r = t.ping(t.peer1, target, 56);
            assertThat(r.code()).isNotZero();
            assertThat(r.output()).as("ping " + target + ":\n" + r.output()).containsIgnoringCase("unreachable");
        }
    }
}
