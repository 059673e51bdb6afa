package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import dev.patchcord.tools.TestTools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Denial of service against a patchcord responder, from a namespace of its own, with
 * {@code test-tools flood} ({@link TestTools}): handshake initiations from unknown keys with a valid MAC1 (which
 * a responder would pay a Diffie-Hellman for, were it not for cookies), transport messages with
 * random receiver indices, and forged transport messages for a real session. A legitimate peer
 * in a third namespace must still get through, and every hostile message must be counted.
 * (How much throughput the legitimate peer keeps is measured by bench/flood.sh, not asserted.)
 */
@ExtendWith(LabExtension.class)
class FloodIT {
    private static final int PORT = 51820;
    private static final String RESPONDER_FOR_PEER = "198.18.1.1", RESPONDER_FOR_ATTACKER = "198.18.2.1";

    private record Setup(String resp, String peer, String attacker, String respIf, KeyPair respKeys,
                         KeyPair forgerKeys, Path peerConf) {}

    /**
     * A responder with two peers (the legitimate one, and one whose key the attacker holds, for
     * forged messages); the legitimate peer's configuration is written but not started.
     */
    private static Setup setup(Lab lab) throws Exception {
        String resp = lab.netns("resp"), peer = lab.netns("peer"), attacker = lab.netns("atk");
        lab.link(resp, List.of(RESPONDER_FOR_PEER + "/24"), peer, List.of("198.18.1.2/24"));
        lab.link(resp, List.of(RESPONDER_FOR_ATTACKER + "/24"), attacker, List.of("198.18.2.2/24"));
        KeyPair respKeys = keys(lab, resp), peerKeys = keys(lab, peer), forgerKeys = keys(lab, attacker);
        String respIf = ifname("r");
        // No --verbose: it would print a line for every dropped message of the flood.
        patchcordUp(lab, resp, "resp", config(lab, respIf, """
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = 10.70.0.1/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.70.0.2/32
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.70.0.3/32
                """.formatted(respKeys.privateKey(), PORT, peerKeys.publicKey(), forgerKeys.publicKey())));
        Path peerConf = config(lab, ifname("p"), """
                [Interface]
                PrivateKey = %s
                Address = 10.70.0.2/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.70.0.1/32
                Endpoint = %s:%d
                """.formatted(peerKeys.privateKey(), respKeys.publicKey(), RESPONDER_FOR_PEER, PORT));
        return new Setup(resp, peer, attacker, respIf, respKeys, forgerKeys, peerConf);
    }

    private static List<String> flood(Setup s, String... args) {
        List<String> cmd = new java.util.ArrayList<>(TestTools.command("flood", "--host", RESPONDER_FOR_ATTACKER,
                "--port", String.valueOf(PORT), "--public-key", s.respKeys().publicKey()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** A count from the flood's report line, e.g. {@code cookie-replies=123}. */
    private static long reported(String report, String key) {
        return Long.parseLong(Tunnels.field(report, key));
    }

    @Test
    void aLegitimatePeerHandshakesAndTransfersDuringAHandshakeFlood(Lab lab) throws Exception {
        Setup s = setup(lab);
        // 2000 messages a second, ten times the load threshold, for 30 s: initiations from 256
        // unknown keys, one in four a transport message with a random index.
        Process flood = lab.spawn(s.attacker(), "flood", flood(s, "--initiations", "45000", "--transports", "15000",
                "--rate", "2000", "--seconds", "30"));
        // The responder is under load (it answers with cookies) before the peer even starts.
        assertThat(Lab.await(Duration.ofSeconds(20), () -> drops(lab, s).contains("cookie-sent")))
                .as("the responder answers the flood with cookie replies; flood log:\n" + lab.log("flood")).isTrue();

        patchcordUp(lab, s.peer(), "peer", s.peerConf(), "--verbose");
        long started = System.nanoTime();
        // Its first initiation gets a cookie reply; the retry 5 s later carries MAC2 and passes.
        Tunnels.reach(lab, s.peer(), "10.70.0.1");
        System.out.printf("FloodIT: the peer reached the flooded responder %.1f s after it started%n",
                (System.nanoTime() - started) / 1e9);
        Tunnels.transfer(lab, s.peer(), s.resp(), "10.70.0.1", 20_000_000);
        assertThat(flood.isAlive()).as("the flood still runs after the handshake and the transfer").isTrue();

        assertThat(flood.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        String report = lab.log("flood");
        assertThat(flood.exitValue()).as(report).isZero();
        assertThat(reported(report, "cookie-replies")).as(report).isPositive();
        assertThat(reported(report, "responses")).as("no unknown key got a handshake response: " + report).isZero();

        String counters = Tunnels.stop(lab, "resp");
        System.out.println("FloodIT: " + report.strip() + "\nFloodIT: responder " + counters);
        long cookies = Tunnels.dropped(counters, "cookie-sent");
        long unknownPeer = Tunnels.dropped(counters, "unknown-peer");
        long rateLimited = Tunnels.dropped(counters, "rate-limited");
        long initiations = reported(report, "initiations");
        // Every initiation of the flood was either answered with a cookie (under load) or
        // decrypted and found to come from an unknown key (in the first moments, below the load
        // threshold); the few the kernel may have dropped on the way are the only slack.
        assertThat(cookies + unknownPeer + rateLimited).as(counters)
                .isBetween(initiations * 95 / 100, initiations + 50);
        assertThat(cookies).as("most were answered with cookies, not Diffie-Hellman: " + counters)
                .isGreaterThan(initiations / 2);
        assertThat(reported(report, "cookie-replies")).as(report).isLessThanOrEqualTo(cookies);
        assertThat(Tunnels.dropped(counters, "unknown-index")).as(counters)
                .isBetween(reported(report, "transports") * 95 / 100, reported(report, "transports"));
        // The peer, which got a cookie reply itself on the way, ends cleanly.
        Tunnels.stop(lab, "peer");
    }

    @Test
    void spoofedAndForgedTransportMessagesAreAllDroppedAndCounted(Lab lab) throws Exception {
        Setup s = setup(lab);
        patchcordUp(lab, s.peer(), "peer", s.peerConf());
        Tunnels.reach(lab, s.peer(), "10.70.0.1");
        String before = drops(lab, s);
        assertThat(before).doesNotContain("unknown-index").doesNotContain("bad-auth");

        Path key = lab.logDir().resolve("forger.key");
        Files.writeString(key, s.forgerKeys().privateKey());
        Lab.Result r = lab.run(s.attacker(), Duration.ofSeconds(60), flood(s, "--transports", "3000", "--forged", "2000",
                "--peer-key", key.toString(), "--rate", "1000", "--seconds", "20").toArray(String[]::new));
        assertThat(r.code()).as(r.output()).isZero();
        assertThat(reported(r.output(), "transports")).isEqualTo(3000);
        assertThat(reported(r.output(), "forged")).isEqualTo(2000);

        // The tunnel is unharmed.
        Tunnels.ping(lab, s.peer(), "10.70.0.1");
        Tunnels.transfer(lab, s.peer(), s.resp(), "10.70.0.1", 5_000_000);
        String counters = Tunnels.stop(lab, "resp");
        System.out.println("FloodIT: " + r.output().strip() + "\nFloodIT: responder " + counters);
        // Random indices name no session; forged messages name a real one but fail authentication.
        assertThat(Tunnels.dropped(counters, "unknown-index")).as(counters).isEqualTo(3000);
        assertThat(Tunnels.dropped(counters, "bad-auth")).as(counters).isEqualTo(2000);
        assertThat(Tunnels.dropped(counters, "replayed")).as(counters).isZero();
    }

    /** The responder's live drop counters, from {@code patchcord show --json}. */
    private static String drops(Lab lab, Setup s) {
        Lab.Result r = lab.run(s.resp(), Duration.ofSeconds(10),
                Self.command("show", s.respIf(), "--json").toArray(String[]::new));
        return r.code() == 0 ? r.output().replaceAll("(?s).*\"dropped\": \\{([^}]*)}.*", "$1") : "";
    }
}
