package dev.patchcord.control.directory;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.patchcord.control.PeerList;
import dev.patchcord.core.wg.Keys;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * The mesh directory on the network: HTTPS ({@code POST /v1/sync}, {@code GET /v1/key}) and the UDP
 * probe port, both on one port number, in front of a {@link DirectoryState}; and a watch on the
 * members file. A dozen worker threads and a bounded queue serve HTTPS: a sync is a few
 * microseconds of hashing, so more threads would only let a flood of slow clients hold more
 * memory; connections beyond the queue are closed by the HTTP server. The JDK's HTTP server
 * itself is bounded too ({@link #limitHttpServer}): connections at once, the time a request may
 * take to arrive and an answer to leave, and the size of request headers.
 */
public final class DirectoryServer implements AutoCloseable {
    private static final String PREFIX = "patchcord: directory: ";
    private static final int WORKERS = 12;
    private static final int QUEUE = 256;
    private static final int BACKLOG = 128;
    /** Larger than a probe, so that a longer datagram shows as longer instead of being cut to size. */
    private static final int DATAGRAM_BUFFER = 128;
    private static final int PORT_ATTEMPTS = 20;
    /**
     * TCP connections the HTTPS server holds at once (the JDK sets no limit); a new one beyond is
     * closed at once. Nodes sync one request at a time every 30 s and the answer takes
     * microseconds, so even a mesh of thousands has few connections open at any moment; each costs
     * some 70 KiB of TLS buffers, so this bounds a flood of idle connections to some 70 MiB.
     */
    static final int MAX_CONNECTIONS = 1024;
    /**
     * Seconds a request may take to arrive in full, and an answer to be sent (the JDK waits for
     * ever): a client that trickles its bytes is cut off. A connection that sends nothing at all
     * is closed after this too (checked every 10 s).
     */
    static final int MAX_EXCHANGE_SECONDS = 10;
    /** Request headers at most (the JDK allows 380 KiB); a node's sync sends well under 1 KiB. */
    static final int MAX_HEADER_BYTES = 16 * 1024;

    /**
     * @param listen the address and port (0: any free port, the same for HTTPS and UDP)
     * @param verbose print a line for every refusal, sync and new observed endpoint
     */
    public record Settings(InetSocketAddress listen, SSLContext tls, boolean verbose) {
        public Settings {
            Objects.requireNonNull(listen, "listen");
            Objects.requireNonNull(tls, "tls");
        }
    }

    private final DirectoryState state;
    private final MembersFile members;
    private final PrintStream log;
    private final boolean verbose;
    private final LongSupplier clock;
    private final HttpsServer https;
    private final DatagramChannel udp;
    private final InetSocketAddress address;
    private final ThreadPoolExecutor workers;
    private final ScheduledExecutorService watch;
    private final Thread receiver;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Runnable onFailure = () -> { };
    private volatile Throwable failure;

    private DirectoryServer(Settings settings, DirectoryState state, MembersFile members, PrintStream log,
            LongSupplier clock, HttpsServer https, DatagramChannel udp) {
        this.state = state;
        this.members = members;
        this.log = log;
        this.verbose = settings.verbose();
        this.clock = clock;
        this.https = https;
        this.udp = udp;
        this.address = new InetSocketAddress(settings.listen().getAddress(), https.getAddress().getPort());
        this.workers = new ThreadPoolExecutor(WORKERS, WORKERS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE),
                Thread.ofPlatform().name("directory-https-", 0).daemon().factory());
        workers.allowCoreThreadTimeOut(true);
        this.watch = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("directory-members").daemon().factory());
        this.receiver = Thread.ofPlatform().name("directory-probes").daemon().unstarted(this::receiveProbes);
    }

    /**
     * Binds both sockets and starts serving.
     *
     * @param members the file to watch for changes (checked every second), or null for none
     * @param clock milliseconds since the epoch
     * @throws IOException if the port cannot be bound (the message says which protocol)
     */
    public static DirectoryServer start(Settings settings, DirectoryState state, MembersFile members, PrintStream log,
            LongSupplier clock) throws IOException {
        limitHttpServer();
        InetSocketAddress listen = settings.listen();
        int attempts = listen.getPort() == 0 ? PORT_ATTEMPTS : 1;
        for (int i = 1; ; i++) {
            HttpsServer https;
            try {
                https = HttpsServer.create(listen, BACKLOG);
            } catch (IOException e) {
                throw new IOException("cannot listen for HTTPS on " + describe(listen) + ": " + e.getMessage(), e);
            }
            int port = https.getAddress().getPort();
            DatagramChannel udp;
            try {
                udp = openUdp(new InetSocketAddress(listen.getAddress(), port));
            } catch (IOException e) {
                https.stop(0);
                if (e instanceof BindException && i < attempts) {
                    continue; // the free TCP port is taken for UDP; another free one will do
                }
                throw new IOException("cannot receive probes on UDP " + describe(new InetSocketAddress(listen.getAddress(), port))
                        + ": " + e.getMessage(), e);
            }
            DirectoryServer server = new DirectoryServer(settings, state, members, log, clock, https, udp);
            server.begin(settings.tls());
            return server;
        }
    }

    /**
     * Sets the JDK HTTP server's limits, unless the command line set them. The JDK reads these
     * properties once, when the first HTTP server of the process starts; {@code patchcord
     * directory serve} runs no other.
     */
    static void limitHttpServer() {
        setIfAbsent("jdk.httpserver.maxConnections", MAX_CONNECTIONS);
        setIfAbsent("sun.net.httpserver.maxReqTime", MAX_EXCHANGE_SECONDS);
        setIfAbsent("sun.net.httpserver.maxRspTime", MAX_EXCHANGE_SECONDS);
        setIfAbsent("sun.net.httpserver.maxReqHeaderSize", MAX_HEADER_BYTES);
    }

    private static void setIfAbsent(String property, int value) {
        if (System.getProperty(property) == null) {
            System.setProperty(property, Integer.toString(value));
        }
    }

    /**
     * The JDK binds a socket of the default family given an IPv4 wildcard to the IPv6 wildcard, as
     * the HTTPS server's socket is; a wildcard here is therefore every address, IPv4 and IPv6, for
     * both protocols alike.
     */
    private static DatagramChannel openUdp(InetSocketAddress at) throws IOException {
        StandardProtocolFamily family = at.getAddress() instanceof Inet4Address ? StandardProtocolFamily.INET
                : StandardProtocolFamily.INET6;
        DatagramChannel ch = at.getAddress().isAnyLocalAddress() ? DatagramChannel.open() : DatagramChannel.open(family);
        try {
            ch.bind(at);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private void begin(SSLContext tls) {
        https.setHttpsConfigurator(new HttpsConfigurator(tls));
        https.setExecutor(workers);
        https.createContext("/", this::handle);
        https.start();
        receiver.start();
        if (members != null) {
            watch.scheduleWithFixedDelay(this::checkMembers, 1, 1, TimeUnit.SECONDS);
        }
    }

    /** Where it listens, with the port actually bound. */
    public InetSocketAddress address() {
        return address;
    }

    public DirectoryState state() {
        return state;
    }

    /** Called (on the probe thread) if receiving probes fails for good. */
    public void onFailure(Runnable listener) {
        onFailure = listener;
    }

    /** The error that stopped the probe listener, or null. */
    public Throwable failure() {
        return failure;
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getRawPath();
            String method = x.getRequestMethod();
            DirectoryState.SyncResult r;
            switch (path) {
                case "/v1/sync" -> {
                    if (method.equals("POST")) {
                        r = sync(x);
                    } else {
                        x.getResponseHeaders().set("Allow", "POST");
                        r = state.refuse(Refusal.WRONG_METHOD);
                    }
                }
                case "/v1/key" -> {
                    if (method.equals("GET") || method.equals("HEAD")) {
                        send(x, 200, keyBody(), null, method.equals("HEAD"));
                        return;
                    }
                    x.getResponseHeaders().set("Allow", "GET, HEAD");
                    r = state.refuse(Refusal.WRONG_METHOD);
                }
                default -> r = state.refuse(Refusal.NOT_FOUND);
            }
            if (!r.ok() && verbose) {
                log.println(PREFIX + method + " " + printable(path) + " from " + remote(x)
                        + (r.member() == null ? "" : " ('" + printable(r.member()) + "')")
                        + " refused (" + r.status() + "): " + printable(r.error()));
            } else if (r.ok() && verbose) {
                log.println(PREFIX + "sync from '" + printable(r.member()) + "' at " + remote(x));
            }
            send(x, r.status(), r.body(), r.mac(), false);
        } catch (IOException e) {
            // The client went away mid-answer; there is no one to tell.
        } catch (RuntimeException e) {
            log.println(PREFIX + "internal error answering " + remote(x) + ": " + e);
        }
    }

    /**
     * Reads the body up to one byte past the limit even when its announced length is already too
     * much: a body not read is drained or the connection closed, and a close with unread data in the
     * socket resets it, which can destroy the 413 before the node reads it.
     */
    private DirectoryState.SyncResult sync(HttpExchange x) throws IOException {
        byte[] body;
        try (InputStream in = x.getRequestBody()) {
            body = in.readNBytes(DirectoryState.MAX_BODY + 1);
        }
        if (body.length > DirectoryState.MAX_BODY) {
            return state.refuse(Refusal.TOO_LARGE);
        }
        return state.sync(body, x.getRequestHeaders().getFirst("Patchcord-Mac"), clock.getAsLong());
    }

    private byte[] keyBody() {
        ObjectNode o = PeerList.mapper().createObjectNode();
        o.put("publicKey", Keys.toBase64(state.publicKey()));
        return o.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void send(HttpExchange x, int status, byte[] body, String mac, boolean headOnly) throws IOException {
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.getResponseHeaders().set("Cache-Control", "no-store");
        if (mac != null) {
            x.getResponseHeaders().set("Patchcord-Mac", mac);
        }
        if (headOnly) {
            x.sendResponseHeaders(status, -1);
            return;
        }
        x.sendResponseHeaders(status, body.length);
        x.getResponseBody().write(body);
    }

    private void receiveProbes() {
        ByteBuffer buffer = ByteBuffer.allocate(DATAGRAM_BUFFER);
        while (true) {
            buffer.clear();
            SocketAddress from;
            try {
                from = udp.receive(buffer);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException | RuntimeException e) {
                if (!closed.get()) {
                    failure = new IOException("receiving probes failed: " + e.getMessage(), e);
                    onFailure.run();
                }
                return;
            }
            if (!(from instanceof InetSocketAddress source)) {
                continue;
            }
            DirectoryState.ProbeResult r = state.handleProbe(buffer.array(), buffer.position(), source, clock.getAsLong());
            if (!verbose) {
                continue;
            }
            if (!r.recorded()) {
                log.println(PREFIX + "datagram from " + DirectoryState.endpointOf(source)
                        + (r.member() == null ? "" : " ('" + printable(r.member()) + "')") + " dropped: " + r.refusal().text());
            } else if (r.changed()) {
                log.println(PREFIX + "observed endpoint of '" + printable(r.member()) + "': " + r.observed());
            }
        }
    }

    private void checkMembers() {
        try {
            String line = members.reloadIfChanged(state);
            if (line != null) {
                log.println(PREFIX + line);
            }
        } catch (RuntimeException e) {
            log.println(PREFIX + "checking the members file failed: " + e);
        }
    }

    private static String remote(HttpExchange x) {
        InetSocketAddress a = x.getRemoteAddress();
        return a == null || a.getAddress() == null ? "?" : DirectoryState.endpointOf(a).toString();
    }

    /** Text that came from a client, safe for one log line: no control characters, not too long. */
    static String printable(String s) {
        if (s == null) {
            return "";
        }
        String t = s.length() > 200 ? s.substring(0, 200) + "…" : s;
        return t.codePoints().map(c -> c < 0x20 || c == 0x7f ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }

    private static String describe(InetSocketAddress a) {
        return a.getAddress().isAnyLocalAddress() ? "port " + a.getPort()
                : DirectoryState.endpointOf(a).toString();
    }

    /** Stops both listeners and the watch; waits up to a second for the probe thread. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        watch.shutdownNow();
        https.stop(0);
        workers.shutdownNow();
        try {
            udp.close();
        } catch (IOException e) {
            // Closing is all that was wanted.
        }
        try {
            receiver.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
