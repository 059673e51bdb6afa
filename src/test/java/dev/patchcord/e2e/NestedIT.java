package dev.patchcord.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.UncheckedIOException;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * WireGuard inside WireGuard: an inner patchcord tunnel (MTU 1340) whose datagrams travel through
 * an outer patchcord tunnel. A TCP transfer through the inner tunnel arrives intact; and the outer
 * tunnel hands the inner tunnel's datagrams (one flow, all one size) to its interface as UDP
 * super-datagrams, several per write, unless offloads are off (bin/test runs this class again
 * with PATCHCORD_OFFLOADS=none), when each is a write of its own.
 */
@ExtendWith(LabExtension.class)
class NestedIT {
    @Test
    void aTunnelInsideATunnelCarriesTcpIntact(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        KeyPair a1 = keys(lab, ns[0]), b1 = keys(lab, ns[1]), a2 = keys(lab, ns[0]), b2 = keys(lab, ns[1]);
        String outA = ifname("oa"), outB = ifname("ob"), inA = ifname("ia"), inB = ifname("ib");
        patchcordUp(lab, ns[0], "outer-a", config(lab, outA, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51001
                Address = 10.61.0.1/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.61.0.2/32
                Endpoint = %s:51001
                """.formatted(a1.privateKey(), b1.publicKey(), B4)));
        patchcordUp(lab, ns[1], "outer-b", config(lab, outB, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51001
                Address = 10.61.0.2/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.61.0.1/32
                Endpoint = %s:51001
                """.formatted(b1.privateKey(), a1.publicKey(), A4)));
        patchcordUp(lab, ns[0], "inner-a", config(lab, inA, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51002
                Address = 10.62.0.1/24
                MTU = 1340
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.62.0.2/32
                Endpoint = 10.61.0.2:51002
                """.formatted(a2.privateKey(), b2.publicKey())));
        patchcordUp(lab, ns[1], "inner-b", config(lab, inB, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51002
                Address = 10.62.0.2/24
                MTU = 1340
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.62.0.1/32
                Endpoint = 10.61.0.1:51002
                """.formatted(b2.privateKey(), a2.publicKey())));
        Tunnels.reach(lab, ns[0], "10.61.0.2");
        Tunnels.reach(lab, ns[0], "10.62.0.2");
        boolean offloads = !"none".equals(System.getenv("PATCHCORD_OFFLOADS"));
        assertThat(lab.log("outer-b")).contains(offloads ? "coalescing" : "one packet per system call");

        long writesBefore = tunRxPackets(lab, ns[1], outB);
        Tunnels.transfer(lab, ns[0], ns[1], "10.62.0.2", 60_000_000);
        long writes = tunRxPackets(lab, ns[1], outB) - writesBefore;
        // Whatever the batches were like, the transfer took at least this many inner datagrams.
        long datagrams = 60_000_000 / 1340;
        System.out.printf("NestedIT: %d writes to the outer interface for at least %d inner datagrams%n",
                writes, datagrams);
        if (offloads) {
            assertThat(writes).as("the inner tunnel's datagrams reach the outer interface merged")
                    .isLessThan(datagrams / 2);
        } else {
            assertThat(writes).as("without offloads one write per datagram").isGreaterThanOrEqualTo(datagrams);
        }
        Tunnels.ping(lab, ns[1], "10.62.0.1");
        for (String name : new String[] {"inner-a", "inner-b", "outer-a", "outer-b"}) {
            Tunnels.stop(lab, name);
        }
    }

    /** The packets the kernel counts as received on a TUN interface: one per write to it. */
    private static long tunRxPackets(Lab lab, String ns, String ifname) {
        try {
            JsonNode stats = new ObjectMapper().readTree(lab.sh(ns, "ip", "-s", "-j", "link", "show", "dev", ifname))
                    .get(0).get("stats64");
            return stats.get("rx").get("packets").asLong();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
