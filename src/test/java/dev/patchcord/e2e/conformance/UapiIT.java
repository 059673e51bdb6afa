package dev.patchcord.e2e.conformance;

import dev.patchcord.e2e.LabExtension;
import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.patchcord.e2e.conformance.Topology.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conformance: the configuration interface, driven by the unmodified {@code wg} tool. Large
 * allowed-IP tables, many peers, overlapping prefixes moving between peers, {@code setconf}
 * without a private key, keys cleared with {@code /dev/null}, the interface's own public key
 * and low-order points as peers, the private key read back clamped, and a clean exit on
 * SIGTERM. See docs/conformance.md.
 */
@ExtendWith(LabExtension.class)
class UapiIT {
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * 130,000 allowed IPs on one peer (100,000 IPv4 /32 and 30,000 IPv6 /128) through {@code wg
     * addconf}: all are listed back, packets to one of them go to that peer, and the tunnel
     * still carries traffic.
     */
    @Test
    void oneHundredThirtyThousandAllowedIpsOnOnePeer(Lab lab) throws IOException {
        Topology t = Topology.start(lab, Underlay.V4);
        StringBuilder conf = new StringBuilder("[Peer]\nPublicKey = " + t.keys2.publicKey() + "\n");
        conf.append("AllowedIPs = ").append(IN2_V4).append("/32, ").append(IN2_V6).append("/128\n");
        List<String> prefixes = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            prefixes.add("172." + (16 + (i >> 16)) + "." + ((i >> 8) & 255) + "." + (i & 255) + "/32");
        }
        for (int i = 0; i < 30_000; i++) {
            prefixes.add("fd00:aa::" + Integer.toHexString(i >> 16) + ":" + Integer.toHexString(i & 0xffff) + "/128");
        }
        for (int i = 0; i < prefixes.size(); i += 1000) {
            conf.append("AllowedIPs = ").append(String.join(", ", prefixes.subList(i, Math.min(prefixes.size(), i + 1000))))
                    .append('\n');
        }
        Path file = Files.writeString(lab.logDir().resolve("many-ips.conf"), conf);
        long start = System.nanoTime();
        Lab.Result r = t.wg1.tryWg("addconf", t.wg1.name, file.toString());
        assertThat(r.code()).as("wg addconf: " + r.output()).isZero();
        Figures.record("wg addconf of 130,002 allowed IPs", (System.nanoTime() - start) / 1e6, "ms");
        List<String> listed = t.wg1.allowedIps(t.keys2.publicKey());
        assertThat(listed).hasSize(130_002).contains("172.16.0.0/32", "172.17.134.159/32", "fd00:aa::752f/128");
        lab.ip(t.peer1, "route", "add", "172.16.0.0/15", "dev", t.wg1.name);
        t.reach(t.peer1, IN2_V4);
        long tx = t.wg1.transfer(t.keys2.publicKey())[1];
        t.ping(t.peer1, "172.17.1.2", 56);
        assertThat(t.wg1.transfer(t.keys2.publicKey())[1] - tx).as("a packet for 172.17.1.2 went to the peer").isPositive();
    }

    /**
     * 1000 peers with 16 prefixes each (8 IPv4, 8 IPv6) added in one {@code wg addconf}: all
     * listed with exactly their prefixes; the real peer keeps working; removing some leaves the
     * rest intact.
     */
    @Test
    void manyPeersWithManyPrefixes(Lab lab) throws IOException {
        Topology t = Topology.start(lab, Underlay.V4);
        Map<String, List<String>> peers = new LinkedHashMap<>();
        StringBuilder conf = new StringBuilder();
        for (int p = 0; p < 1000; p++) {
            List<String> ips = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                ips.add("10." + (100 + p / 250) + "." + (p % 250) + "." + (i * 32) + "/27");
                ips.add("fd00:" + Integer.toHexString(0x1000 + p) + ":" + (i + 1) + "::/48");
            }
            String key = randomKey();
            peers.put(key, ips);
            conf.append("[Peer]\nPublicKey = ").append(key).append("\nAllowedIPs = ").append(String.join(", ", ips)).append('\n');
        }
        Path file = Files.writeString(lab.logDir().resolve("many-peers.conf"), conf);
        long start = System.nanoTime();
        Lab.Result r = t.wg1.tryWg("addconf", t.wg1.name, file.toString());
        assertThat(r.code()).as("wg addconf: " + r.output()).isZero();
        Figures.record("wg addconf of 1000 peers with 16 prefixes each", (System.nanoTime() - start) / 1e6, "ms");
        Map<String, String> listed = t.wg1.perPeer("allowed-ips");
        assertThat(listed).hasSize(1001);
        for (var e : peers.entrySet()) {
            assertThat(List.of(listed.get(e.getKey()).split("\\s+"))).as("allowed IPs of " + e.getKey())
                    .containsExactlyInAnyOrderElementsOf(e.getValue());
        }
        t.reach(t.peer1, IN2_V4);
        List<String> keys = new ArrayList<>(peers.keySet());
        for (String gone : keys.subList(0, 5)) {
            t.wg1.set("peer", gone, "remove");
        }
        listed = t.wg1.perPeer("allowed-ips");
        assertThat(listed).hasSize(996).doesNotContainKeys(keys.subList(0, 5).toArray(String[]::new));
        assertThat(List.of(listed.get(keys.get(500)).split("\\s+"))).containsExactlyInAnyOrderElementsOf(peers.get(keys.get(500)));
        t.assertPings(t.peer1, IN2_V6, 56, 3);
    }

    /**
     * An allowed IP belongs to one peer: given to a second peer it leaves the first. {@code wg
     * set … allowed-ips} replaces a peer's whole set; prefixes are stored masked; an empty list
     * clears it. Stealing the real peer's address stops its traffic, giving it back restores it.
     */
    @Test
    void overlappingAllowedIpsMoveBetweenPeersAndSetsAreReplaced(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        String a = randomKey(), b = randomKey();
        t.wg1.set("peer", a, "allowed-ips", "10.80.0.0/16,10.81.0.1/32,fd00:80::/48");
        t.wg1.set("peer", b, "allowed-ips", "10.81.0.0/24");
        assertThat(t.wg1.allowedIps(a)).containsExactlyInAnyOrder("10.80.0.0/16", "10.81.0.1/32", "fd00:80::/48");
        assertThat(t.wg1.allowedIps(b)).containsExactly("10.81.0.0/24");
        t.wg1.set("peer", b, "allowed-ips", "10.81.0.0/24,10.80.0.0/16");
        assertThat(t.wg1.allowedIps(a)).containsExactlyInAnyOrder("10.81.0.1/32", "fd00:80::/48");
        assertThat(t.wg1.allowedIps(b)).containsExactlyInAnyOrder("10.81.0.0/24", "10.80.0.0/16");
        t.wg1.set("peer", a, "allowed-ips", "10.82.0.0/16,fd00:80::/48");
        assertThat(t.wg1.allowedIps(a)).containsExactlyInAnyOrder("10.82.0.0/16", "fd00:80::/48");
        t.wg1.set("peer", a, "allowed-ips", "10.83.1.2/16,fd00:80:1:2::3/48");
        assertThat(t.wg1.allowedIps(a)).as("stored masked").containsExactlyInAnyOrder("10.83.0.0/16", "fd00:80:1::/48");
        t.wg1.set("peer", a, "allowed-ips", "");
        assertThat(t.wg1.allowedIps(a)).isEmpty();

        t.reach(t.peer1, IN2_V4);
        t.wg1.set("peer", b, "allowed-ips", "10.81.0.0/24," + IN2_V4 + "/32");
        assertThat(t.wg1.allowedIps(t.keys2.publicKey())).containsExactly(IN2_V6 + "/128");
        assertThat(t.ping(t.peer1, IN2_V4, 56).code()).as("the address now routes to a peer without an endpoint").isNotZero();
        t.assertPings(t.peer1, IN2_V6, 56, 2);
        t.wg1.set("peer", t.keys2.publicKey(), "allowed-ips", IN2_V4 + "/32," + IN2_V6 + "/128");
        assertThat(t.wg1.allowedIps(b)).containsExactly("10.81.0.0/24");
        t.assertPings(t.peer1, IN2_V4, 56, 3);
    }

    /**
     * {@code wg setconf} with a file of {@code [Peer]} sections only (wg then sends an all-zero
     * private key): accepted, the interface has no key and makes no handshakes, and works again
     * once it gets one.
     */
    @Test
    void setconfWithoutAPrivateKey(Lab lab) throws IOException {
        Topology t = Topology.start(lab, Underlay.V4);
        Path file = Files.writeString(lab.logDir().resolve("peers-only.conf"), """
                [Peer]
                PublicKey = %s
                AllowedIPs = %s/32, %s/128
                Endpoint = %s:%d
                """.formatted(t.keys2.publicKey(), IN2_V4, IN2_V6, P2_V4, PORT2));
        Lab.Result r = t.wg1.tryWg("setconf", t.wg1.name, file.toString());
        assertThat(r.code()).as("wg setconf without a key: " + r.output()).isZero();
        assertThat(t.wg1.show("private-key")).isEqualTo("(none)");
        assertThat(t.wg1.show("peers")).isEqualTo(t.keys2.publicKey());
        Lab.Result ping = lab.run(t.peer1, Duration.ofSeconds(10), "ping", "-c", "2", "-i", "0.2", "-W", "1", IN2_V4);
        assertThat(ping.code()).as("no key, no handshake:\n" + ping.output()).isNotZero();
        assertThat(t.wg1.latestHandshake(t.keys2.publicKey())).isZero();
        t.wg1.set("private-key", t.wg1.keyFile(t.keys1.privateKey()).toString());
        t.reach(t.peer1, IN2_V4);
    }

    /**
     * {@code /dev/null} clears a key: a preshared key (both ends then talk without one) and the
     * private key (the interface then has no identity and no sessions). Setting the key again
     * brings the tunnel back.
     */
    @Test
    void keysClearedWithDevNull(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        String psk = lab.sh(t.peer1, "wg", "genpsk").strip();
        t.wg1.set("peer", t.keys2.publicKey(), "preshared-key", t.wg1.keyFile(psk).toString());
        t.wg2.set("peer", t.keys1.publicKey(), "preshared-key", t.wg2.keyFile(psk).toString());
        t.reach(t.peer1, IN2_V4);
        assertThat(t.wg1.perPeer("preshared-keys")).containsEntry(t.keys2.publicKey(), psk);
        t.wg1.set("peer", t.keys2.publicKey(), "preshared-key", "/dev/null");
        t.wg2.set("peer", t.keys1.publicKey(), "preshared-key", "/dev/null");
        assertThat(t.wg1.perPeer("preshared-keys")).containsEntry(t.keys2.publicKey(), "(none)");
        t.wg1.set("private-key", "/dev/null");
        assertThat(t.wg1.show("private-key")).isEqualTo("(none)");
        assertThat(t.wg1.show("public-key")).isEqualTo("(none)");
        Lab.Result ping = lab.run(t.peer1, Duration.ofSeconds(10), "ping", "-c", "2", "-i", "0.2", "-W", "1", IN2_V4);
        assertThat(ping.code()).as("no private key, no session:\n" + ping.output()).isNotZero();
        t.wg1.set("private-key", t.wg1.keyFile(t.keys1.privateKey()).toString());
        assertThat(t.wg1.show("public-key")).isEqualTo(t.keys1.publicKey());
        t.reach(t.peer1, IN2_V4);
    }

    /**
     * The interface's own public key is never a peer: {@code wg set} naming it succeeds and adds
     * nothing, and taking a private key whose public key is a peer's removes that peer.
     */
    @Test
    void theOwnPublicKeyIsNeverAPeer(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        Lab.Result r = t.wg1.tryWg("set", t.wg1.name, "peer", t.keys1.publicKey(), "allowed-ips", "10.90.0.0/16");
        assertThat(r.code()).as("wg set peer <own key>: " + r.output()).isZero();
        assertThat(t.wg1.show("peers")).isEqualTo(t.keys2.publicKey());
        Keys other = t.keys(t.peer1);
        t.wg1.set("peer", other.publicKey(), "allowed-ips", "10.91.0.0/16");
        assertThat(t.wg1.show("peers").split("\n")).containsExactlyInAnyOrder(t.keys2.publicKey(), other.publicKey());
        t.wg1.set("private-key", t.wg1.keyFile(other.privateKey()).toString());
        assertThat(t.wg1.show("peers")).isEqualTo(t.keys2.publicKey());
        t.wg1.set("private-key", t.wg1.keyFile(t.keys1.privateKey()).toString());
        t.reach(t.peer1, IN2_V4);
    }

    /**
     * The Curve25519 points of small order (and the encodings of 0, 1, p − 1, p, p + 1): each is
     * accepted as a peer, as the kernel accepts it, but no handshake is ever sent to it (the
     * shared secret would be zero); the real peer keeps working.
     */
    @Test
    void lowOrderPublicKeysAreAcceptedButNeverHandshake(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        List<String> lowOrder = List.of(
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0100000000000000000000000000000000000000000000000000000000000000",
                "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
                "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
                "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < lowOrder.size(); i++) {
            String key = Base64.getEncoder().encodeToString(HexFormat.of().parseHex(lowOrder.get(i)));
            keys.add(key);
            Lab.Result r = t.wg1.tryWg("set", t.wg1.name, "peer", key, "allowed-ips", "10.95." + i + ".0/24",
                    "endpoint", P2_V4 + ":" + PORT2);
            assertThat(r.code()).as("wg set peer " + key + ": " + r.output()).isZero();
        }
        assertThat(t.wg1.show("peers").split("\n")).contains(keys.toArray(String[]::new));
        lab.ip(t.peer1, "route", "add", "10.95.0.0/16", "dev", t.wg1.name);
        for (int i = 0; i < keys.size(); i++) {
            t.ping(t.peer1, "10.95." + i + ".1", 56);
        }
        t.reach(t.peer1, IN2_V4);
        for (String key : keys) {
            assertThat(t.wg1.transfer(key)[1]).as("bytes sent to low-order peer " + key).isZero();
            assertThat(t.wg1.latestHandshake(key)).isZero();
        }
    }

    /** A private key is read back clamped (bits 0-2 and 255 cleared, bit 254 set), as the kernel stores it. */
    @Test
    void thePrivateKeyReadsBackClamped(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        byte[] raw = Base64.getDecoder().decode(t.keys1.privateKey());
        raw[0] |= 7;
        raw[31] = (byte) ((raw[31] | 0x80) & ~0x40);
        String unclamped = Base64.getEncoder().encodeToString(raw);
        byte[] clamped = raw.clone();
        clamped[0] &= (byte) 248;
        clamped[31] = (byte) ((clamped[31] & 127) | 64);
        t.wg1.set("private-key", t.wg1.keyFile(unclamped).toString());
        assertThat(t.wg1.show("private-key")).isEqualTo(Base64.getEncoder().encodeToString(clamped));
        assertThat(t.wg1.show("public-key")).isEqualTo(t.keys1.publicKey());
        assertThat(t.wg1.wg("showconf", t.wg1.name)).contains("PrivateKey = " + Base64.getEncoder().encodeToString(clamped));
        t.reach(t.peer1, IN2_V4);
    }

    /** SIGTERM after traffic: each process exits with status 0 within 10 s and takes its interface and socket with it. */
    @Test
    void aCleanExitOnSigterm(Lab lab) {
        Topology t = Topology.start(lab, Underlay.V4);
        t.reach(t.peer1, IN2_V4);
        for (WgInterface wg : List.of(t.wg1, t.wg2)) {
            int code = wg.terminate(Duration.ofSeconds(10));
            assertThat(code).as("exit status of " + wg + "; log:\n" + lab.log(wg.procName)).isZero();
            assertThat(Lab.await(Duration.ofSeconds(5), () -> !lab.hasInterface(wg.ns, wg.name))).as(wg + " removed").isTrue();
            assertThat(Lab.await(Duration.ofSeconds(5), () -> !Files.exists(Implementation.socket(wg.name))))
                    .as("socket of " + wg + " removed").isTrue();
        }
    }

    /** A random 32-byte public key: a peer that will never answer. */
    private static String randomKey() {
        byte[] k = new byte[32];
        RANDOM.nextBytes(k);
        return Base64.getEncoder().encodeToString(k);
    }
}
