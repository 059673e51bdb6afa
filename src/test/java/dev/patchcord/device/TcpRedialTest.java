package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.transport.Origin;
import dev.patchcord.transport.PeerEndpoint;
import dev.patchcord.transport.TcpTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A TCP dialer keeps the endpoint it started with. The tunnel's endpoint table lets a peer's
 * entry go when the peer leaves (wg set ... remove, wg setconf): the dialer must still redial the
 * address it was configured with when its connection ends, not look the peer up again and find
 * nothing to dial. Loopback only, no root.
 */
class TcpRedialTest {
    @Test
    @Timeout(30)
    void aDialerRedialsItsAddressAfterItsPeerLeftTheTable() throws Exception {
        SplittableRandom rng = new SplittableRandom(9);
        Node node = new Node(X25519.generatePrivate(rng), rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        PeerEndpoints endpoints = new PeerEndpoints();
        node.setPeerRemovedListener(endpoints::remove);
        Peer peer = node.addPeer(X25519.publicKey(X25519.generatePrivate(rng)), null);
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(10_000); // a dialer that died never connects again: accept fails
            endpoints.put(peer, new PeerAddress(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), true));
            TcpTransport tcp = new TcpTransport(host(node, endpoints), () -> null, TcpTransport.Mode.TCP, 0, null);
            tcp.start();
            try {
                Socket first = server.accept();
                node.removePeer(peer);
                assertThat(endpoints.find(peer)).isNull();
                first.close(); // the connection ends: the dialer goes round again
                try (Socket second = server.accept()) {
                    assertThat(second.isConnected()).isTrue();
                }
                assertThat(endpoints.find(peer)).as("the dialer made no entry for the peer that left").isNull();
            } finally {
                tcp.close();
            }
        }
    }

    private static TcpTransport.Host host(Node node, PeerEndpoints endpoints) {
        return new TcpTransport.Host() {
            @Override
            public Collection<Peer> peers() {
                return node.peers();
            }

            @Override
            public PeerEndpoint endpoint(Peer p) {
                return endpoints.of(p);
            }

            @Override
            public boolean stopping() {
                return false;
            }

            @Override
            public TcpTransport.Inbound inbound(Arena arena) {
                ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
                return new TcpTransport.Inbound() {
                    @Override
                    public ByteBuffer buffer() {
                        return buffer;
                    }

                    @Override
                    public void handle(int n, Origin from) {
                    }
                };
            }
        };
    }
}
