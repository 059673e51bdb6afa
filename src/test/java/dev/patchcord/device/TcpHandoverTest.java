package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.sys.Libc;
import dev.patchcord.sys.SysException;
import dev.patchcord.transport.Origin;
import dev.patchcord.transport.PeerEndpoint;
import dev.patchcord.transport.TcpFrames;
import dev.patchcord.transport.TcpTransport;
import dev.patchcord.transport.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * WireGuard over TCP handed from one {@link TcpTransport} to a new one in the same JVM, as a
 * restart hands it from one process to the next: every message arrives exactly once and in order,
 * both ways, a frame cut by the suspension included; the adopted connection is attached to its
 * peer at once; {@link TcpTransport#resume()} carries on instead. Loopback only, no root.
 *
 * <p>Messages are WireGuard-shaped (type 4) and carry a sequence number; what the transports
 * receive is recorded, not decrypted.
 */
@Timeout(60)
class TcpHandoverTest {
    private final SplittableRandom rng = new SplittableRandom(19);
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : cleanup.reversed()) {
            c.close();
        }
    }

    /** One side's tunnel: a node with one peer, the endpoints, and the sequence numbers received. */
    private final class Side implements TcpTransport.Host {
        final Node node = new Node(X25519.generatePrivate(rng), rng.split(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        final PeerEndpoints endpoints = new PeerEndpoints();
        final List<Integer> received;
        final Peer peer;

        Side(byte[] peerKey, InetSocketAddress peerAt, List<Integer> received) {
            this.received = received;
            this.peer = node.addPeer(peerKey, null);
            node.setPeerRemovedListener(endpoints::remove);
            if (peerAt != null) {
                endpoints.put(peer, new PeerAddress(peerAt, true));
            }
        }

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
                    from.observe(endpoints.of(peer)); // as an authenticated message would
                    for (int i = 0; i < frames.count(); i++) {
                        check(chunk, frames.offset(i), frames.length(i));
                        received.add(chunk.get(ValueLayout.JAVA_INT_UNALIGNED, frames.offset(i) + 8));
                    }
                }

                @Override
                public void malformed() {
                    received.add(-1);
                }
            };
        }

        PeerEndpoint endpoint() {
            return endpoints.of(peer);
        }
    }

    private static int length(int seq) {
        return TcpFrames.MIN_MESSAGE + seq * 37 % 1400;
    }

    /** Message {@code seq}: type 4, the number at byte 8, a pattern after it. */
    private static byte[] message(int seq) {
        byte[] m = new byte[length(seq)];
        m[0] = 4;
        ByteBuffer.wrap(m).order(ByteOrder.nativeOrder()).putInt(8, seq);
        for (int i = 12; i < m.length; i++) {
            m[i] = (byte) (seq + i);
        }
        return m;
    }

    private static void check(MemorySegment chunk, long off, int len) {
        int seq = chunk.get(ValueLayout.JAVA_INT_UNALIGNED, off + 8);
        assertThat(len).isEqualTo(length(seq));
        for (int i = 12; i < len; i++) {
            if (chunk.get(ValueLayout.JAVA_BYTE, off + i) != (byte) (seq + i)) {
                throw new AssertionError("message " + seq + " is corrupt at byte " + i);
            }
        }
    }

    private static byte[] frame(int seq) {
        byte[] m = message(seq);
        byte[] f = new byte[2 + m.length];
        f[0] = (byte) (m.length >>> 8);
        f[1] = (byte) m.length;
        System.arraycopy(m, 0, f, 2, m.length);
        return f;
    }

    /** Sends message {@code seq} through {@code t} to the side's peer; false if refused. */
    private static boolean send(TcpTransport t, Side side, int seq) {
        byte[] m = message(seq);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(m.length);
            MemorySegment.copy(m, 0, seg, ValueLayout.JAVA_BYTE, 0, m.length);
            return t.send(side.endpoint(), seg, 0, m.length) == 0;
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(1);
        }
    }

    private static List<Integer> range(int from, int to) {
        return IntStream.range(from, to).boxed().toList();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static int dup(int fd) throws SysException {
        return (int) SysException.check(Libc.dup(fd), "dup");
    }

    /** The states with every descriptor duplicated: the old transport then releases its own. */
    private static TcpTransport.Suspended duplicated(TcpTransport.Suspended s) throws SysException {
        List<TcpTransport.LinkState> links = new ArrayList<>();
        for (TcpTransport.LinkState l : s.links()) {
            links.add(new TcpTransport.LinkState(dup(l.fd()), l.peerKey(), l.unread(), l.remote(), l.dialled(),
                    l.attached(), l.unsent(), l.ageNanos(), l.quietNanos()));
        }
        return new TcpTransport.Suspended(s.listenerFd() >= 0 ? dup(s.listenerFd()) : -1, links);
    }

    private TcpTransport transport(Side side, TcpTransport.Mode mode, int port) {
        TcpTransport t = new TcpTransport(side, () -> (Transport) null, mode, port, null);
        cleanup.add(t);
        return t;
    }

    /**
     * The listening side is handed over while a client (raw framing, as any WireGuard-over-TCP
     * peer writes it) is in the middle of a frame, and while messages to the client are queued.
     */
    @Test
    void anAcceptedConnectionIsHandedOverMidStreamAndMidFrame() throws Exception {
        byte[] clientKey = X25519.publicKey(X25519.generatePrivate(rng));
        List<Integer> atServer = java.util.Collections.synchronizedList(new ArrayList<>());
        int port = freePort();
        Side side = new Side(clientKey, null, atServer);
        TcpTransport old = transport(side, TcpTransport.Mode.TCP, port);
        old.start();
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            cleanup.add(client);
            OutputStream out = client.getOutputStream();
            DataInputStream in = new DataInputStream(client.getInputStream());
            for (int seq = 0; seq < 50; seq++) {
                out.write(frame(seq));
            }
            await("the server has 50 messages", () -> atServer.size() == 50);
            await("attached by its authenticated messages", () -> side.endpoint().tcp() != null);
            for (int seq = 0; seq < 150; seq++) { // the last ones still queued when the suspension comes
                assertThat(send(old, side, seq)).isTrue();
            }
            // Message 50 whole and the first half of 51, in one write: the reader takes both.
            byte[] f50 = frame(50);
            byte[] f51 = frame(51);
            int cut = 2 + length(51) / 2;
            byte[] both = new byte[f50.length + cut];
            System.arraycopy(f50, 0, both, 0, f50.length);
            System.arraycopy(f51, 0, both, f50.length, cut);
            out.write(both);
            await("the server has message 50", () -> atServer.size() == 51);

            TcpTransport.Suspended s = old.suspend();
            assertThat(send(old, side, 999)).as("refused while suspended").isFalse();
            assertThat(s.listenerFd()).isNotNegative();
            assertThat(s.links()).hasSize(1);
            TcpTransport.LinkState link = s.links().getFirst();
            assertThat(link.peerKey()).isEqualTo(clientKey);
            assertThat(link.dialled()).isFalse();
            assertThat(link.attached()).isTrue();
            assertThat(link.quietNanos()).isNotEqualTo(Long.MIN_VALUE);
            assertThat(link.unread()).as("the half frame read before the suspension").hasSize(cut);
            TcpTransport.Suspended copy = duplicated(s);
            old.abandon(); // closes its descriptors, shuts nothing down

            Side next = new Side(clientKey, null, atServer);
            TcpTransport successor = transport(next, TcpTransport.Mode.TCP, port);
            successor.adopt(copy);
            assertThat(next.endpoint().tcp()).as("attached at once: no handshake").isNotNull();

            out.write(f51, cut, f51.length - cut);
            for (int seq = 52; seq < 100; seq++) {
                out.write(frame(seq));
            }
            for (int seq = 150; seq < 200; seq++) {
                assertThat(send(successor, next, seq)).isTrue();
            }
            await("the successor has every message", () -> atServer.size() >= 100);
            assertThat(atServer).isEqualTo(range(0, 100));
            List<Integer> atClient = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                byte[] m = new byte[in.readUnsignedShort()];
                in.readFully(m);
                MemorySegment seg = MemorySegment.ofArray(m);
                check(seg, 0, m.length);
                atClient.add(seg.get(ValueLayout.JAVA_INT_UNALIGNED, 8));
            }
            assertThat(atClient).isEqualTo(range(0, 200));

            // The adopted listener takes new connections.
            try (Socket another = new Socket(InetAddress.getLoopbackAddress(), port)) {
                another.getOutputStream().write(frame(100));
                await("the new connection's message", () -> atServer.size() == 101);
            }
        }
    }

    /**
     * The dialling side is handed over while both directions are busy: the successor reads on the
     * same connection (the listener sees no new one) and its dialer does not dial again.
     */
    @Test
    void aDialledConnectionIsHandedOverWithBothDirectionsBusy() throws Exception {
        byte[] serverKey = X25519.publicKey(X25519.generatePrivate(rng));
        byte[] clientKey = X25519.publicKey(X25519.generatePrivate(rng));
        int port = freePort();
        List<Integer> atServer = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Integer> atClient = java.util.Collections.synchronizedList(new ArrayList<>());
        Side serverSide = new Side(clientKey, null, atServer);
        TcpTransport server = transport(serverSide, TcpTransport.Mode.TCP, port);
        server.start();
        InetSocketAddress at = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        Side clientSide = new Side(serverKey, at, atClient);
        TcpTransport old = transport(clientSide, TcpTransport.Mode.TCP, 0);
        old.start();
        await("the client is connected", () -> clientSide.endpoint().tcp() != null);
        assertThat(send(old, clientSide, 0)).isTrue();
        await("the server is attached", () -> serverSide.endpoint().tcp() != null);
        for (int seq = 0; seq < 300; seq++) {
            assertThat(send(server, serverSide, seq)).isTrue();
            if (seq > 0) {
                assertThat(send(old, clientSide, seq)).isTrue();
            }
        }
        var serverLink = serverSide.endpoint().tcp();
        TcpTransport.Suspended s = old.suspend();
        assertThat(s.listenerFd()).isEqualTo(-1);
        assertThat(s.links()).singleElement().satisfies(l -> {
            assertThat(l.dialled()).isTrue();
            assertThat(l.peerKey()).isEqualTo(serverKey);
            assertThat(l.attached()).isTrue();
        });
        for (int seq = 300; seq < 400; seq++) { // the far end goes on sending while this side is away
            assertThat(send(server, serverSide, seq)).isTrue();
        }
        TcpTransport.Suspended copy = duplicated(s);
        old.abandon();
        Side next = new Side(serverKey, at, atClient);
        TcpTransport successor = transport(next, TcpTransport.Mode.TCP, 0);
        successor.adopt(copy);
        assertThat(successor.dialers()).isEqualTo(1);
        assertThat(next.endpoint().tcp()).isNotNull();
        for (int seq = 300; seq < 400; seq++) {
            assertThat(send(successor, next, seq)).isTrue();
        }
        await("the client has every message", () -> atClient.size() >= 400);
        await("the server has every message", () -> atServer.size() >= 400);
        assertThat(atClient).isEqualTo(range(0, 400));
        assertThat(atServer).isEqualTo(range(0, 400));
        assertThat(serverSide.endpoint().tcp()).as("still the one connection").isSameAs(serverLink);
    }

    /** A failed hand-over: resume() carries on, a frame cut by the suspension included. */
    @Test
    void resumeCarriesOnAsBefore() throws Exception {
        byte[] clientKey = X25519.publicKey(X25519.generatePrivate(rng));
        List<Integer> atServer = java.util.Collections.synchronizedList(new ArrayList<>());
        int port = freePort();
        Side side = new Side(clientKey, null, atServer);
        TcpTransport t = transport(side, TcpTransport.Mode.TCP, port);
        t.start();
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            cleanup.add(client);
            OutputStream out = client.getOutputStream();
            DataInputStream in = new DataInputStream(client.getInputStream());
            byte[] f0 = frame(0);
            byte[] f1 = frame(1);
            byte[] both = new byte[f0.length + 5];
            System.arraycopy(f0, 0, both, 0, f0.length);
            System.arraycopy(f1, 0, both, f0.length, 5);
            out.write(both);
            await("message 0", () -> atServer.size() == 1 && side.endpoint().tcp() != null);
            TcpTransport.Suspended s = t.suspend();
            assertThat(s.links()).hasSize(1);
            assertThat(send(t, side, 0)).isFalse();
            out.write(f1, 5, f1.length - 5); // arrives while suspended: read after the resumption
            t.resume();
            out.write(frame(2));
            assertThat(send(t, side, 0)).isTrue();
            await("messages 1 and 2", () -> atServer.size() == 3);
            assertThat(atServer).isEqualTo(range(0, 3));
            byte[] m = new byte[in.readUnsignedShort()];
            in.readFully(m);
            check(MemorySegment.ofArray(m), 0, m.length);
            // And it can be suspended again.
            assertThat(t.suspend().links()).hasSize(1);
            t.resume();
            out.write(frame(3));
            await("message 3", () -> atServer.size() == 4);
        }
    }

    /** Closing instead of resuming ends the held readers and writers and shuts the connection down. */
    @Test
    void closeWhileSuspendedEndsTheConnection() throws Exception {
        byte[] clientKey = X25519.publicKey(X25519.generatePrivate(rng));
        List<Integer> atServer = java.util.Collections.synchronizedList(new ArrayList<>());
        int port = freePort();
        Side side = new Side(clientKey, null, atServer);
        TcpTransport t = transport(side, TcpTransport.Mode.TCP, port);
        t.start();
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            cleanup.add(client);
            client.setSoTimeout(10_000);
            client.getOutputStream().write(frame(0));
            await("attached by message 0", () -> side.endpoint().tcp() != null);
            assertThat(send(t, side, 0)).isTrue();
            assertThat(t.suspend().links()).hasSize(1);
            t.close();
            DataInputStream in = new DataInputStream(client.getInputStream());
            byte[] m = new byte[in.readUnsignedShort()];
            in.readFully(m);
            assertThat(in.read()).as("the far end sees the connection end").isEqualTo(-1);
        }
    }
}
