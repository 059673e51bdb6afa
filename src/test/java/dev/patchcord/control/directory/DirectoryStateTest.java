package dev.patchcord.control.directory;

import com.fasterxml.jackson.databind.JsonNode;
import dev.patchcord.control.MeshPeer;
import dev.patchcord.control.PeerList;
import dev.patchcord.core.mesh.DirectoryAuth;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The directory's checks and answers, with explicit times: no sockets, no clock. */
class DirectoryStateTest {
    private static final long NOW = 1_763_780_000_000L;

    private final SplittableRandom rng = new SplittableRandom(7);
    private byte[] directoryPrivate;
    private byte[] directoryPublic;
    private TestNode alpha, beta, gamma;
    private DirectoryState state;

    @BeforeEach
    void members() throws Exception {
        directoryPrivate = X25519.generatePrivate(rng);
        directoryPublic = X25519.publicKey(directoryPrivate);
        alpha = new TestNode(rng, directoryPublic);
        beta = new TestNode(rng, directoryPublic);
        gamma = new TestNode(rng, directoryPublic);
        state = new DirectoryState(directoryPrivate, list(
                alpha.member("alpha", "10.9.0.1/32", "endpoints: [\"alpha.example.net:51820\", \"192.168.1.5:51820\"]"),
                beta.member("beta", "10.9.0.2/32", "endpoint: \"198.51.100.9:51820\", persistentKeepalive: 25"),
                gamma.member("gamma", "10.9.0.0/24", "relay: true")), DirectoryState.DEFAULT_TTL_MILLIS);
    }

    private static List<MeshPeer> list(String... members) throws Exception {
        return PeerList.parse("{peers: [" + String.join(",", members) + "]}", true);
    }

    private DirectoryState.SyncResult sync(TestNode node, long time, long now, String... endpoints) {
        byte[] body = node.body(time, endpoints);
        return state.sync(body, node.mac(body), now);
    }

    /** The endpoints of {@code about} in a fresh answer to {@code asker}. */
    private List<String> endpointsSeenBy(TestNode asker, TestNode about, long now) throws Exception {
        DirectoryState.SyncResult r = sync(asker, now, now);
        assertThat(r.status()).isEqualTo(200);
        for (JsonNode p : TestNode.json(r.body()).get("peers")) {
            if (p.get("publicKey").asText().equals(about.key)) {
                List<String> out = new ArrayList<>();
                p.get("endpoints").forEach(e -> out.add(e.asText()));
                return out;
            }
        }
        throw new AssertionError("not in the answer");
    }

    @Test
    void aValidSyncIsAnsweredWithAMacUnderTheNodesPairKeyAndListsTheOthers() throws Exception {
        DirectoryState.SyncResult r = sync(alpha, NOW - 500, NOW, "192.168.1.5:51820");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.ok()).isTrue();
        // The node's side: its own private key and the directory's public key give the same pair key.
        byte[] nodeSide = DirectoryAuth.pairKey(alpha.privateKey, directoryPublic);
        assertThat(DirectoryAuth.verify(nodeSide, r.body(), Base64.getDecoder().decode(r.mac()))).isTrue();
        assertThat(DirectoryAuth.verify(beta.pairKey, r.body(), Base64.getDecoder().decode(r.mac()))).isFalse();

        JsonNode answer = TestNode.json(r.body());
        assertThat(answer.get("time").asLong()).isEqualTo(NOW);
        assertThat(answer.get("request").asLong()).isEqualTo(NOW - 500);
        assertThat(answer.has("observed")).isFalse();
        List<MeshPeer> peers = PeerList.parsePeers(answer.get("peers"), false);
        assertThat(peers).extracting(MeshPeer::publicKey).containsExactly(beta.key, gamma.key);
        MeshPeer b = peers.get(0);
        assertThat(b.name()).isEqualTo("beta");
        assertThat(b.allowedIps()).extracting(Object::toString).containsExactly("10.9.0.2/32");
        assertThat(b.endpoints()).extracting(Object::toString).containsExactly("198.51.100.9:51820");
        assertThat(b.persistentKeepalive()).isEqualTo(25);
        assertThat(b.relay()).isFalse();
        assertThat(peers.get(1).relay()).isTrue();
        assertThat(peers.get(1).endpoints()).isEmpty();
    }

    @Test
    void aForgedRegistrationIsRefusedAndChangesNothing() throws Exception {
        assertThat(sync(alpha, NOW, NOW, "192.168.1.77:51820").status()).isEqualTo(200);
        // Someone who knows alpha's public key but not its private key: their MAC is under another pair key.
        byte[] forger = X25519.generatePrivate(rng);
        byte[] forgedKey = DirectoryAuth.pairKey(forger, directoryPublic);
        byte[] body = alpha.body(NOW + 1000, "203.0.113.66:666");
        String mac = Base64.getEncoder().encodeToString(DirectoryAuth.mac(forgedKey, body));
        DirectoryState.SyncResult r = state.sync(body, mac, NOW + 1000);
        assertThat(r.status()).isEqualTo(403);
        assertThat(TestNode.json(r.body()).get("error").asText()).isEqualTo("bad MAC");
        assertThat(r.mac()).isNull();
        assertThat(endpointsSeenBy(beta, alpha, NOW + 2000))
                .containsExactly("192.168.1.77:51820", "alpha.example.net:51820", "192.168.1.5:51820");
        // No MAC at all, or a MAC that is not base64, is the same refusal.
        assertThat(state.sync(body, null, NOW + 3000).error()).isEqualTo("bad MAC");
        assertThat(state.sync(body, "not base64!", NOW + 3000).error()).isEqualTo("bad MAC");
        assertThat(state.refused(Refusal.BAD_MAC, false)).isEqualTo(3);
    }

    @Test
    void aKeyThatIsNotAMemberIsRefused() throws Exception {
        TestNode stranger = new TestNode(rng, directoryPublic);
        DirectoryState.SyncResult r = sync(stranger, NOW, NOW);
        assertThat(r.status()).isEqualTo(403);
        assertThat(TestNode.json(r.body()).get("error").asText()).isEqualTo("not a member");
    }

    @Test
    void aReplayedRequestIsRefused() {
        byte[] body = alpha.body(NOW, "192.168.1.5:51820");
        assertThat(state.sync(body, alpha.mac(body), NOW).status()).isEqualTo(200);
        DirectoryState.SyncResult again = state.sync(body, alpha.mac(body), NOW + 10);
        assertThat(again.status()).isEqualTo(403);
        assertThat(again.refusal()).isEqualTo(Refusal.REPLAYED);
        assertThat(again.error()).contains("replay");
        assertThat(sync(alpha, NOW - 1, NOW + 20).refusal()).isEqualTo(Refusal.REPLAYED);
        assertThat(sync(alpha, NOW + 1, NOW + 20).status()).isEqualTo(200);
    }

    @Test
    void aTimeMoreThan120SecondsAwayIsRefused() {
        DirectoryState.SyncResult old = sync(alpha, NOW - 120_001, NOW);
        assertThat(old.status()).isEqualTo(403);
        assertThat(old.error()).contains("in the past");
        DirectoryState.SyncResult future = sync(alpha, NOW + 120_001, NOW);
        assertThat(future.status()).isEqualTo(403);
        assertThat(future.error()).contains("in the future");
        assertThat(sync(alpha, NOW - 120_000, NOW).status()).isEqualTo(200);
        assertThat(sync(beta, NOW + 120_000, NOW).status()).isEqualTo(200);
    }

    @Test
    void malformedRequestsAre400AndOversizedOnes413() {
        String dup = "{\"publicKey\":\"" + alpha.key + "\",\"time\":1,\"time\":2}";
        for (String body : List.of("garbage", "[]", "{}", "{\"publicKey\": 5, \"time\": 1}",
                "{\"publicKey\":\"AAAA\",\"time\":1}",
                "{\"publicKey\":\"" + alpha.key + "\"}",
                "{\"publicKey\":\"" + alpha.key + "\",\"time\":\"1\"}",
                "{\"publicKey\":\"" + alpha.key + "\",\"time\":1.5}",
                "{\"publicKey\":\"" + alpha.key + "\",\"time\":1,\"endpoints\":\"1.2.3.4:5\"}",
                "{\"publicKey\":\"" + alpha.key + "\",\"time\":1,\"endpoints\":[\"1.2.3.4\"]}",
                "{\"publicKey\":\"" + alpha.key + "\",\"time\":1,\"endpoints\":[7]}",
                "{\"publicKey\":\"" + alpha.key + "\",\"time\":1,\"endpoints\":[\"1.1.1.1:1\",\"1.1.1.2:1\",\"1.1.1.3:1\","
                        + "\"1.1.1.4:1\",\"1.1.1.5:1\",\"1.1.1.6:1\",\"1.1.1.7:1\",\"1.1.1.8:1\",\"1.1.1.9:1\"]}",
                dup, "{\"publicKey\":\"" + alpha.key + "\",\"time\":1} trailing")) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            DirectoryState.SyncResult r = state.sync(bytes, alpha.mac(bytes), NOW);
            assertThat(r.status()).as(body).isEqualTo(400);
            assertThat(r.error()).as(body).isNotBlank().doesNotContain("garbage");
        }
        byte[] huge = new byte[DirectoryState.MAX_BODY + 1];
        assertThat(state.sync(huge, null, NOW).status()).isEqualTo(413);
        assertThat(state.refused(Refusal.MALFORMED, false)).isEqualTo(14);
    }

    @Test
    void theChecksComeInTheSpecifiedOrder() {
        // Not a member comes before the MAC, the MAC before the time; a refusal spends no timestamp.
        TestNode stranger = new TestNode(rng, directoryPublic);
        assertThat(state.sync(stranger.body(NOW), "AAAA", NOW).refusal()).isEqualTo(Refusal.NOT_MEMBER);
        assertThat(state.sync(alpha.body(NOW - 999_999), "AAAA", NOW).refusal()).isEqualTo(Refusal.BAD_MAC);
        byte[] badMac = alpha.body(NOW);
        assertThat(state.sync(badMac, beta.mac(badMac), NOW).refusal()).isEqualTo(Refusal.BAD_MAC);
        assertThat(sync(alpha, NOW, NOW).status()).isEqualTo(200);
    }

    @Test
    void endpointsAreObservedThenDeclaredThenFixedWithoutDuplicates() throws Exception {
        assertThat(state.probe(alpha.probe(NOW), 60, new InetSocketAddress("203.0.113.7", 40001), NOW)).isTrue();
        assertThat(sync(alpha, NOW + 1, NOW + 1, "10.1.1.1:51820", "203.0.113.7:40001", "192.168.1.5:51820").status())
                .isEqualTo(200);
        assertThat(endpointsSeenBy(beta, alpha, NOW + 2)).containsExactly(
                "203.0.113.7:40001", "10.1.1.1:51820", "192.168.1.5:51820", "alpha.example.net:51820");
        JsonNode own = TestNode.json(sync(alpha, NOW + 3, NOW + 3).body());
        assertThat(own.get("observed").asText()).isEqualTo("203.0.113.7:40001");
    }

    @Test
    void noMoreThanEightEndpointsAreReportedSoThatNodesAcceptTheAnswer() throws Exception {
        state.probe(alpha.probe(NOW), 60, new InetSocketAddress("203.0.113.7", 40001), NOW);
        String[] eight = new String[8];
        for (int i = 0; i < 8; i++) {
            eight[i] = "10.0.0." + (i + 1) + ":51820";
        }
        assertThat(sync(alpha, NOW, NOW, eight).status()).isEqualTo(200);
        List<String> seen = endpointsSeenBy(beta, alpha, NOW);
        assertThat(seen).hasSize(8).startsWith("203.0.113.7:40001", "10.0.0.1:51820").doesNotContain("alpha.example.net:51820");
        PeerList.parsePeers(TestNode.json(sync(gamma, NOW, NOW).body()).get("peers"), false);
    }

    @Test
    void endpointsOlderThanTheTtlAreNoLongerReported() throws Exception {
        state = new DirectoryState(directoryPrivate, list(alpha.member("alpha", "10.9.0.1/32", "endpoint: \"192.168.1.5:51820\""),
                beta.member("beta", "10.9.0.2/32", "")), 10_000);
        state.probe(alpha.probe(NOW), 60, new InetSocketAddress("203.0.113.7", 40001), NOW);
        sync(alpha, NOW, NOW, "10.1.1.1:51820");
        assertThat(endpointsSeenBy(beta, alpha, NOW + 10_000))
                .containsExactly("203.0.113.7:40001", "10.1.1.1:51820", "192.168.1.5:51820");
        assertThat(endpointsSeenBy(beta, alpha, NOW + 10_001)).containsExactly("192.168.1.5:51820");
        assertThat(TestNode.json(sync(alpha, NOW + 10_002, NOW + 10_002).body()).has("observed")).isFalse();
        // A new probe brings the observed endpoint back; the declared ones came back with the sync just made.
        state.probe(alpha.probe(NOW + 10_003), 60, new InetSocketAddress("203.0.113.8", 40002), NOW + 10_003);
        assertThat(endpointsSeenBy(beta, alpha, NOW + 10_004)).containsExactly("203.0.113.8:40002", "192.168.1.5:51820");
    }

    @Test
    void aProbeRecordsTheSourceOnlyIfItsMacAndTimeAreGood() throws Exception {
        InetSocketAddress src = new InetSocketAddress("203.0.113.7", 40001);
        byte[] forged = alpha.probe(NOW);
        forged[59] ^= 1;
        assertThat(state.probe(forged, 60, src, NOW)).isFalse();
        TestNode stranger = new TestNode(rng, directoryPublic);
        assertThat(state.probe(stranger.probe(NOW), 60, src, NOW)).isFalse();
        assertThat(state.probe(alpha.probe(NOW - 200_000), 60, src, NOW)).isFalse();
        assertThat(state.probe(new byte[]{1, 0, 0, 0, 5}, 5, src, NOW)).isFalse();
        assertThat(state.probe(alpha.probe(NOW), 59, src, NOW)).isFalse();
        assertThat(state.reported(alpha.key, NOW)).extracting(Object::toString)
                .containsExactly("alpha.example.net:51820", "192.168.1.5:51820");

        DirectoryState.ProbeResult ok = state.handleProbe(alpha.probe(NOW), 60, src, NOW);
        assertThat(ok.recorded()).isTrue();
        assertThat(ok.changed()).isTrue();
        assertThat(ok.member()).isEqualTo("alpha");
        assertThat(state.handleProbe(alpha.probe(NOW), 60, src, NOW + 1).refusal()).isEqualTo(Refusal.REPLAYED);
        assertThat(state.handleProbe(alpha.probe(NOW + 1), 60, src, NOW + 1).changed()).isFalse();
        // Syncs and probes are counted apart: the same time is fresh on the other channel.
        assertThat(sync(alpha, NOW + 1, NOW + 1).status()).isEqualTo(200);
        assertThat(state.refused(Refusal.BAD_MAC, true)).isEqualTo(1);
        assertThat(state.refused(Refusal.NOT_MEMBER, true)).isEqualTo(1);
        assertThat(state.refused(Refusal.TOO_OLD, true)).isEqualTo(1);
        assertThat(state.refused(Refusal.NOT_A_PROBE, true)).isEqualTo(2);
        assertThat(state.summary()).isEqualTo("syncs: 1 answered, 0 refused; probes: 2 recorded, 6 dropped "
                + "(not a member 1, bad MAC 1, time in the past 1, replayed 1, not a probe 2)");
    }

    @Test
    void anIpv4MappedSourceIsWrittenAsIpv4AndIpv6InBrackets() throws Exception {
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = (byte) 203;
        mapped[13] = 0;
        mapped[14] = 113;
        mapped[15] = 9;
        InetAddress v6mapped = Inet6Address.getByAddress(null, mapped, -1);
        assertThat(v6mapped).isInstanceOf(Inet6Address.class);
        state.probe(alpha.probe(NOW), 60, new InetSocketAddress(v6mapped, 1234), NOW);
        assertThat(state.reported(alpha.key, NOW).getFirst()).hasToString("203.0.113.9:1234");
        state.probe(alpha.probe(NOW + 1), 60, new InetSocketAddress(InetAddress.getByName("2001:db8:0:0:0:0:0:5"), 51820), NOW + 1);
        assertThat(state.reported(alpha.key, NOW + 1).getFirst()).hasToString("[2001:db8::5]:51820");
    }

    @Test
    void replacingTheMembersKeepsWhatStayingMembersToldAndForgetsTheRest() throws Exception {
        state.probe(alpha.probe(NOW), 60, new InetSocketAddress("203.0.113.7", 40001), NOW);
        sync(beta, NOW, NOW, "10.2.2.2:51820");
        state.replaceMembers(list(alpha.member("alpha-renamed", "10.9.0.1/32", ""), gamma.member("gamma", "10.9.0.3/32", "")));
        assertThat(state.memberCount()).isEqualTo(2);
        JsonNode answer = TestNode.json(sync(gamma, NOW + 1, NOW + 1).body());
        assertThat(answer.get("peers")).hasSize(1);
        assertThat(answer.get("peers").get(0).get("name").asText()).isEqualTo("alpha-renamed");
        assertThat(answer.get("peers").get(0).get("endpoints").get(0).asText()).isEqualTo("203.0.113.7:40001");
        assertThat(sync(beta, NOW + 1, NOW + 1).refusal()).isEqualTo(Refusal.NOT_MEMBER);
    }

    @Test
    void aMemberWithALowOrderKeyMakesTheListUnusable() throws Exception {
        String zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        List<MeshPeer> bad = list(alpha.member("alpha", "10.9.0.1/32", ""),
                "{name: \"nobody\", publicKey: \"" + zero + "\", allowedIps: [\"10.9.0.9/32\"]}");
        assertThatThrownBy(() -> state.replaceMembers(bad)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'nobody'").hasMessageContaining("low-order");
        assertThat(state.memberCount()).isEqualTo(3);
        assertThatThrownBy(() -> new DirectoryState(directoryPrivate, bad, 1000)).isInstanceOf(IllegalArgumentException.class);
    }
}
