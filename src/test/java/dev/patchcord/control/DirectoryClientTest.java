package dev.patchcord.control;

import dev.patchcord.core.mesh.DirectoryAuth;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A node's checks on what the directory answers: anything wrong is refused, in one line. */
class DirectoryClientTest {
    private final SplittableRandom rng = new SplittableRandom(11);
    private final byte[] nodeKey = X25519.generatePrivate(rng);
    private final byte[] dirKey = X25519.generatePrivate(rng);
    private final DirectoryClient client = new DirectoryClient(URI.create("https://dir.example:8443"), nodeKey,
            X25519.publicKey(dirKey), null);
    private final byte[] pair = DirectoryAuth.pairKey(dirKey, X25519.publicKey(nodeKey));
    private final String other = Keys.toBase64(X25519.publicKey(X25519.generatePrivate(rng)));

    private String mac(byte[] body, byte[] key) {
        return Base64.getEncoder().encodeToString(DirectoryAuth.mac(key, body));
    }

    private byte[] answer(long request, String peers) {
        return ("{\"time\":5,\"request\":" + request + ",\"observed\":\"203.0.113.7:40001\",\"peers\":" + peers + "}")
                .getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theRequestIsSignedWithThePairKey() throws Exception {
        byte[] body = client.requestBody(List.of(Endpoint.parse("192.168.1.5:51820")), 1234);
        var json = PeerList.mapper().readTree(body);
        assertThat(json.get("publicKey").asText()).isEqualTo(Keys.toBase64(X25519.publicKey(nodeKey)));
        assertThat(json.get("time").asLong()).isEqualTo(1234);
        assertThat(json.get("endpoints").get(0).asText()).isEqualTo("192.168.1.5:51820");
        // What the directory can check with its own private key and the node's public key:
        assertThat(DirectoryAuth.verify(pair, body, DirectoryAuth.mac(DirectoryAuth.pairKey(nodeKey, X25519.publicKey(dirKey)), body)))
                .isTrue();
    }

    @Test
    void aGoodAnswerGivesThePeersAndTheObservedEndpoint() throws Exception {
        byte[] body = answer(77, "[{\"name\":\"b\",\"publicKey\":\"" + other + "\",\"allowedIps\":[\"10.9.0.2/32\"],"
                + "\"endpoints\":[\"198.51.100.9:51820\"],\"futureField\":1}]");
        DirectoryClient.Answer a = client.check(200, mac(body, pair), body, 77);
        assertThat(a.observed()).isEqualTo("203.0.113.7:40001");
        assertThat(a.peers()).singleElement().satisfies(p -> {
            assertThat(p.name()).isEqualTo("b");
            assertThat(p.endpoints()).extracting(Endpoint::toString).containsExactly("198.51.100.9:51820");
        });
    }

    @Test
    void anAnswerNotMadeWithTheDirectoryKeyIsRefused() {
        byte[] body = answer(77, "[]");
        byte[] forger = DirectoryAuth.pairKey(X25519.generatePrivate(rng), X25519.publicKey(nodeKey));
        assertThatThrownBy(() -> client.check(200, mac(body, forger), body, 77)).hasMessageContaining("MAC does not verify");
        assertThatThrownBy(() -> client.check(200, null, body, 77)).hasMessageContaining("MAC does not verify");
        assertThatThrownBy(() -> client.check(200, "%%%", body, 77)).hasMessageContaining("MAC does not verify");
    }

    @Test
    void anAnswerToAnotherRequestIsRefused() {
        byte[] body = answer(76, "[]");
        assertThatThrownBy(() -> client.check(200, mac(body, pair), body, 77)).hasMessageContaining("not for this request");
    }

    @Test
    void malformedAnswersAreRefusedWithTheReason() {
        byte[] notJson = "{peers".getBytes();
        assertThatThrownBy(() -> client.check(200, mac(notJson, pair), notJson, 77)).hasMessageContaining("not valid JSON");
        byte[] badPeers = answer(77, "[{\"publicKey\":\"short\"}]");
        assertThatThrownBy(() -> client.check(200, mac(badPeers, pair), badPeers, 77))
                .hasMessageContaining("the answer's peer list: peer 1: 'publicKey'");
        byte[] noPeers = answer(77, "3");
        assertThatThrownBy(() -> client.check(200, mac(noPeers, pair), noPeers, 77)).hasMessageContaining("'peers'");
        byte[] badObserved = "{\"request\":77,\"observed\":\"nowhere\",\"peers\":[]}".getBytes();
        assertThatThrownBy(() -> client.check(200, mac(badObserved, pair), badObserved, 77)).hasMessageContaining("'observed'");
    }

    @Test
    void aRefusalSaysWhatTheDirectorySaid() {
        byte[] body = "{\"error\":\"not a member\"}".getBytes();
        assertThatThrownBy(() -> client.check(403, null, body, 77))
                .hasMessage("HTTP 403 from https://dir.example:8443/v1/sync: not a member");
        assertThatThrownBy(() -> client.check(502, null, "<html>".getBytes(), 77))
                .hasMessage("HTTP 502 from https://dir.example:8443/v1/sync");
    }

    @Test
    void aBadAnswerKeepsTheLastGoodTable() {
        byte[] good = answer(1, "[{\"publicKey\":\"" + other + "\",\"allowedIps\":[\"10.9.0.2/32\"]}]");
        byte[] forged = answer(2, "[]");
        byte[] malformed = answer(3, "[{\"publicKey\":1}]");
        java.util.concurrent.atomic.AtomicInteger round = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<List<MeshPeer>> installed = new java.util.concurrent.atomic.AtomicReference<>();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        Refresher<List<MeshPeer>> r = new Refresher<>(() -> switch (round.incrementAndGet()) {
            case 1 -> client.check(200, mac(good, pair), good, 1).peers();
            case 2 -> client.check(200, mac(forged, X25519.generatePrivate(rng)), forged, 2).peers();
            default -> client.check(200, mac(malformed, pair), malformed, 3).peers();
        }, installed::set, 30, new java.io.PrintStream(err, true), "mesh0", "directory's table");
        assertThat(r.refresh()).isTrue();
        List<MeshPeer> table = installed.get();
        assertThat(table).hasSize(1);
        assertThat(r.refresh()).isFalse();
        assertThat(r.refresh()).isFalse();
        assertThat(installed.get()).isSameAs(table);
        assertThat(err.toString()).contains("MAC does not verify").contains("peer 1: 'publicKey'")
                .contains("keeping the previous one").hasLineCount(2);
    }
}
