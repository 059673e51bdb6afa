package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.device.PeerEndpoints;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The peers-file and directory lists applied to a live node (routes off: no {@code ip} here). */
class MeshPeersTest {
    private final SplittableRandom rng = new SplittableRandom(3);
    private final byte[] own = X25519.generatePrivate(rng);
    private final Node node = new Node(own, rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
    private final String self = Keys.toBase64(X25519.publicKey(own));
    private final String a = key(), b = key(), fixed = key();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final PeerEndpoints endpoints = new PeerEndpoints();
    private final MeshPeers mesh = new MeshPeers(node, endpoints, "mesh0", false, null, Set.of(fixed), Set.of(), new PrintStream(err, true),
            null, () -> 1_000_000_000_000L);

    private String key() {
        return Keys.toBase64(X25519.publicKey(X25519.generatePrivate(rng)));
    }

    private static MeshPeer peer(String key, String ips, String endpoint) {
        return new MeshPeer(key, null, ips.isEmpty() ? List.of() : List.of(Cidr.parse(ips)),
                endpoint == null ? List.of() : List.of(Endpoint.parse(endpoint)), 0, false);
    }

    private List<String> allowed(String key) {
        return node.allowedIps().of(node.peer(Keys.fromBase64(key))).stream().map(Cidr::toString).toList();
    }

    @Test
    void addsPeersWithAddressesEndpointsAndKeepaliveButNeverItselfOrAConfiguredPeer() {
        mesh.update(MeshSources.FILE, List.of(peer(self, "10.9.0.1/32", null), peer(a, "10.9.0.2/32", "127.0.0.2:51820"),
                new MeshPeer(b, "bee", List.of(Cidr.parse("10.9.0.3/32")), List.of(), 25, false),
                peer(fixed, "10.9.0.4/32", null)));
        assertThat(mesh.size()).isEqualTo(2);
        assertThat(node.peers()).hasSize(2);
        assertThat(allowed(a)).containsExactly("10.9.0.2/32");
        assertThat(endpoints.of(node.peer(Keys.fromBase64(a))).describe())
                .isEqualTo(new InetSocketAddress("127.0.0.2", 51820));
        assertThat(node.peer(Keys.fromBase64(b)).persistentKeepalive()).isEqualTo(25);
        assertThat(err.toString()).contains("lists " + fixed.substring(0, 8) + "…, which has a [Peer] section");
    }

    @Test
    void aChangedListIsAppliedInPlaceSoUnchangedAndChangedPeersKeepTheirState() {
        mesh.update(MeshSources.FILE, List.of(peer(a, "10.9.0.2/32", "127.0.0.2:1"), peer(b, "10.9.0.3/32", null)));
        Peer peerA = node.peer(Keys.fromBase64(a));
        Peer peerB = node.peer(Keys.fromBase64(b));
        mesh.update(MeshSources.FILE, List.of(peer(a, "10.9.0.2/32", "127.0.0.2:1"), peer(b, "10.9.7.0/24", "127.0.0.3:2")));
        assertThat(node.peer(Keys.fromBase64(a))).isSameAs(peerA);
        assertThat(node.peer(Keys.fromBase64(b))).isSameAs(peerB);
        assertThat(allowed(b)).containsExactly("10.9.7.0/24");
        assertThat(endpoints.of(peerB).describe()).isEqualTo(new InetSocketAddress("127.0.0.3", 2));
        mesh.update(MeshSources.FILE, List.of(peer(b, "10.9.7.0/24", "127.0.0.3:2")));
        assertThat(node.peer(Keys.fromBase64(a))).isNull();
        assertThat(node.allowedIps().forDestination(java.nio.ByteBuffer.wrap(ipv4To(10, 9, 0, 2)), 0, 20)).isNull();
        assertThat(node.peer(Keys.fromBase64(b))).isSameAs(peerB);
    }

    @Test
    void twoSourcesAreMergedAndTheFirstToNameAKeyWins() {
        mesh.update(MeshSources.FILE, List.of(peer(a, "10.9.0.2/32", null)));
        mesh.update(MeshSources.DIRECTORY, List.of(peer(a, "10.9.9.9/32", null), peer(b, "10.9.0.3/32", null)));
        assertThat(mesh.size()).isEqualTo(2);
        assertThat(allowed(a)).containsExactly("10.9.0.2/32");
        assertThat(err.toString()).contains("directory lists " + a.substring(0, 8) + "… again; the first source wins");
        mesh.update(MeshSources.DIRECTORY, List.of());
        assertThat(mesh.size()).isEqualTo(1);
        assertThat(allowed(a)).containsExactly("10.9.0.2/32");
    }

    @Test
    void aNewPeerWithAnEndpointIsKickedAtTheFirstTickSoBothNatsOpen() {
        mesh.update(MeshSources.DIRECTORY, List.of(peer(a, "10.9.0.2/32", "127.0.0.2:1")));
        mesh.tick();
        // A kicked peer without a session starts a handshake at its next poll.
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(2048);
        int n = node.peer(Keys.fromBase64(a)).poll(buf, 1_000_000_000_000L, 1_700_000_000_000_000_000L,
                new dev.patchcord.core.wg.DataCipher());
        assertThat(n).isEqualTo(148);
        assertThat(buf.get(0)).isEqualTo((byte) 1); // a handshake initiation
        assertThat(mesh.paths()).containsEntry(a, dev.patchcord.core.mesh.PathState.Path.TRYING);
    }

    private static byte[] ipv4To(int a, int b, int c, int d) {
        byte[] p = new byte[20];
        p[0] = 0x45;
        p[16] = (byte) a;
        p[17] = (byte) b;
        p[18] = (byte) c;
        p[19] = (byte) d;
        return p;
    }
}
