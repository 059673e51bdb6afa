package dev.patchcord.control.directory;

import com.fasterxml.jackson.databind.JsonNode;
import dev.patchcord.control.CaTrust;
import dev.patchcord.control.PeerList;
import dev.patchcord.core.mesh.DirectoryAuth;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.testing.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The directory over real HTTPS and UDP on 127.0.0.1, with a certificate from a throwaway CA that
 * the client trusts; syncs use the wall clock, as nodes do.
 */
@Timeout(120)
class DirectoryServerTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    static Path dir;
    private static final SplittableRandom RNG = new SplittableRandom(11);
    private static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    private static final AtomicLong LAST_TIME = new AtomicLong();
    private static byte[] directoryPublic;
    private static TestNode alpha, beta;
    private static Path membersFile;
    private static DirectoryServer server;
    private static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = new TestPki(dir);
        Path store = pki.leaf("directory", "EC");
        byte[] directoryPrivate = X25519.generatePrivate(RNG);
        directoryPublic = X25519.publicKey(directoryPrivate);
        alpha = new TestNode(RNG, directoryPublic);
        beta = new TestNode(RNG, directoryPublic);
        membersFile = Files.writeString(dir.resolve("members.json"), "{peers: [" + alpha.member("alpha", "10.9.0.1/32", "")
                + "," + beta.member("beta", "10.9.0.2/32", "endpoint: \"198.51.100.9:51820\"") + "]}");
        MembersFile members = new MembersFile(membersFile);
        DirectoryState state = new DirectoryState(directoryPrivate, members.load(), DirectoryState.DEFAULT_TTL_MILLIS);
        server = DirectoryServer.start(new DirectoryServer.Settings(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                TlsMaterial.fromPkcs12(store, pki.passwordFile()).context(), true), state, members,
                new PrintStream(LOG, true), System::currentTimeMillis);
        client = HttpClient.newBuilder().sslContext(CaTrust.context(pki.caPem(), null)).connectTimeout(TIMEOUT).build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (client != null) {
            client.close();
        }
    }

    /** The wall clock, but never the same millisecond twice: each request must be later than the last. */
    private static long time() {
        return LAST_TIME.updateAndGet(last -> Math.max(last + 1, System.currentTimeMillis()));
    }

    private static URI uri(String path) {
        return URI.create("https://127.0.0.1:" + server.address().getPort() + path);
    }

    private static HttpResponse<byte[]> post(byte[] body, String mac) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri("/v1/sync")).timeout(TIMEOUT)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).header("Content-Type", "application/json");
        if (mac != null) {
            b.header("Patchcord-Mac", mac);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static HttpResponse<byte[]> sync(TestNode node, String... endpoints) throws Exception {
        byte[] body = node.body(time(), endpoints);
        return post(body, node.mac(body));
    }

    private static String error(HttpResponse<byte[]> r) throws Exception {
        return TestNode.json(r.body()).get("error").asText();
    }

    private static List<String> endpointsOf(JsonNode answer, TestNode peer) {
        List<String> out = new ArrayList<>();
        for (JsonNode p : answer.get("peers")) {
            if (p.get("publicKey").asText().equals(peer.key)) {
                p.get("endpoints").forEach(e -> out.add(e.asText()));
            }
        }
        return out;
    }

    @Test
    void aValidSyncGets200WithAVerifiedMacAndTheOtherMembers() throws Exception {
        HttpResponse<byte[]> r = sync(alpha, "192.168.1.5:51820");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        String mac = r.headers().firstValue("Patchcord-Mac").orElseThrow();
        assertThat(DirectoryAuth.verify(DirectoryAuth.pairKey(alpha.privateKey, directoryPublic), r.body(),
                Base64.getDecoder().decode(mac))).isTrue();
        JsonNode answer = TestNode.json(r.body());
        assertThat(PeerList.parsePeers(answer.get("peers"), false)).extracting(p -> p.publicKey()).containsExactly(beta.key);

        JsonNode seenByBeta = TestNode.json(sync(beta).body());
        assertThat(endpointsOf(seenByBeta, alpha)).contains("192.168.1.5:51820");
    }

    @Test
    void aForgedRegistrationIsRefusedWith403() throws Exception {
        byte[] forger = X25519.generatePrivate(RNG);
        byte[] body = alpha.body(time(), "203.0.113.66:666");
        String mac = Base64.getEncoder().encodeToString(DirectoryAuth.mac(DirectoryAuth.pairKey(forger, directoryPublic), body));
        HttpResponse<byte[]> r = post(body, mac);
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(error(r)).isEqualTo("bad MAC");
        assertThat(r.headers().firstValue("Patchcord-Mac")).isEmpty();
        assertThat(endpointsOf(TestNode.json(sync(beta).body()), alpha)).doesNotContain("203.0.113.66:666");
        assertThat(LOG.toString()).contains("refused (403): bad MAC");
    }

    @Test
    void nonMembersReplaysAndStaleTimesAre403() throws Exception {
        TestNode stranger = new TestNode(RNG, directoryPublic);
        assertThat(error(sync(stranger))).isEqualTo("not a member");
        byte[] body = beta.body(time());
        assertThat(post(body, beta.mac(body)).statusCode()).isEqualTo(200);
        HttpResponse<byte[]> replay = post(body, beta.mac(body));
        assertThat(replay.statusCode()).isEqualTo(403);
        assertThat(error(replay)).contains("replay");
        byte[] old = beta.body(System.currentTimeMillis() - 121_000);
        assertThat(error(post(old, beta.mac(old)))).contains("in the past");
    }

    @Test
    void wrongMethodsPathsAndSizesAndGarbage() throws Exception {
        HttpResponse<byte[]> get = client.send(HttpRequest.newBuilder(uri("/v1/sync")).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(get.statusCode()).isEqualTo(405);
        assertThat(get.headers().firstValue("Allow")).hasValue("POST");
        assertThat(error(get)).isEqualTo("method not allowed");

        HttpResponse<byte[]> none = client.send(HttpRequest.newBuilder(uri("/v1/sync/extra")).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(none.statusCode()).isEqualTo(404);
        assertThat(none.headers().firstValue("Content-Type")).hasValue("application/json");

        assertThat(post(new byte[DirectoryState.MAX_BODY + 1], null).statusCode()).isEqualTo(413);
        byte[] garbage = "{\"publicKey\": ".getBytes();
        assertThat(post(garbage, alpha.mac(garbage)).statusCode()).isEqualTo(400);

        HttpResponse<byte[]> key = client.send(HttpRequest.newBuilder(uri("/v1/key")).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(key.statusCode()).isEqualTo(200);
        assertThat(TestNode.json(key.body()).get("publicKey").asText()).isEqualTo(Keys.toBase64(directoryPublic));
    }

    @Test
    void aProbeFromAUdpSocketBecomesTheObservedEndpointAndABadOneDoesNot() throws Exception {
        InetSocketAddress directory = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.address().getPort());
        try (DatagramSocket good = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             DatagramSocket bad = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            byte[] forged = alpha.probe(time());
            forged[50] ^= 1;
            bad.send(new DatagramPacket(forged, forged.length, directory));
            byte[] junk = "hello".getBytes();
            bad.send(new DatagramPacket(junk, junk.length, directory));
            byte[] probe = alpha.probe(time());
            good.send(new DatagramPacket(probe, probe.length, directory));

            String expected = "127.0.0.1:" + good.getLocalPort();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            List<String> seen;
            do {
                Thread.sleep(20);
                seen = endpointsOf(TestNode.json(sync(beta).body()), alpha);
            } while (!seen.contains(expected) && System.nanoTime() < deadline);
            assertThat(seen.getFirst()).isEqualTo(expected);
            assertThat(seen).doesNotContain("127.0.0.1:" + bad.getLocalPort());
            assertThat(TestNode.json(sync(alpha).body()).get("observed").asText()).isEqualTo(expected);
            assertThat(server.state().refused(Refusal.BAD_MAC, true)).isEqualTo(1);
            assertThat(server.state().refused(Refusal.NOT_A_PROBE, true)).isEqualTo(1);
            assertThat(LOG.toString()).contains("observed endpoint of 'alpha': " + expected);
        }
    }

    @Test
    void aBrokenMembersFileIsReportedOnceAndTheMembersStay() throws Exception {
        Files.writeString(membersFile, "{peers: [ this is not a peer list");
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!LOG.toString().contains("keeping the previous 2 members") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(LOG.toString()).containsOnlyOnce("members file " + membersFile + ": not valid JSON");
        assertThat(sync(alpha).statusCode()).isEqualTo(200);
        assertThat(server.state().memberCount()).isEqualTo(2);
    }
}
