package dev.patchcord.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What {@code wg} sees of an interface, compared with wireguard-go in the same scenario: transfer
 * counters that include the handshake, a private-key change that hand-shakes at once, an
 * interface without a private key ({@code wg setconf} of a file with peers only, {@code wg set
 * private-key /dev/null}), the key read back clamped, and our own public key refused as a peer
 * without an error. a is patchcord at 10.61.0.1, b is Debian's wireguard-go at 10.61.0.2.
 */
@ExtendWith(LabExtension.class)
class UapiSemanticsIT {
    /** A ping's transport message: 84 bytes of IPv4 padded to 96, plus 32 of WireGuard. */
    private static final int PING_MESSAGE = 128;
    private static final int INITIATION = 148, RESPONSE = 92;

    private record Setup(String a, String b, String pcIf, String wgIf, KeyPair pc, KeyPair wg) {}

    private Setup setup(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String pcIf = ifname("u"), wgIf = ifname("g");
        KeyPair pc = keys(lab, ns[0]), wg = keys(lab, ns[1]);
        Path conf = config(lab, pcIf, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.61.0.1/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.61.0.2/32
                Endpoint = %s:51820
                """.formatted(pc.privateKey(), wg.publicKey(), B4));
        patchcordUp(lab, ns[0], "patchcord", conf, "--verbose");
        wireguardGo(lab, ns[1], wgIf, wg, 51820, "10.61.0.2/24",
                List.of("peer", pc.publicKey(), "allowed-ips", "10.61.0.1/32", "endpoint", A4 + ":51820"));
        return new Setup(ns[0], ns[1], pcIf, wgIf, pc, wg);
    }

    /** Ten pings from {@code ns}, 0.2 s apart; all must be answered. */
    private static void tenPings(Lab lab, String ns, String target) {
        Lab.Result r = lab.run(ns, Duration.ofSeconds(30), "ping", "-c", "10", "-i", "0.2", "-W", "5", target);
        assertThat(r.code()).as("ping " + target + ":\n" + r.output()).isZero();
    }

    @Test
    void tenPingsFromPatchcordCountTheHandshakeAsWireguardGoDoes(Lab lab) throws Exception {
        Setup s = setup(lab);
        tenPings(lab, s.a(), "10.61.0.2");
        long[] pc = wgTransfer(lab, s.a(), s.pcIf());
        long[] wg = wgTransfer(lab, s.b(), s.wgIf());
        // Read within KEEPALIVE_TIMEOUT of the last reply: no passive keepalive yet on either side.
        assertThat(pc).as("patchcord rx, tx").containsExactly(RESPONSE + 10 * PING_MESSAGE, INITIATION + 10 * PING_MESSAGE);
        assertThat(pc).as("patchcord (rx, tx) mirrors wireguard-go (tx, rx)").containsExactly(wg[1], wg[0]);
    }

    @Test
    void tenPingsFromWireguardGoCountTheHandshakeOnBothSides(Lab lab) throws Exception {
        Setup s = setup(lab);
        tenPings(lab, s.b(), "10.61.0.1");
        long[] pc = wgTransfer(lab, s.a(), s.pcIf());
        long[] wg = wgTransfer(lab, s.b(), s.wgIf());
        assertThat(wg).as("wireguard-go rx, tx").containsExactly(RESPONSE + 10 * PING_MESSAGE, INITIATION + 10 * PING_MESSAGE);
        assertThat(pc).as("patchcord (rx, tx) mirrors wireguard-go (tx, rx)").containsExactly(wg[1], wg[0]);
        JsonNode peer = new ObjectMapper().readTree(lab.sh(s.a(), Self.command("show", s.pcIf(), "--json")
                .toArray(String[]::new))).get(0).get("peers").get(0);
        assertThat(peer.get("rx_bytes").asLong()).isEqualTo(pc[0]);
        assertThat(peer.get("tx_bytes").asLong()).isEqualTo(pc[1]);
    }

    @Test
    void aNewPrivateKeyHandshakesWithTheNextPacketAtOnce(Lab lab) throws Exception {
        Setup s = setup(lab);
        KeyPair fresh = keys(lab, s.a());
        Path freshFile = keyFile(lab, "fresh", fresh.privateKey());
        // patchcord's initiation goes out now; the key change follows well within REKEY_TIMEOUT.
        Tunnels.ping(lab, s.a(), "10.61.0.2");
        long changed = System.nanoTime();
        lab.sh(s.a(), "wg", "set", s.pcIf(), "private-key", freshFile.toString());
        lab.sh(s.b(), "wg", "set", s.wgIf(), "peer", s.pc().publicKey(), "remove",
                "peer", fresh.publicKey(), "allowed-ips", "10.61.0.1/32", "endpoint", A4 + ":51820");
        Lab.Result r = lab.run(s.a(), Duration.ofSeconds(10), "ping", "-c", "1", "-W", "3", "10.61.0.2");
        double seconds = (System.nanoTime() - changed) / 1e9;
        assertThat(r.code()).as("the first packet after the change is answered within 3 s:\n" + r.output()).isZero();
        assertThat(rttMillis(r.output())).as("not held back by the initiation made with the old key").isLessThan(1500);
        assertThat(seconds).isLessThan(4.5);
    }

    @Test
    void setconfWithPeersOnlyAndAKeyFromDevNullLeaveAnInterfaceWithoutAKeyAsWireguardGoDoes(Lab lab) throws Exception {
        Setup s = setup(lab);
        Tunnels.reach(lab, s.a(), "10.61.0.2");
        Path peersOnly = lab.logDir().resolve("peers-only.conf");
        Files.writeString(peersOnly, "[Peer]\nPublicKey = " + s.wg().publicKey() + "\nAllowedIPs = 10.61.0.2/32\nEndpoint = "
                + B4 + ":51820\n");

        // Both implementations accept it and then have no key.
        for (String[] end : new String[][] {{s.a(), s.pcIf()}, {s.b(), s.wgIf()}}) {
            Lab.Result setconf = lab.run(end[0], Duration.ofSeconds(10), "wg", "setconf", end[1], peersOnly.toString());
            assertThat(setconf.code()).as(end[1] + ": " + setconf.output()).isZero();
            assertThat(lab.sh(end[0], "wg", "show", end[1], "private-key").strip()).isEqualTo("(none)");
            assertThat(lab.sh(end[0], "wg", "show", end[1])).doesNotContain("public key:").contains("peer: ");
            assertThat(lab.sh(end[0], "wg", "showconf", end[1])).doesNotContain("PrivateKey");
        }
        // Restore wireguard-go; `setconf` also set a random port on each side.
        lab.sh(s.b(), "wg", "set", s.wgIf(), "private-key", keyFile(lab, "wg", s.wg().privateKey()).toString(),
                "listen-port", "51820", "peer", s.pc().publicKey(), "allowed-ips", "10.61.0.1/32",
                "endpoint", A4 + ":" + lab.sh(s.a(), "wg", "show", s.pcIf(), "listen-port").strip());

        // Without a key patchcord makes no handshake and answers none; it keeps running.
        Lab.Result out = lab.run(s.a(), Duration.ofSeconds(10), "ping", "-c", "1", "-W", "1", "10.61.0.2");
        assertThat(out.code()).as("no handshake without a key").isNotZero();
        lab.run(s.b(), Duration.ofSeconds(10), "ping", "-c", "1", "-W", "1", "10.61.0.1");
        assertThat(Lab.await(Duration.ofSeconds(10), () -> dropped(lab, s, "no-private-key") > 0))
                .as("wireguard-go's initiation dropped under its reason").isTrue();
        assertThat(lab.processes().get("patchcord").isAlive()).isTrue();

        // A key again: the tunnel works; /dev/null takes it away again.
        lab.sh(s.a(), "wg", "set", s.pcIf(), "private-key", keyFile(lab, "pc", s.pc().privateKey()).toString());
        assertThat(lab.sh(s.a(), "wg", "show", s.pcIf(), "public-key").strip()).isEqualTo(s.pc().publicKey());
        Tunnels.reach(lab, s.a(), "10.61.0.2");
        lab.sh(s.a(), "wg", "set", s.pcIf(), "private-key", "/dev/null");
        assertThat(lab.sh(s.a(), "wg", "show", s.pcIf(), "private-key").strip()).isEqualTo("(none)");
        assertThat(lab.sh(s.a(), "wg", "show", s.pcIf(), "peers").strip()).isEqualTo(s.wg().publicKey());
        Tunnels.stop(lab, "patchcord");
    }

    @Test
    void theKeyReadsBackClampedAndOurOwnKeyIsNoPeerAsInWireguardGo(Lab lab) throws Exception {
        Setup s = setup(lab);
        KeyPair pcAgain = keys(lab, s.a());
        KeyPair wgAgain = keys(lab, s.b());
        String[][] ends = {{s.a(), s.pcIf(), pcAgain.privateKey(), pcAgain.publicKey()},
                {s.b(), s.wgIf(), wgAgain.privateKey(), wgAgain.publicKey()}};
        for (String[] end : ends) {
            String unclamped = unclamp(end[2]);
            assertThat(unclamped).isNotEqualTo(end[2]);
            lab.sh(end[0], "wg", "set", end[1], "private-key", keyFile(lab, end[1], unclamped).toString());
            assertThat(lab.sh(end[0], "wg", "show", end[1], "private-key").strip()).as(end[1]).isEqualTo(end[2]);
            assertThat(lab.sh(end[0], "wg", "showconf", end[1])).contains("PrivateKey = " + end[2]);
            assertThat(lab.sh(end[0], "wg", "show", end[1], "public-key").strip()).isEqualTo(end[3]);

            Lab.Result own = lab.run(end[0], Duration.ofSeconds(10), "wg", "set", end[1], "peer", end[3],
                    "allowed-ips", "10.61.9.9/32");
            assertThat(own.code()).as(end[1] + " takes its own key as a peer without an error: " + own.output()).isZero();
            assertThat(lab.sh(end[0], "wg", "show", end[1], "peers")).as(end[1]).doesNotContain(end[3]);
            assertThat(lab.sh(end[0], "wg", "show", end[1], "allowed-ips")).doesNotContain("10.61.9.9");
        }
        assertThat(lab.sh(s.a(), "wg", "show", s.pcIf(), "peers").strip()).isEqualTo(s.wg().publicKey());
    }

    /** The same private key with the bits clamping fixes set the other way. */
    private static String unclamp(String base64) {
        byte[] k = Base64.getDecoder().decode(base64);
        k[0] |= 7;
        k[31] |= (byte) 0x80;
        return Base64.getEncoder().encodeToString(k);
    }

    private static Path keyFile(Lab lab, String name, String key) throws Exception {
        Path file = lab.logDir().resolve(name + "-" + System.nanoTime() + ".key");
        Files.writeString(file, key + "\n");
        return file;
    }

    private static double rttMillis(String pingOutput) {
        Matcher m = Pattern.compile("time=([0-9.]+) ms").matcher(pingOutput);
        assertThat(m.find()).as(pingOutput).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private static long dropped(Lab lab, Setup s, String reason) {
        try {
            JsonNode dev = new ObjectMapper().readTree(lab.sh(s.a(), Self.command("show", s.pcIf(), "--json")
                    .toArray(String[]::new))).get(0);
            JsonNode n = dev.get("dropped").get(reason);
            return n == null ? 0 : n.asLong();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
