package dev.patchcord.control.directory;

import com.fasterxml.jackson.databind.JsonNode;
import dev.patchcord.control.MeshPeer;
import dev.patchcord.control.PeerList;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two directory servers of one mesh sharing through a store in memory: what each answers is the
 * newer of what it recorded and what the other did, within the TTL; a store that is down is said
 * once and written again when it is back.
 */
class SharedRegistrationsTest {
    private static final long NOW = 1_763_780_000_000L;
    private static final long TTL = DirectoryState.DEFAULT_TTL_MILLIS;

    private final SplittableRandom rng = new SplittableRandom(11);
    private final MemoryDirectoryStore store = new MemoryDirectoryStore();
    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);
    private TestNode alpha, beta, stranger;
    private DirectoryState one, two;
    private SharedRegistrations sharingOne, sharingTwo;

    @BeforeEach
    void twoServers() throws Exception {
        byte[] directoryPrivate = X25519.generatePrivate(rng);
        byte[] directoryPublic = X25519.publicKey(directoryPrivate);
        alpha = new TestNode(rng, directoryPublic);
        beta = new TestNode(rng, directoryPublic);
        stranger = new TestNode(rng, directoryPublic);
        List<MeshPeer> members = PeerList.parse("{peers: [" + alpha.member("alpha", "10.9.0.1/32", "") + ","
                + beta.member("beta", "10.9.0.2/32", "endpoints: [\"beta.example.net:51820\"]") + "]}", true);
        one = new DirectoryState(directoryPrivate, members, TTL);
        two = new DirectoryState(directoryPrivate, members, TTL);
        sharingOne = SharedRegistrations.start(store, one, "cluster mesh in memory", log);
        sharingTwo = SharedRegistrations.start(store, two, "cluster mesh in memory", log);
    }

    @AfterEach
    void close() {
        sharingOne.close();
        sharingTwo.close();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    private void settle() throws InterruptedException {
        await("both servers settled", () -> sharingOne.settled() && sharingTwo.settled());
    }

    private static JsonNode sync(DirectoryState server, TestNode node, long now, String... endpoints) throws Exception {
        byte[] body = node.body(now, endpoints);
        DirectoryState.SyncResult r = server.sync(body, node.mac(body), now);
        assertThat(r.status()).as(r.error()).isEqualTo(200);
        return TestNode.json(r.body());
    }

    private static boolean probe(DirectoryState server, TestNode node, long now, InetSocketAddress from) {
        byte[] p = node.probe(now);
        return server.handleProbe(p, p.length, from, now).recorded();
    }

    /**
     * The endpoints of {@code about} in an answer to {@code asker} from {@code server}; the asker
     * declares {@code askerEndpoints} (a sync is a declaration too).
     */
    private static List<String> seen(DirectoryState server, TestNode asker, TestNode about, long now, String... askerEndpoints)
            throws Exception {
        for (JsonNode p : sync(server, asker, now, askerEndpoints).get("peers")) {
            if (p.get("publicKey").asText().equals(about.key)) {
                List<String> out = new ArrayList<>();
                p.get("endpoints").forEach(e -> out.add(e.asText()));
                return out;
            }
        }
        throw new AssertionError("not in the answer");
    }

    private String log() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void eachServerAnswersWithWhatTheOtherRecorded() throws Exception {
        sync(one, alpha, NOW, "192.168.1.5:51820");
        sync(two, beta, NOW + 10, "10.0.0.7:51820", "[2001:db8::7]:51820");
        assertThat(probe(two, beta, NOW + 20, new InetSocketAddress("203.0.113.7", 40001))).isTrue();
        settle();
        assertThat(seen(one, alpha, beta, NOW + 30, "192.168.1.5:51820"))
                .containsExactly("203.0.113.7:40001", "10.0.0.7:51820", "[2001:db8::7]:51820", "beta.example.net:51820");
        assertThat(seen(two, beta, alpha, NOW + 40, "10.0.0.7:51820")).containsExactly("192.168.1.5:51820");
        // The probe's source is beta's own "observed" at the server it did not probe too.
        assertThat(sync(one, beta, NOW + 50, "10.0.0.7:51820").get("observed").asText()).isEqualTo("203.0.113.7:40001");
        assertThat(log()).isEmpty();
    }

    @Test
    void theNewerRecordWinsPartByPartAndTheTtlStillApplies() throws Exception {
        sync(one, alpha, NOW, "192.168.1.5:51820");
        settle();
        sync(two, alpha, NOW + 1000, "192.168.1.6:51820"); // alpha moved to the other server, and elsewhere
        settle();
        assertThat(seen(one, beta, alpha, NOW + 2000)).containsExactly("192.168.1.6:51820");
        assertThat(probe(two, alpha, NOW + 3000, new InetSocketAddress("198.51.100.1", 5000))).isTrue();
        settle();
        // Server one's own, older declaration does not hide the newer one, and the probe adds to it.
        assertThat(seen(one, beta, alpha, NOW + 4000)).containsExactly("198.51.100.1:5000", "192.168.1.6:51820");
        assertThat(seen(one, beta, alpha, NOW + 1000 + TTL)).containsExactly("198.51.100.1:5000", "192.168.1.6:51820");
        assertThat(seen(one, beta, alpha, NOW + 3001 + TTL)).isEmpty();
    }

    @Test
    void theSameDeclarationIsWrittenAgainOnlyAfterAThirdOfTheTtl() throws Exception {
        sync(one, alpha, NOW, "192.168.1.5:51820");
        settle();
        int after = store.puts;
        for (long t = NOW + 1000; t <= NOW + TTL / 3; t += 10_000) {
            sync(one, alpha, t, "192.168.1.5:51820");
        }
        settle();
        assertThat(store.puts).isEqualTo(after);
        sync(one, alpha, NOW + TTL / 3 + 1, "192.168.1.5:51820");
        settle();
        assertThat(store.puts).isEqualTo(after + 1);
        sync(one, alpha, NOW + TTL / 3 + 2, "192.168.1.9:51820");
        settle();
        assertThat(store.puts).as("a change is written at once").isEqualTo(after + 2);
        assertThat(seen(two, beta, alpha, NOW + TTL / 3 + 3)).containsExactly("192.168.1.9:51820");
    }

    @Test
    void aStoreThatIsDownIsSaidOnceAndWrittenAgainWhenBack() throws Exception {
        settle();
        store.down(true);
        for (int i = 0; i < 5; i++) {
            sync(one, alpha, NOW + i * 1000, "192.168.1." + (10 + i) + ":51820");
            assertThat(seen(one, beta, alpha, NOW + i * 1000 + 1)).containsExactly("192.168.1." + (10 + i) + ":51820");
        }
        await("the outage is reported", () -> log().contains("did not answer"));
        await("both servers report it", () -> log().lines().filter(l -> l.contains("did not answer")).count() == 2);
        assertThat(log().lines().filter(l -> l.contains("did not answer")).count()).as("once each").isEqualTo(2);
        assertThat(log()).contains("patchcord: directory: cluster mesh in memory: etcd at memory did not answer")
                .contains("answering from what this server knows until the store is back");
        store.down(false);
        settle();
        assertThat(log().lines().filter(l -> l.equals("patchcord: directory: cluster mesh in memory: the store answers again; "
                + "registrations are shared again")).count()).isEqualTo(2);
        assertThat(seen(two, beta, alpha, NOW + 5000)).as("the newest record, written when the store was back")
                .containsExactly("192.168.1.14:51820");
    }

    @Test
    void entriesOfStrangersAreKeptOutAndUnreadableOnesSkipped() throws Exception {
        store.putRaw(stranger.publicKey, ("declared=192.0.2.1:1\ndeclared-at=" + NOW + "\n").getBytes(StandardCharsets.UTF_8));
        store.putRaw(beta.publicKey, ("declared=not an endpoint\ndeclared-at=" + NOW + "\n").getBytes(StandardCharsets.UTF_8));
        store.putRaw(alpha.publicKey, ("declared=999.1.1.1:5\ndeclared-at=" + NOW + "\n").getBytes(StandardCharsets.UTF_8));
        settle();
        JsonNode answer = sync(one, alpha, NOW + 10);
        assertThat(answer.get("peers")).hasSize(1);
        assertThat(seen(one, alpha, beta, NOW + 20)).containsExactly("beta.example.net:51820");
        assertThat(log()).contains("skipped").contains("not an endpoint").contains("999.1.1.1:5");
    }
}
