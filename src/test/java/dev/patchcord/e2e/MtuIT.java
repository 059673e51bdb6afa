package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The interface MTU changed while patchcord runs ({@code ip link set IFACE mtu N}) takes effect at
 * once, as with the kernel's WireGuard: larger packets are carried whole, and padding stops at the
 * new MTU. Two patchcord peers over a veth of MTU 1500; datagrams larger than that leave as IP
 * fragments of the underlay.
 */
@ExtendWith(LabExtension.class)
class MtuIT {
    private static final int PORT = 51820;
    private static final String A = "10.96.0.1", B = "10.96.0.2";

    private record Ends(String a, String b, String ifA, String ifB) {}

    /**
     * Starts both ends ({@code extra}: more [Interface] lines) and waits for the tunnel to carry a
     * ping. Over the IPv6 underlay when {@code v6}. TAP mode puts the addresses on the TAP itself.
     */
    private static Ends start(Lab lab, String extra, boolean v6) throws Exception {
        String[] ns = Tunnels.pair(lab);
        boolean tap = extra.contains("Mode = tap");
        String ifA = ifname(tap ? "t" : "a"), ifB = ifname(tap ? "t" : "b");
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        String endpointB = v6 ? "[" + Tunnels.B6 + "]" : Tunnels.B4;
        String endpointA = v6 ? "[" + Tunnels.A6 + "]" : Tunnels.A4;
        patchcordUp(lab, ns[1], "b", config(lab, ifB, """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                %s
                %s
                [Peer]
                PublicKey = %s
                %s
                Endpoint = %s:%d
                """.formatted(kb.privateKey(), PORT, tap ? "" : "Address = " + B + "/24", extra, ka.publicKey(),
                tap ? "" : "AllowedIPs = " + A + "/32", endpointA, PORT)), "--verbose");
        patchcordUp(lab, ns[0], "a", config(lab, ifA, """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                %s
                %s
                [Peer]
                PublicKey = %s
                %s
                Endpoint = %s:%d
                """.formatted(ka.privateKey(), PORT, tap ? "" : "Address = " + A + "/24", extra, kb.publicKey(),
                tap ? "" : "AllowedIPs = " + B + "/32", endpointB, PORT)), "--verbose");
        if (tap) {
            lab.addAddress(ns[0], ifA, A + "/24");
            lab.addAddress(ns[1], ifB, B + "/24");
        }
        Tunnels.reach(lab, ns[0], B);
        return new Ends(ns[0], ns[1], ifA, ifB);
    }

    /** Sets the interface's MTU and waits (bounded) until patchcord says it follows it. */
    private static void setMtu(Lab lab, String ns, String name, String ifname, int mtu) {
        lab.ip(ns, "link", "set", ifname, "mtu", String.valueOf(mtu));
        boolean seen = Lab.await(Duration.ofSeconds(10), () -> lab.log(name).contains("MTU is now " + mtu));
        assertThat(seen).as(name + " follows MTU " + mtu + "; log:\n" + lab.log(name)).isTrue();
    }

    /** Pings with {@code size} bytes of ICMP data, never fragmented at the source. */
    private static void bigPing(Lab lab, String ns, String target, int size) {
        Lab.Result r = lab.run(ns, Duration.ofSeconds(30), "ping", "-c", "3", "-i", "0.3", "-W", "3", "-M", "do",
                "-s", String.valueOf(size), target);
        assertThat(r.code()).as("ping -s " + size + " " + target + " from " + ns + ":\n" + r.output()).isZero();
    }

    /**
     * Stops both ends; asserts that neither dropped a packet for its size. (No-route drops are not
     * checked: the kernel's own multicast on the interface, such as group reports, has no peer.)
     */
    private static void stopClean(Lab lab) {
        for (String name : new String[]{"a", "b"}) {
            String line = Tunnels.stop(lab, name);
            for (String reason : new String[]{"unsplittable", "oversize"}) {
                assertThat(Tunnels.dropped(line, reason)).as(name + " " + reason + ": " + line).isZero();
            }
        }
    }

    private void jumboPingAfterRaising(Lab lab, boolean v6) throws Exception {
        Ends e = start(lab, "", v6);
        setMtu(lab, e.a(), "a", e.ifA(), 34736);
        setMtu(lab, e.b(), "b", e.ifB(), 34736);
        bigPing(lab, e.a(), B, 34736 - 28);
        stopClean(lab);
    }

    @Test
    void aJumboMtuSetAtRunTimeCarriesJumboPingsOverIpv4(Lab lab) throws Exception {
        jumboPingAfterRaising(lab, false);
    }

    @Test
    void aJumboMtuSetAtRunTimeCarriesJumboPingsOverIpv6(Lab lab) throws Exception {
        jumboPingAfterRaising(lab, true);
    }

    @Test
    void raisingTheMtuTo1500AtRunTimeKeepsTcpFlowing(Lab lab) throws Exception {
        Ends e = start(lab, "", false);
        setMtu(lab, e.a(), "a", e.ifA(), 1500);
        setMtu(lab, e.b(), "b", e.ifB(), 1500);
        // A new connection, so its segments are 1500 bytes in both directions.
        Tunnels.transfer(lab, e.a(), e.b(), B, 20_000_000, Duration.ofSeconds(60));
        Tunnels.transfer(lab, e.b(), e.a(), A, 20_000_000, Duration.ofSeconds(60));
        bigPing(lab, e.a(), B, 1500 - 28);
        stopClean(lab);
    }

    @Test
    void aTapMtuRaisedAtRunTimeCarriesLargerFrames(Lab lab) throws Exception {
        Ends e = start(lab, "Mode = tap", false);
        setMtu(lab, e.a(), "a", e.ifA(), 9000);
        setMtu(lab, e.b(), "b", e.ifB(), 9000);
        bigPing(lab, e.a(), B, 9000 - 28);
        stopClean(lab);
    }

    /**
     * Counts, at {@code ns}'s output, the WireGuard datagrams to the peer's port by IP length: exactly
     * {@code size} bytes, and longer.
     */
    private static void countOuterSizes(Lab lab, String ns, int size) {
        nft(lab, ns, "add table inet mtutest");
        nft(lab, ns, "add chain inet mtutest out { type filter hook output priority 0 ; }");
        nft(lab, ns, "add rule inet mtutest out udp dport " + PORT + " meta length " + size + " counter");
        nft(lab, ns, "add rule inet mtutest out udp dport " + PORT + " meta length > " + size + " counter");
    }

    /** The packet counts of the two rules {@link #countOuterSizes} added: {exactly, longer}. */
    private static long[] outerSizes(Lab lab, String ns) {
        String out = lab.sh(ns, "nft", "list", "chain", "inet", "mtutest", "out");
        Matcher m = Pattern.compile("meta length (>\\s*)?\\d+ counter packets (\\d+)").matcher(out);
        long[] counts = new long[2];
        while (m.find()) {
            counts[m.group(1) == null ? 0 : 1] = Long.parseLong(m.group(2));
        }
        return counts;
    }

    private static void nft(Lab lab, String ns, String rule) {
        lab.sh(ns, "sh", "-c", "nft '" + rule + "'");
    }

    /**
     * A packet of exactly the MTU is padded to the MTU and no further: 1300 bytes make a 1360-byte
     * datagram (32 bytes of WireGuard, 8 of UDP, 20 of IPv4), not the 1372 that padding to a
     * multiple of 16 would give.
     */
    private static void mtuSizedPacketsLeaveAt1360(Lab lab, Ends e) {
        countOuterSizes(lab, e.a(), 1360);
        bigPing(lab, e.a(), B, 1300 - 28);
        long[] sizes = outerSizes(lab, e.a());
        assertThat(sizes[0]).as("datagrams of 1360 bytes").isGreaterThanOrEqualTo(3);
        assertThat(sizes[1]).as("datagrams over 1360 bytes").isZero();
    }

    @Test
    void loweringTheMtuAtRunTimePadsToTheNewMtu(Lab lab) throws Exception {
        Ends e = start(lab, "", false);
        setMtu(lab, e.a(), "a", e.ifA(), 1300);
        setMtu(lab, e.b(), "b", e.ifB(), 1300);
        mtuSizedPacketsLeaveAt1360(lab, e);
        stopClean(lab);
    }

    /** The reference for the test above: the same MTU from the configuration file. */
    @Test
    void anMtuOf1300FromTheFilePadsTheSame(Lab lab) throws Exception {
        Ends e = start(lab, "MTU = 1300", false);
        mtuSizedPacketsLeaveAt1360(lab, e);
        stopClean(lab);
    }
}
