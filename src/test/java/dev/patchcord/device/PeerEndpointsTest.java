package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class PeerEndpointsTest {
    private final SplittableRandom rng = new SplittableRandom(5);
    private final Node node = new Node(X25519.generatePrivate(rng), rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
    private final PeerEndpoints endpoints = new PeerEndpoints();

    private Peer peer() {
        return node.addPeer(X25519.publicKey(X25519.generatePrivate(rng)), null);
    }

    @Test
    void aPeerWithoutOneGetsOneLearningEndpointOnFirstUseAndKeepsIt() {
        Peer p = peer();
        assertThat(endpoints.find(p)).as("nothing made up by a look that must not create").isNull();
        PeerAddress a = endpoints.of(p);
        assertThat(a.current()).isNull();
        assertThat(endpoints.of(p)).isSameAs(a);
        assertThat(endpoints.find(p)).isSameAs(a);
    }

    @Test
    void theConfigurationsEndpointIsTheOneUsed() {
        Peer p = peer();
        PeerAddress configured = new PeerAddress(new InetSocketAddress("192.0.2.1", 51820), true);
        endpoints.put(p, configured);
        assertThat(endpoints.of(p)).isSameAs(configured);
    }

    @Test
    void endpointsGoWithTheirPeers() {
        Peer kept = peer();
        Peer removed = peer();
        Peer alsoRemoved = peer();
        endpoints.of(kept);
        endpoints.of(removed);
        endpoints.of(alsoRemoved);
        endpoints.remove(removed);
        assertThat(endpoints.find(removed)).isNull();
        node.removePeer(alsoRemoved);
        endpoints.retainPeersOf(node);
        assertThat(endpoints.find(alsoRemoved)).isNull();
        assertThat(endpoints.find(kept)).isNotNull();
        Peer again = node.addPeer(alsoRemoved.publicKey(), null);
        assertThat(endpoints.find(again)).as("a peer added again starts afresh").isNull();
    }
}
