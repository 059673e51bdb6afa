package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.control.DirectoryClient;
import dev.patchcord.control.DirectoryClient.DirectoryException;
import dev.patchcord.control.MeshPeer;
import dev.patchcord.control.PeerList;
import dev.patchcord.control.PeerList.PeerListException;
import dev.patchcord.control.directory.DirectoryState;
import dev.patchcord.control.directory.MembersFile;
import dev.patchcord.core.mesh.DirectoryAuth;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.AfterAll;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Both ends of the mesh directory. The node reads the directory's answer; the directory reads a
 * node's sync request and its own members file. Answers and requests carry a MAC, so to reach the
 * parsers behind it every fuzzed body is signed here with the right pair key: the input is what a
 * member (or a compromised directory) could send. Contract: a result, or the parser's own refusal
 * with a printable message; the directory always answers with a status and, when it refuses, a
 * reason; nothing throws.
 */
class DirectoryFuzzTest {
    /** The time the node put in its request; an answer must echo it. */
    static final long SENT = 1_763_800_000_000L;
    static final byte[] NODE_KEY;
    static final byte[] DIRECTORY_KEY;
    static final byte[] PAIR_KEY;
    private static final DirectoryClient CLIENT;
    private static final Method CHECK = Contract.method("dev.patchcord.control.DirectoryClient", "check",
            int.class, String.class, byte[].class, long.class);
    private static final Method SYNC_REQUEST = Contract.method("dev.patchcord.control.directory.SyncRequest", "parse",
            byte[].class);
    private static final Method SYNC_PUBLIC_KEY = Contract.method("dev.patchcord.control.directory.SyncRequest",
            "publicKey");
    private static final Method SYNC_ENDPOINTS = Contract.method("dev.patchcord.control.directory.SyncRequest",
            "endpoints");
    private static final Class<?> MALFORMED;
    private static Path membersDir;

    static {
        SplittableRandom rng = new SplittableRandom(11);
        NODE_KEY = X25519.generatePrivate(rng.split());
        DIRECTORY_KEY = X25519.generatePrivate(rng.split());
        PAIR_KEY = DirectoryAuth.pairKey(NODE_KEY, X25519.publicKey(DIRECTORY_KEY));
        CLIENT = new DirectoryClient(URI.create("https://directory.invalid"), NODE_KEY, X25519.publicKey(DIRECTORY_KEY),
                null);
        try {
            MALFORMED = Class.forName("dev.patchcord.control.directory.SyncRequest$MalformedException");
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }

    static String mac(byte[] body) {
        return Base64.getEncoder().encodeToString(DirectoryAuth.mac(PAIR_KEY, body));
    }

    /** The directory's answer to a sync, correctly signed, as the node receives it. */
    @FuzzTest
    void answer(byte[] body) {
        DirectoryClient.Answer a = Contract.parseOrRefuse(DirectoryException.class,
                () -> (DirectoryClient.Answer) Contract.call(CHECK, CLIENT, 200, mac(body), body, SENT));
        if (a == null) {
            return;
        }
        assertThat(a.peers().size()).isLessThanOrEqualTo(PeerList.MAX_PEERS);
        for (MeshPeer p : a.peers()) {
            assertThat(p.endpoints().size()).isLessThanOrEqualTo(PeerList.MAX_ENDPOINTS);
        }
    }

    /**
     * A sync request's body as the directory parses it, after the MAC has been checked: refused
     * with a printable reason, or a request within the limits the directory relies on (a key
     * that decodes to 32 bytes, at most {@link PeerList#MAX_ENDPOINTS} endpoints, no duplicates).
     */
    @FuzzTest
    void syncRequest(byte[] body) throws Exception {
        Object r = Contract.parseOrRefuse(Exception.class, () -> {
            try {
                return Contract.call(SYNC_REQUEST, null, (Object) body);
            } catch (Exception e) {
                assertThat(e).isInstanceOf(MALFORMED);
                throw e;
            }
        });
        if (r != null) {
            String key = (String) Contract.call(SYNC_PUBLIC_KEY, r);
            assertThat(Keys.fromBase64(key)).hasSize(32);
            List<?> endpoints = (List<?>) Contract.call(SYNC_ENDPOINTS, r);
            assertThat(endpoints).hasSizeLessThanOrEqualTo(PeerList.MAX_ENDPOINTS).doesNotHaveDuplicates();
        }
    }

    /**
     * The whole of the directory's sync handling, for a member that signs whatever it sends: the
     * answer is 200 with a signed body, or a refusal with a status, a reason and an error text.
     */
    @FuzzTest
    void sync(byte[] body) {
        MeshPeer node = new MeshPeer(Keys.toBase64(X25519.publicKey(NODE_KEY)), "node", List.of(), List.of(), 0, false);
        DirectoryState state = new DirectoryState(DIRECTORY_KEY, List.of(node), DirectoryState.DEFAULT_TTL_MILLIS);
        DirectoryState.SyncResult r = state.sync(body, mac(body), SENT + 1_000);
        assertThat(r).isNotNull();
        if (r.ok()) {
            assertThat(r.status()).isEqualTo(200);
            assertThat(DirectoryAuth.verify(PAIR_KEY, r.body(), Base64.getDecoder().decode(r.mac()))).isTrue();
        } else {
            assertThat(r.status()).isBetween(400, 599);
            Contract.assertPrintable(r.error());
        }
    }

    /** The directory's members file (written by its operator, re-read when it changes). */
    @FuzzTest
    void membersFile(byte[] file) throws IOException {
        Path path = membersDir().resolve("members.json");
        Files.write(path, file);
        List<MeshPeer> peers = Contract.parseOrRefuse(PeerListException.class, () -> new MembersFile(path).load());
        if (peers != null) {
            assertThat(peers.size()).isLessThanOrEqualTo(PeerList.MAX_PEERS);
        }
    }

    private static synchronized Path membersDir() {
        if (membersDir == null) {
            try {
                membersDir = Files.createTempDirectory("patchcord-fuzz-members");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return membersDir;
    }

    @AfterAll
    static void removeMembersDir() throws IOException {
        if (membersDir != null) {
            Files.deleteIfExists(membersDir.resolve("members.json"));
            Files.deleteIfExists(membersDir);
        }
    }
}
