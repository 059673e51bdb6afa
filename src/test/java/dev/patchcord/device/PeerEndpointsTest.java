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

    {
        node.setPeerRemovedListener(endpoints::remove); // as the tunnel installs it
    }

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
    void endpointsGoWithTheirPeersWhicheverWayTheyLeave() {
        Peer kept = peer();
        Peer removed = peer();
        Peer replaced = peer();
        endpoints.of(kept);
        endpoints.of(removed);
        endpoints.of(replaced);
        endpoints.remove(removed);
        assertThat(endpoints.find(removed)).isNull();
        node.removePeer(replaced);
        assertThat(endpoints.find(replaced)).as("the node's listener took it out").isNull();
        assertThat(endpoints.find(kept)).isNotNull();
        Peer again = node.addPeer(replaced.publicKey(), null);
        assertThat(endpoints.find(again)).as("a peer added again starts afresh").isNull();
    }

    @Test
    void aPeerWhoseKeyBecomesOursLeavesNoEndpoint() {
        byte[] key = X25519.generatePrivate(rng);
        Peer soonOurs = node.addPeer(X25519.publicKey(key), null);
        endpoints.of(soonOurs);
        node.setPrivateKey(key);
        assertThat(soonOurs.removed()).isTrue();
        assertThat(endpoints.find(soonOurs)).isNull();
    }

    @Test
    void aLateLookUpOfARemovedPeerPinsNothing() {
        Peer gone = peer();
        node.removePeer(gone);
        // A loop working from a peer list read before the removal still gets an endpoint to use...
        assertThat(endpoints.of(gone)).isNotNull();
        // ...but the table does not keep it.
        assertThat(endpoints.find(gone)).isNull();
    }
}
