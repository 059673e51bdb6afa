package dev.patchcord.e2e.conformance;

import dev.patchcord.e2e.LabExtension;
import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;

import static dev.patchcord.e2e.conformance.Topology.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conformance: peers and their keys. Roaming, the allowed-IPs source filter, a new private key,
 * a peer removed and added again, a peer's restart, a peer behind NAT kept reachable by
 * persistent keepalives, and what the transfer counters count. See docs/conformance.md.
 */
@ExtendWith(LabExtension.class)
class PeersIT {
    /**
     * Each side moves to another listen port in turn; the other learns the new port from the
     * first authenticated packet and its replies follow.
     */
    @Test
    void roamingFollowsAChangedSourcePort(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        t.wg2.set("listen-port", "10102");
        t.assertPings(t.peer2, IN1_V4, 56, 2);
        assertThat(t.wg1.endpoint(t.keys2.publicKey())).isEqualTo(P2_V4 + ":10102");
        t.assertPings(t.peer1, IN2_V4, 56, 2);
        t.wg1.set("listen-port", "10101");
        t.assertPings(t.peer1, IN2_V4, 56, 2);
        assertThat(t.wg2.endpoint(t.keys1.publicKey())).isEqualTo(P1_V4 + ":10101");
        t.assertPings(t.peer2, IN1_V4, 56, 2);
        t.assertPings(t.peer2, IN1_V6, 56, 2);
    }

    /**
     * peer1 sends from a tunnel address peer2 does not allow it: the packets arrive and
     * authenticate, but none reaches peer2's interface. Allowing the address lets the same
     * pings through, which shows they were dropped by the filter and nothing else.
     */
    @Test
    void allowedIpsDropASpoofedInnerSource(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        lab.addAddress(t.peer1, t.wg1.name, "10.77.0.99/32");
        lab.addAddress(t.peer1, t.wg1.name, "fd00:77::99/128");
        long delivered = t.wg2.linkCounter("rx_packets");
        long sent = t.wg1.transfer(t.keys2.publicKey())[1];
        for (String[] ping : new String[][]{{"10.77.0.99", IN2_V4}, {"fd00:77::99", IN2_V6}}) {
            Lab.Result r = lab.run(t.peer1, Duration.ofSeconds(15), "ping", "-c", "3", "-i", "0.1", "-W", "1",
                    "-I", ping[0], ping[1]);
            assertThat(r.code()).as("a spoofed ping is not answered:\n" + r.output()).isNotZero();
        }
        assertThat(t.wg1.transfer(t.keys2.publicKey())[1] - sent).as("peer1 sent the spoofed pings").isGreaterThanOrEqualTo(6 * 128);
        assertThat(t.wg2.linkCounter("rx_packets") - delivered).as("spoofed packets delivered to peer2's interface").isZero();
        t.wg2.set("peer", t.keys1.publicKey(), "allowed-ips", IN1_V4 + "/32,10.77.0.99/32," + IN1_V6 + "/128,fd00:77::99/128");
        for (String[] ping : new String[][]{{"10.77.0.99", IN2_V4}, {"fd00:77::99", IN2_V6}}) {
            Lab.Result r = lab.run(t.peer1, Duration.ofSeconds(15), "ping", "-c", "3", "-i", "0.1", "-W", "1",
                    "-I", ping[0], ping[1]);
            assertThat(r.code()).as("allowed now:\n" + r.output()).isZero();
        }
    }

    /**
     * peer1 takes a new private key a moment after a handshake; peer2 is told its new public key.
     * The next packet makes a handshake at once: a key change forgets the sessions and with them the
     * one-initiation-per-REKEY_TIMEOUT (5 s) limit, as the kernel does.
     */
    @Test
    void aNewPrivateKeyHandshakesAtOnce(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        Keys fresh = t.keys(t.peer1);
        t.wg2.set("peer", t.keys1.publicKey(), "remove");
        t.wg2.set("peer", fresh.publicKey(), "allowed-ips", IN1_V4 + "/32," + IN1_V6 + "/128",
                "endpoint", P1_V4 + ":" + PORT1);
        t.wg1.set("private-key", t.wg1.keyFile(fresh.privateKey()).toString());
        assertThat(t.wg1.show("public-key")).isEqualTo(fresh.publicKey());
        long start = System.nanoTime();
        Lab.Result r = lab.run(t.peer1, Duration.ofSeconds(10), "ping", "-c", "1", "-W", "3", IN2_V4);
        double seconds = (System.nanoTime() - start) / 1e9;
        Figures.record("first ping after a private-key change (≈ 3000: no answer)", Math.round(seconds * 1000), "ms");
        assertThat(r.code()).as("first ping after the key change, answered within 3 s:\n" + r.output()).isZero();
        assertThat(t.wg2.latestHandshake(fresh.publicKey())).as("handshake with the new key").isPositive();
    }

    /** A removed peer is gone (no traffic); added again with the same settings it makes a handshake and carries traffic. */
    @Test
    void aRemovedPeerCanBeAddedAgain(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        t.wg1.set("peer", t.keys2.publicKey(), "remove");
        assertThat(t.wg1.show("peers")).isEmpty();
        Lab.Result r = lab.run(t.peer1, Duration.ofSeconds(10), "ping", "-c", "2", "-i", "0.2", "-W", "1", IN2_V4);
        assertThat(r.code()).as("no peer, no answer:\n" + r.output()).isNotZero();
        t.wg1.set("peer", t.keys2.publicKey(), "allowed-ips", IN2_V4 + "/32," + IN2_V6 + "/128",
                "endpoint", P2_V4 + ":" + PORT2);
        t.reach(t.peer1, IN2_V4);
        t.reach(t.peer1, IN2_V6);
        assertThat(t.wg1.latestHandshake(t.keys2.publicKey())).isPositive();
        assertThat(t.wg1.transfer(t.keys2.publicKey())[0]).as("counters start again from zero, then count").isPositive();
    }

    /**
     * peer2's process stops (SIGTERM) and a new one starts with the same key and settings: its
     * first packet makes a handshake with peer1, which still holds the old session, and traffic flows
     * both ways again.
     */
    @Test
    void aRestartedPeerIsReachedAgain(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        t.restartPeer2();
        t.reach(t.peer2, IN1_V4);
        t.assertPings(t.peer1, IN2_V4, 56, 3);
        t.assertPings(t.peer1, IN2_V6, 56, 3);
    }

    /**
     * peer1 is behind a NAT (nftables masquerade in the router, which also drops anything new
     * from peer2's side) and sends persistent keepalives every second; peer2 has no endpoint for
     * it. The keepalives alone make the handshake and keep the NAT mapping open though the
     * router forgets idle UDP mappings after 3 s, so peer2 reaches peer1 through the NAT after
     * several idle seconds.
     */
    @Test
    void persistentKeepaliveKeepsAPeerBehindNatReachable(Lab lab) {
        Topology t = Topology.create(lab);
        t.nft(t.router, """
                table ip nat {
                  chain postrouting {
                    type nat hook postrouting priority srcnat; policy accept;
                    oifname "%1$s" masquerade
                  }
                }
                table inet filter {
                  chain forward {
                    type filter hook forward priority 0; policy accept;
                    iifname "%1$s" ct state new drop
                  }
                }
                """.formatted(t.vethR2));
        lab.sh(t.router, "sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=3",
                "net.netfilter.nf_conntrack_udp_timeout_stream=3");
        t.startTunnel(Underlay.V4, false);
        assertThat(t.wg2.endpoint(t.keys1.publicKey())).isEqualTo("(none)");
        t.wg1.set("peer", t.keys2.publicKey(), "persistent-keepalive", "1");
        assertThat(Lab.await(Duration.ofSeconds(20), () -> t.wg2.latestHandshake(t.keys1.publicKey()) > 0))
                .as("keepalives alone made a handshake").isTrue();
        assertThat(t.wg2.endpoint(t.keys1.publicKey())).as("peer2 sees peer1 behind the router's address")
                .startsWith(R2_V4 + ":");
        long rx = t.wg2.transfer(t.keys1.publicKey())[0];
        // Idle but for keepalives, for longer than the router keeps an unused mapping.
        assertThat(Lab.await(Duration.ofSeconds(20), () -> t.wg2.transfer(t.keys1.publicKey())[0] >= rx + 5 * 32))
                .as("five more keepalives arrived").isTrue();
        t.assertPings(t.peer2, IN1_V4, 56, 3);
        t.assertPings(t.peer2, IN1_V6, 56, 3);
        assertThat(t.wg1.perPeer("persistent-keepalive")).containsEntry(t.keys2.publicKey(), "1");
    }

    /**
     * The transfer counters count every message on the wire, handshake messages included. Data
     * messages here are multiples of 32 bytes (16 bytes of header and tag around a 96-byte padded
     * ping), so after one handshake the initiator's tx is 148 (the initiation) and its rx 92 (the
     * response) more than a multiple of 32; the responder's are the mirror image. Counters that
     * leave the handshake out are multiples of 32.
     */
    @Test
    void transferCountersIncludeHandshakeMessages(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        t.assertPings(t.peer1, IN2_V4, 56, 10);
        long[] initiator = t.wg1.transfer(t.keys2.publicKey());
        long[] responder = t.wg2.transfer(t.keys1.publicKey());
        Figures.record("initiator rx after the pings", initiator[0], "bytes");
        Figures.record("initiator tx after the pings", initiator[1], "bytes");
        assertThat(t.wg1.latestHandshake(t.keys2.publicKey())).isPositive();
        assertThat(initiator[1] % 32).as("initiator tx %s: a 148-byte initiation counted", initiator[1]).isEqualTo(148 % 32);
        assertThat(initiator[0] % 32).as("initiator rx %s: a 92-byte response counted", initiator[0]).isEqualTo(92 % 32);
        assertThat(responder[0] % 32).as("responder rx %s", responder[0]).isEqualTo(148 % 32);
        assertThat(responder[1] % 32).as("responder tx %s", responder[1]).isEqualTo(92 % 32);
        assertThat(initiator[1]).isEqualTo(responder[0]);
        assertThat(initiator[0]).isEqualTo(responder[1]);
    }
}
