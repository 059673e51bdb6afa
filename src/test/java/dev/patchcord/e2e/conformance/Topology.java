package dev.patchcord.e2e.conformance;

import dev.patchcord.lab.Lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The conformance suite's network: two peers whose underlay runs through a router, each peer
 * running one interface of the implementation under test.
 *
 * <pre>
 *   peer1 198.18.1.1 fd00:c1::1 ── .254 ::fe router .254 ::fe ── 198.18.2.1 fd00:c2::1 peer2
 *   wg 10.77.0.1 fd00:77::1  port 10001          port 10002  wg 10.77.0.2 fd00:77::2
 * </pre>
 *
 * Each peer allows the other's tunnel addresses (/32 and /128) and knows its endpoint in the
 * chosen underlay family; the tunnel prefixes (/24, /64) are routed into the interfaces. All
 * addresses are inside the lab: a benchmarking range (RFC 2544), unique-local IPv6 and 10.77/16.
 */
final class Topology {
    static final String P1_V4 = "198.18.1.1", R1_V4 = "198.18.1.254", R2_V4 = "198.18.2.254", P2_V4 = "198.18.2.1";
    static final String P1_V6 = "fd00:c1::1", R1_V6 = "fd00:c1::fe", R2_V6 = "fd00:c2::fe", P2_V6 = "fd00:c2::1";
    static final String IN1_V4 = "10.77.0.1", IN2_V4 = "10.77.0.2", IN1_V6 = "fd00:77::1", IN2_V6 = "fd00:77::2";
    static final int PORT1 = 10001, PORT2 = 10002;

    /** Which family the peers' endpoints (the outer, encrypted packets) use. */
    enum Underlay { V4, V6 }

    record Keys(String privateKey, String publicKey) {}

    final Lab lab;
    final Implementation impl;
    final String peer1, router, peer2;
    /** Veth ends: peer1's, the router's towards peer1, the router's towards peer2, peer2's. */
    final String veth1, vethR1, vethR2, veth2;
    Keys keys1, keys2;
    WgInterface wg1, wg2;

    private Topology(Lab lab, Implementation impl) {
        this.lab = lab;
        this.impl = impl;
        peer1 = lab.netns("peer1");
        router = lab.netns("router");
        peer2 = lab.netns("peer2");
        for (String ns : List.of(peer1, router, peer2)) {
            // No duplicate address detection, for link-local addresses either: while a router's
            // link-local address is tentative it forwards no IPv6 for a second or two.
            lab.sh(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
        }
        String[] a = lab.link(peer1, List.of(P1_V4 + "/24", P1_V6 + "/64"), router, List.of(R1_V4 + "/24", R1_V6 + "/64"));
        String[] b = lab.link(router, List.of(R2_V4 + "/24", R2_V6 + "/64"), peer2, List.of(P2_V4 + "/24", P2_V6 + "/64"));
        veth1 = a[0];
        vethR1 = a[1];
        vethR2 = b[0];
        veth2 = b[1];
        lab.sh(router, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
        lab.ip(peer1, "route", "add", "default", "via", R1_V4);
        lab.ip(peer1, "-6", "route", "add", "default", "via", R1_V6);
        lab.ip(peer2, "route", "add", "default", "via", R2_V4);
        lab.ip(peer2, "-6", "route", "add", "default", "via", R2_V6);
    }

    /** The namespaces and the router, no tunnel yet. */
    static Topology create(Lab lab) {
        Implementation impl = Implementation.selected();
        impl.assumeAvailable();
        return new Topology(lab, impl);
    }

    /** Both interfaces up, each knowing the other's endpoint in {@code underlay}. */
    static Topology start(Lab lab, Underlay underlay) {
        Topology t = create(lab);
        t.startTunnel(underlay, true);
        return t;
    }

    /**
     * Creates both interfaces and configures them. Without {@code peer2KnowsPeer1}, peer2 has no
     * endpoint for peer1 and learns it from peer1's first authenticated packet.
     */
    void startTunnel(Underlay underlay, boolean peer2KnowsPeer1) {
        keys1 = keys(peer1);
        keys2 = keys(peer2);
        String tag = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
        wg1 = WgInterface.create(lab, impl, peer1, "cf" + tag + "a", "wg-peer1");
        wg2 = WgInterface.create(lab, impl, peer2, "cf" + tag + "b", "wg-peer2");
        configure(wg1, keys1, PORT1, keys2, endpoint(underlay == Underlay.V4 ? P2_V4 : P2_V6, PORT2), IN1_V4, IN1_V6);
        configure(wg2, keys2, PORT2, keys1, peer2KnowsPeer1 ? endpoint(underlay == Underlay.V4 ? P1_V4 : P1_V6, PORT1) : null,
                IN2_V4, IN2_V6);
    }

    /** Key, port, one peer (allowed its /32 and /128), addresses and routes: the same steps for every implementation. */
    private void configure(WgInterface wg, Keys self, int port, Keys other, String endpoint, String v4, String v6) {
        String otherV4 = v4.equals(IN1_V4) ? IN2_V4 : IN1_V4;
        String otherV6 = v6.equals(IN1_V6) ? IN2_V6 : IN1_V6;
        List<String> args = new ArrayList<>(List.of("private-key", wg.keyFile(self.privateKey()).toString(),
                "listen-port", String.valueOf(port), "peer", other.publicKey(), "allowed-ips", otherV4 + "/32," + otherV6 + "/128"));
        if (endpoint != null) {
            args.addAll(List.of("endpoint", endpoint));
        }
        wg.set(args.toArray(String[]::new));
        lab.addAddress(wg.ns, wg.name, v4 + "/24");
        lab.addAddress(wg.ns, wg.name, v6 + "/64");
    }

    /** Stops peer2's process (SIGTERM) and starts and configures a new one with the same key, port and peer. */
    void restartPeer2() {
        int code = wg2.terminate(Duration.ofSeconds(15));
        assertThat(code).as("exit code of " + wg2 + "; log:\n" + lab.log(wg2.procName)).isZero();
        assertThat(Lab.await(Duration.ofSeconds(10), () -> !lab.hasInterface(peer2, wg2.name))).as(wg2 + " gone").isTrue();
        wg2 = WgInterface.create(lab, impl, peer2, wg2.name, wg2.procName);
        configure(wg2, keys2, PORT2, keys1, endpoint(P1_V4, PORT1), IN2_V4, IN2_V6);
    }

    static String endpoint(String address, int port) {
        return address.contains(":") ? "[" + address + "]:" + port : address + ":" + port;
    }

    /** A fresh key pair made by {@code wg}, so no implementation makes its own test keys. */
    Keys keys(String ns) {
        String priv = lab.sh(ns, "wg", "genkey").strip();
        return new Keys(priv, publicKey(ns, priv));
    }

    String publicKey(String ns, String privateKey) {
        Lab.Result pub = lab.run(ns, Duration.ofSeconds(10), "sh", "-c", "echo " + privateKey + " | wg pubkey");
        assertThat(pub.code()).as(pub.output()).isZero();
        return pub.output().strip();
    }

    /** One ping of {@code size} payload bytes (two tries a second apart), its result whatever it is. */
    Lab.Result ping(String ns, String target, int size) {
        return lab.run(ns, Duration.ofSeconds(15), "ping", "-c", "1", "-W", "2", "-s", String.valueOf(size), target);
    }

    /** {@code count} pings 50 ms apart must all be answered. */
    void assertPings(String ns, String target, int size, int count) {
        Lab.Result r = lab.run(ns, Duration.ofSeconds(30), "ping", "-c", String.valueOf(count), "-i", "0.05", "-W", "2",
                "-s", String.valueOf(size), target);
        assertThat(r.code()).as("ping -s " + size + " " + target + " from " + ns + ":\n" + r.output()).isZero();
        assertThat(r.output()).as(r.output()).contains(count + " received");
    }

    /**
     * Waits (bounded) for one answered ping, then asserts three more. The first packet of a new
     * tunnel waits for the handshake; if both ends happen to start one at the same moment,
     * every implementation tries again only after REKEY_TIMEOUT (5 s).
     */
    void reach(String ns, String target) {
        boolean ok = Lab.await(Duration.ofSeconds(30), () -> ping(ns, target, 56).code() == 0);
        assertThat(ok).as(target + " answers from " + ns).isTrue();
        assertPings(ns, target, 56, 3);
    }

    /** Loads nftables rules into a namespace. */
    void nft(String ns, String rules) {
        try {
            Path file = Files.createTempFile(lab.logDir(), "rules", ".nft");
            Files.writeString(file, rules);
            lab.sh(ns, "nft", "-f", file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
