package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.transport.Origin;
import dev.patchcord.transport.PeerEndpoint;
import dev.patchcord.transport.TcpFrames;
import dev.patchcord.transport.TcpTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A TCP dialer follows its peer by key. {@code wg setconf} removes every peer and adds them again
 * as new ones: the dialer must go on for the new peer, where its endpoint now is, and a peer that
 * left for good must end its dialer (not redial forever, not die on an endpoint it no longer has).
 * Loopback only, no root.
 */
class TcpRedialTest {
    private final SplittableRandom rng = new SplittableRandom(9);
    private final Node node = new Node(X25519.generatePrivate(rng), rng.split(), new Counters(),
            Node.DEFAULT_LOAD_THRESHOLD);
    private final PeerEndpoints endpoints = new PeerEndpoints();
    private final byte[] key = X25519.publicKey(X25519.generatePrivate(rng));

    {
        node.setPeerRemovedListener(endpoints::remove); // as the tunnel installs it
    }

    private Peer addPeer(ServerSocket server) {
        Peer peer = node.addPeer(key, null);
        endpoints.put(peer, new PeerAddress(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), true));
        return peer;
    }

    @Test
    @Timeout(30)
    void aPeerReplacedByTheSameKeyIsDialledOnAsTheNewOne() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(10_000);
            Peer old = addPeer(server);
            TcpTransport tcp = new TcpTransport(host(), () -> null, TcpTransport.Mode.TCP, 0, null);
            tcp.start();
            try (Socket first = server.accept()) {
                node.removePeer(old);
                Peer replaced = addPeer(server); // what wg setconf does
                first.close(); // the connection ends: the dialer goes round again
                try (Socket second = server.accept()) {
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (endpoints.of(replaced).tcp() == null && System.nanoTime() < deadline) {
                        Thread.sleep(10);
                    }
                    assertThat(endpoints.of(replaced).tcp()).as("the new peer speaks over the new connection")
                            .isNotNull();
                    assertThat(endpoints.find(old)).as("nothing kept for the peer that was replaced").isNull();
                }
            } finally {
                tcp.close();
            }
        }
    }

    @Test
    @Timeout(30)
    void aKeyMissingForAMomentKeepsItsDialer() throws Exception {
        // wg set ... remove, then the same peer added again: the dialer sees the key missing
        // (its log says so) and dials on once the peer is back.
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream verbose = new PrintStream(log, true, StandardCharsets.UTF_8);
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(10_000);
            Peer old = addPeer(server);
            TcpTransport tcp = new TcpTransport(host(), () -> null, TcpTransport.Mode.TCP, 0, verbose);
            tcp.start();
            try (Socket first = server.accept()) {
                node.removePeer(old);
                first.close();
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (!log.toString(StandardCharsets.UTF_8).contains("not configured now")
                        && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(log.toString(StandardCharsets.UTF_8)).contains("not configured now");
                Peer back = addPeer(server);
                try (Socket second = server.accept()) {
                    assertThat(second.isConnected()).isTrue();
                }
                assertThat(tcp.dialers()).isEqualTo(1);
                assertThat(back.removed()).isFalse();
            } finally {
                tcp.close();
            }
        }
    }

    @Test
    @Timeout(30)
    void aPeerThatLeftEndsItsDialer() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(10_000);
            Peer peer = addPeer(server);
            TcpTransport tcp = new TcpTransport(host(), () -> null, TcpTransport.Mode.TCP, 0, null);
            tcp.start();
            try (Socket first = server.accept()) {
                assertThat(tcp.dialers()).isEqualTo(1);
                node.removePeer(peer);
                first.close();
                long deadline = System.nanoTime() + 20_000_000_000L;
                // it waits out a short absence first (TcpTransport.GONE_MILLIS, 5 s)
                while (tcp.dialers() > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(tcp.dialers()).as("the dialer of a peer that left ends").isZero();
                assertThat(endpoints.find(peer)).isNull();
            } finally {
                tcp.close();
            }
        }
    }

    private TcpTransport.Host host() {
        return new TcpTransport.Host() {
            @Override
            public Collection<Peer> peers() {
                return node.peers();
            }

            @Override
            public Peer peer(byte[] publicKey) {
                return node.peer(publicKey);
            }

            @Override
            public PeerEndpoint endpoint(Peer p) {
                return endpoints.of(p);
            }

            @Override
            public boolean closing() {
                return false;
            }

            @Override
            public TcpTransport.Inbound inbound(Arena arena) {
                return new TcpTransport.Inbound() {
                    @Override
                    public void handle(MemorySegment chunk, ByteBuffer view, TcpFrames frames, Origin from) {
                    }

                    @Override
                    public void malformed() {
                    }
                };
            }
        };
    }
}
