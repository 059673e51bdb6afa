package dev.patchcord.e2e.conformance;

import dev.patchcord.e2e.LabExtension;
import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.conformance.Topology.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conformance: what the tunnel carries. Packets of every size over both underlay families,
 * jumbo MTUs set at run time, padding bounded by the current MTU, TCP and UDP throughput, a
 * tunnel inside the tunnel. See docs/conformance.md.
 */
@ExtendWith(LabExtension.class)
class PacketsIT {
    /**
     * ICMP payload sizes: tiny ones around the 16-byte padding boundary, the largest that fit
     * MTU 1420 in IPv6 (1372) and IPv4 (1392) and one byte more, and sizes the kernel must
     * fragment before they enter the tunnel, up to a 65000-byte datagram.
     */
    private static final List<Integer> SIZES = List.of(0, 1, 15, 16, 17, 56, 100, 500, 1000, 1371, 1372, 1373, 1392,
            1393, 1500, 4000, 9000, 20000, 65000);

    @Test
    void pingsOfManySizesOverAnIpv4Underlay(Lab lab) {
        pingsOfManySizes(Topology.start(lab, Underlay.V4), P2_V4);
    }

    @Test
    void pingsOfManySizesOverAnIpv6Underlay(Lab lab) {
        pingsOfManySizes(Topology.start(lab, Underlay.V6), "[" + P2_V6 + "]");
    }

    private static void pingsOfManySizes(Topology t, String outerAddress) {
        t.reach(t.peer1, IN2_V4);
        assertThat(t.wg1.endpoint(t.keys2.publicKey())).isEqualTo(outerAddress + ":" + PORT2);
        for (int size : SIZES) {
            t.assertPings(t.peer1, IN2_V4, size, 2);
            t.assertPings(t.peer1, IN2_V6, size, 2);
            t.assertPings(t.peer2, IN1_V4, size, 1);
            t.assertPings(t.peer2, IN1_V6, size, 1);
        }
    }

    @Test
    void jumboMtusSetAtRunTimeOverAnIpv4Underlay(Lab lab) {
        jumboMtus(Topology.start(lab, Underlay.V4));
    }

    @Test
    void jumboMtusSetAtRunTimeOverAnIpv6Underlay(Lab lab) {
        jumboMtus(Topology.start(lab, Underlay.V6));
    }

    /**
     * The interface MTU is raised with {@code ip link} while the tunnel runs; a packet of exactly
     * the new MTU crosses in one piece (the encrypted datagram is fragmented on the 1500-byte
     * underlay instead), in both directions and both inner families.
     */
    private static void jumboMtus(Topology t) {
        t.reach(t.peer1, IN2_V4);
        for (int mtu : List.of(1500, 9000, 34736, 65000)) {
            for (WgInterface wg : List.of(t.wg1, t.wg2)) {
                t.lab.ip(wg.ns, "link", "set", wg.name, "mtu", String.valueOf(mtu));
            }
            t.assertPings(t.peer1, IN2_V4, mtu - 28, 2);
            t.assertPings(t.peer1, IN2_V6, mtu - 48, 2);
            t.assertPings(t.peer2, IN1_V4, mtu - 28 - 17, 1);
            t.assertPings(t.peer2, IN1_V6, mtu - 48, 1);
        }
    }

    /**
     * Padding rounds the plaintext up to a multiple of 16 but never past the interface's MTU as
     * it is now. Counted on the router by outer IPv4 length: a 29-byte ping becomes 32 bytes of
     * plaintext (92 on the wire: 20 IP + 8 UDP + 16 header + 32 + 16 tag); after the MTU is
     * lowered to 1300 at run time a 1300-byte packet stays 1300 (1360 on the wire), where
     * padding to 16 under the old MTU would give 1312 (1372).
     */
    @Test
    void paddingStopsAtTheCurrentMtu(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.nft(t.router, """
                table inet padding {
                  chain forward {
                    type filter hook forward priority 0; policy accept;
                    udp dport %1$d ip length 92 counter
                    udp dport %1$d ip length 1360 counter
                    udp dport %1$d ip length > 1360 counter
                  }
                }
                """.formatted(PORT2));
        t.reach(t.peer1, IN2_V4);
        t.assertPings(t.peer1, IN2_V4, 1, 3);
        assertThat(counters(t)[0]).as("92-byte datagrams for 29-byte pings").isGreaterThanOrEqualTo(3);
        for (WgInterface wg : List.of(t.wg1, t.wg2)) {
            t.lab.ip(wg.ns, "link", "set", wg.name, "mtu", "1300");
        }
        t.assertPings(t.peer1, IN2_V4, 1300 - 28, 3);
        long[] c = counters(t);
        assertThat(c[1]).as("1360-byte datagrams for 1300-byte packets at MTU 1300").isGreaterThanOrEqualTo(3);
        assertThat(c[2]).as("datagrams over 1360 bytes (padded past the MTU)").isZero();
    }

    /** The packet counts of the router's padding rules, in rule order. */
    private static long[] counters(Topology t) {
        String listing = t.lab.sh(t.router, "nft", "list", "chain", "inet", "padding", "forward");
        Matcher m = Pattern.compile("counter packets (\\d+)").matcher(listing);
        long[] c = new long[3];
        for (int i = 0; i < c.length; i++) {
            assertThat(m.find()).as(listing).isTrue();
            c[i] = Long.parseLong(m.group(1));
        }
        return c;
    }

    @Test
    void tcpAndUdpThroughIperf3(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        Iperf.Run tcp4 = Iperf.run(lab, t.peer2, IN2_V4, t.peer1, 3);
        Iperf.Run tcp6 = Iperf.run(lab, t.peer2, IN2_V6, t.peer1, 3, "-R");
        Iperf.Run udp4 = Iperf.run(lab, t.peer2, IN2_V4, t.peer1, 3, "-u", "-b", "20M");
        Iperf.Run udp6 = Iperf.run(lab, t.peer2, IN2_V6, t.peer1, 3, "-u", "-b", "20M", "-R");
        Figures.record("TCP over IPv4, peer1 to peer2", tcp4.mbitPerSecond(), "Mbit/s");
        Figures.record("TCP over IPv6, peer2 to peer1", tcp6.mbitPerSecond(), "Mbit/s");
        Figures.record("UDP 20 Mbit/s over IPv4, lost", udp4.lostPercent(), "%");
        Figures.record("UDP 20 Mbit/s over IPv6, lost", udp6.lostPercent(), "%");
        assertThat(tcp4.bytes()).as("TCP IPv4 bytes received").isGreaterThan(1_000_000);
        assertThat(tcp6.bytes()).as("TCP IPv6 bytes received").isGreaterThan(1_000_000);
        assertThat(udp4.lostPercent()).as("UDP IPv4 loss").isLessThan(20);
        assertThat(udp6.lostPercent()).as("UDP IPv6 loss").isLessThan(20);
        assertThat(udp4.bytes()).as("UDP IPv4 bytes").isGreaterThan(1_000_000);
        assertThat(udp6.bytes()).as("UDP IPv6 bytes").isGreaterThan(1_000_000);
    }

    /** TCP keeps flowing after the MTU is raised, and again after it is lowered, with {@code ip link} while the tunnel runs. */
    @Test
    void tcpFlowsAfterTheMtuChangesAtRunTime(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        for (int mtu : List.of(1500, 1280)) {
            for (WgInterface wg : List.of(t.wg1, t.wg2)) {
                t.lab.ip(wg.ns, "link", "set", wg.name, "mtu", String.valueOf(mtu));
            }
            Iperf.Run run = Iperf.run(lab, t.peer2, IN2_V4, t.peer1, 2);
            Figures.record("TCP at run-time MTU " + mtu, run.mbitPerSecond(), "Mbit/s");
            assertThat(run.bytes()).as("TCP bytes received at MTU " + mtu).isGreaterThan(1_000_000);
        }
    }

    /**
     * wg inside wg: a second pair of interfaces whose endpoints are the first tunnel's
     * addresses, so every packet is encrypted twice. Inner MTU 1340 (1420 − 80). Reports the
     * TCP throughput through the nested tunnel twice: for the first 3 s after the tunnels came
     * up, and for the 10 s right after. Four processes share the machine; a JVM spends its first
     * seconds compiling its packet path, so the first figure shows that warm-up and the second
     * the tunnels' throughput.
     */
    @Test
    void wgInsideWg(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        String base = t.wg1.name.substring(0, t.wg1.name.length() - 1);
        WgInterface in1 = WgInterface.create(lab, t.impl, t.peer1, base + "c", "wg-inner1");
        WgInterface in2 = WgInterface.create(lab, t.impl, t.peer2, base + "d", "wg-inner2");
        Keys k1 = t.keys(t.peer1), k2 = t.keys(t.peer2);
        in1.set("private-key", in1.keyFile(k1.privateKey()).toString(), "listen-port", "20001",
                "peer", k2.publicKey(), "allowed-ips", "10.78.0.2/32", "endpoint", IN2_V4 + ":20002");
        in2.set("private-key", in2.keyFile(k2.privateKey()).toString(), "listen-port", "20002",
                "peer", k1.publicKey(), "allowed-ips", "10.78.0.1/32", "endpoint", IN1_V4 + ":20001");
        for (WgInterface wg : List.of(in1, in2)) {
            lab.ip(wg.ns, "link", "set", wg.name, "mtu", "1340");
            lab.addAddress(wg.ns, wg.name, (wg == in1 ? "10.78.0.1" : "10.78.0.2") + "/24");
        }
        t.reach(t.peer1, "10.78.0.2");
        t.assertPings(t.peer2, "10.78.0.1", 1312, 2);
        long outerBefore = t.wg1.transfer(t.keys2.publicKey())[1];
        Iperf.Run run = Iperf.run(lab, t.peer2, "10.78.0.2", t.peer1, 3);
        Figures.record("TCP through wg inside wg, first 3 s", run.mbitPerSecond(), "Mbit/s");
        assertThat(run.bytes()).as("TCP bytes through the nested tunnel").isGreaterThan(1_000_000);
        assertThat(t.wg1.transfer(t.keys2.publicKey())[1] - outerBefore).as("carried by the outer tunnel")
                .isGreaterThan(run.bytes());
        Iperf.Run again = Iperf.run(lab, t.peer2, "10.78.0.2", t.peer1, 10);
        Figures.record("TCP through wg inside wg, next 10 s", again.mbitPerSecond(), "Mbit/s");
        assertThat(again.bytes()).as("TCP bytes through the nested tunnel, second run").isGreaterThan(1_000_000);
    }
}
