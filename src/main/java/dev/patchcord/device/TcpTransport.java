package dev.patchcord.device;

import dev.patchcord.core.wg.Peer;
import dev.patchcord.transport.TcpLink;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * WireGuard over TCP, for networks that block UDP: a listening socket on the interface's port
 * (a server), and per peer a dialer that keeps a connection to the peer's endpoint (a client),
 * reconnecting with backoff from 1 s to 30 s. A dialer either always uses TCP, or falls back to
 * it only after two handshakes over UDP went unanswered. Every connection has its own reader,
 * which hands messages to a {@link Receiver} exactly as the UDP loop does; a peer's endpoint then
 * moves to whichever transport its last authenticated message came over.
 */
public final class TcpTransport implements AutoCloseable {
    /** Which transports an interface uses. */
    public enum Mode { UDP, TCP, UDP_THEN_TCP }

    private static final long MAX_BACKOFF_MILLIS = 30_000;
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

    private final WgTunnel tunnel;
    private final Mode mode;
    private final int listenPort;
    private final PrintStream verbose;
    private final Set<TcpLink> links = ConcurrentHashMap.newKeySet();
    private final List<Thread> threads = new ArrayList<>();
    private ServerSocketChannel server;
    private volatile boolean closed;

    /** @param listenPort the port to accept connections on, 0 for none (a client only) */
    public TcpTransport(WgTunnel tunnel, Mode mode, int listenPort, PrintStream verbose) {
        this.tunnel = tunnel;
        this.mode = mode;
        this.listenPort = listenPort;
        this.verbose = verbose;
    }

    /** Starts listening (if a port is set) and a dialer for every peer with an endpoint. */
    public synchronized void start() throws IOException {
        if (listenPort != 0) {
            server = ServerSocketChannel.open(StandardProtocolFamily.INET6);
            server.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(new InetSocketAddress(listenPort));
            threads.add(Thread.ofVirtual().name("tcp-accept").start(this::acceptLoop));
        }
        for (Peer p : tunnel.node().peers()) {
            if (WgTunnel.endpointOf(p).current() != null) {
                threads.add(Thread.ofVirtual().name("tcp-dial").start(() -> dialLoop(p)));
            }
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel ch = server.accept();
                TcpLink link = new TcpLink(ch);
                Thread.ofVirtual().name("tcp-read").start(() -> read(link));
            } catch (IOException e) {
                if (!closed) {
                    log("accepting TCP: " + e.getMessage());
                }
            }
        }
    }

    /** Whether this peer should be reached over TCP now. */
    private boolean wanted(Peer peer) {
        return switch (mode) {
            case TCP -> true;
            case UDP_THEN_TCP -> !peer.hasSession(System.nanoTime()) && peer.handshakeAttempts() >= 2;
            case UDP -> false;
        };
    }

    private void dialLoop(Peer peer) {
        long backoff = 1_000;
        while (!closed && !tunnel.stopping()) {
            try {
                if (!wanted(peer)) {
                    Thread.sleep(500);
                    continue;
                }
                InetSocketAddress target = WgTunnel.endpointOf(peer).describe();
                SocketChannel ch = SocketChannel.open();
                try {
                    ch.socket().connect(target, CONNECT_TIMEOUT_MILLIS);
                } catch (IOException e) {
                    ch.close();
                    throw e;
                }
                TcpLink link = new TcpLink(ch);
                log("peer " + WgTunnel.shortKey(peer) + ": connected over TCP to " + target);
                WgTunnel.endpointOf(peer).observeTcp(link);
                peer.initiateNow(); // the handshake that UDP could not complete, at once
                backoff = 1_000;
                read(link);
                log("peer " + WgTunnel.shortKey(peer) + ": TCP connection closed; reconnecting");
            } catch (IOException e) {
                log("peer " + WgTunnel.shortKey(peer) + ": TCP connect failed (" + e.getMessage() + "); retry in "
                        + backoff / 1000 + " s");
                if (!sleep(backoff)) {
                    return;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** Reads messages from one connection until it closes. */
    private void read(TcpLink link) {
        links.add(link);
        byte[] source = link.describe().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Receiver.Origin origin = new Receiver.Origin() {
            @Override
            public byte[] sourceBytes() {
                return source;
            }

            @Override
            public void reply(byte[] message) {
                link.send(message);
            }

            @Override
            public boolean observe(PeerAddress endpoint) {
                return endpoint.observeTcp(link);
            }

            @Override
            public String describe() {
                return link.describe();
            }
        };
        try (Arena arena = Arena.ofConfined()) {
            Buffers b = new Buffers(arena);
            Receiver receiver = new Receiver(tunnel, b, verbose);
            while (!closed) {
                receiver.handle(link.read(b.view), origin);
            }
        } catch (IOException e) {
            // The connection ended: the peer goes back to UDP, or its dialer reconnects.
        } finally {
            link.close();
            links.remove(link);
        }
    }

    private void log(String message) {
        if (verbose != null) {
            verbose.println(message);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        try {
            if (server != null) {
                server.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        links.forEach(TcpLink::close);
        threads.forEach(Thread::interrupt);
    }
}
