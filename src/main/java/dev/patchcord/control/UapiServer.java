package dev.patchcord.control;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import static dev.patchcord.control.UapiException.EINVAL;
import static dev.patchcord.control.UapiException.EIO;
import static dev.patchcord.control.UapiException.EMSGSIZE;

/**
 * The control socket {@code wg} finds a userspace WireGuard device by:
 * {@code /var/run/wireguard/IFNAME.sock}, a stream Unix-domain socket speaking
 * {@link UapiProtocol}. With it, the unmodified {@code wg show}, {@code wg set},
 * {@code wg syncconf} and {@code wg-quick} work on a patchcord interface as on wireguard-go's.
 *
 * <p>The socket hands out the private key, so nobody but its owner (and root) may connect: it is
 * bound inside a fresh 0700 directory, set to 0600 there and only then linked into place, so it
 * is never reachable with a looser mode, whatever the umask. An existing socket file is removed
 * only if nothing answers on it (a process that died left it), as wireguard-go does; a live one
 * makes the start fail.
 *
 * <p>Each connection gets a virtual thread and may carry any number of requests in a row, as
 * wireguard-go's {@code IpcHandle} allows. Everything a client sends is bounded: a request longer
 * than {@link #MAX_REQUEST_BYTES} or a line longer than {@link #MAX_LINE_BYTES} is answered with
 * {@code errno=-90} (EMSGSIZE) and the connection is closed, as is a connection that sends
 * something other than {@code get=1} or {@code set=1}.
 */
public final class UapiServer implements AutoCloseable {
    /** Where {@code wg} looks ({@code RUNSTATEDIR/wireguard} in wireguard-tools). */
    public static final Path DEFAULT_DIRECTORY = Path.of("/var/run/wireguard");
    /** Room for a {@code wg syncconf} of some 20,000 peers; wireguard-go sets no limit at all. */
    public static final int MAX_REQUEST_BYTES = 4 << 20;
    /** Far above the longest valid line (an endpoint with a zone, under 120 bytes). */
    public static final int MAX_LINE_BYTES = 4096;
    /** Only the socket's owner can connect, so this guards against a stuck script, not an attacker. */
    static final int MAX_CONNECTIONS = 64;

    private final String interfaceName;
    private final Path socketPath;
    private final UapiDevice device;
    private final PrintStream log;
    private final int maxRequestBytes;
    private final ServerSocketChannel server;
    /** The socket file's identity once published; null while a successor's socket waits for its turn. */
    private volatile Object fileKey;
    /** Where a socket bound by {@link #unpublished} waits to replace the running one; null once published. */
    private volatile SocketFile.Pending pending;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    /** Sets exclusive, gets shared: wireguard-go's {@code ipcMutex}. */
    private final ReadWriteLock deviceLock = new ReentrantReadWriteLock();
    private final Thread acceptor;
    private volatile boolean closed;

    /** Serves {@code device} on {@code /var/run/wireguard/IFNAME.sock}; {@code log} may be null. */
    public UapiServer(String interfaceName, UapiDevice device, PrintStream log) throws IOException {
        this(DEFAULT_DIRECTORY, interfaceName, device, log);
    }

    /**
     * Serves {@code device} on {@code DIRECTORY/IFNAME.sock}, creating the directory (0755) if
     * needed. Rejected requests are reported to {@code log}, if not null.
     *
     * @throws IOException when the socket cannot be created, or another process answers on it
     */
    public UapiServer(Path directory, String interfaceName, UapiDevice device, PrintStream log) throws IOException {
        this(directory, interfaceName, device, log, MAX_REQUEST_BYTES);
    }

    UapiServer(Path directory, String interfaceName, UapiDevice device, PrintStream log, int maxRequestBytes)
            throws IOException {
        this(directory, interfaceName, device, log, maxRequestBytes, false);
    }

    private UapiServer(Path directory, String interfaceName, UapiDevice device, PrintStream log, int maxRequestBytes,
            boolean deferred) throws IOException {
        this.interfaceName = checkName(interfaceName);
        this.socketPath = directory.resolve(interfaceName + ".sock");
        this.device = Objects.requireNonNull(device, "device");
        this.log = log;
        this.maxRequestBytes = maxRequestBytes;
        if (deferred) {
            this.pending = SocketFile.bindUnpublished(directory, interfaceName);
            this.server = pending.channel();
        } else {
            this.server = SocketFile.bind(directory, interfaceName, socketPath);
            try {
                this.fileKey = fileKeyOf(socketPath);
            } catch (IOException e) {
                server.close();
                throw e;
            }
        }
        this.acceptor = Thread.ofVirtual().name("uapi-accept-" + interfaceName).start(this::acceptLoop);
    }

    /**
     * A server for a process taking over a running interface (a restart): its socket is bound and
     * accepts at once, but under a private name; the running process keeps answering on
     * {@code DIRECTORY/IFNAME.sock} until {@link #publish} puts this one in its place, in one
     * rename, so that {@code wg} never finds the name missing.
     */
    public static UapiServer unpublished(Path directory, String interfaceName, UapiDevice device, PrintStream log)
            throws IOException {
        return new UapiServer(directory, interfaceName, device, log, MAX_REQUEST_BYTES, true);
    }

    /** Replaces whatever answers on the public name with this socket (see {@link #unpublished}); idempotent. */
    public synchronized void publish() throws IOException {
        SocketFile.Pending p = pending;
        if (p == null || closed) {
            return;
        }
        p.replace(socketPath);
        fileKey = fileKeyOf(socketPath);
        pending = null;
    }

    private static Object fileKeyOf(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    public Path socketPath() {
        return socketPath;
    }

    public String interfaceName() {
        return interfaceName;
    }

    /**
     * Whether the socket file is still the one this server created. A userspace implementation
     * should stop when its socket is deleted (https://www.wireguard.com/xplatform/); a daemon can
     * poll this.
     */
    public boolean socketFileIntact() {
        if (pending != null) {
            return true; // not published yet: the public name is still the running process's
        }
        try {
            return Objects.equals(fileKey, Files.readAttributes(socketPath, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS).fileKey());
        } catch (IOException e) {
            return false;
        }
    }

    /** Stops accepting, closes every connection and deletes the socket file if it is still ours. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        closeQuietly(server);
        connections.forEach(UapiServer::closeQuietly);
        try {
            acceptor.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        SocketFile.Pending p = pending;
        if (p != null) {
            p.discard();
        } else if (socketFileIntact()) {
            try {
                Files.deleteIfExists(socketPath);
            } catch (IOException e) {
                log("cannot delete " + socketPath + ": " + e.getMessage());
            }
        }
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log("accept failed: " + e.getMessage());
                pause();
                continue;
            }
            if (connections.size() >= MAX_CONNECTIONS) {
                log("refusing a connection: " + MAX_CONNECTIONS + " are open already");
                closeQuietly(client);
                continue;
            }
            connections.add(client);
            if (closed) {
                closeQuietly(client);
                return;
            }
            Thread.ofVirtual().name("uapi-" + interfaceName).start(() -> serve(client));
        }
    }

    /** Answers requests until the client closes, sends garbage, or the server closes. */
    private void serve(SocketChannel client) {
        try {
            UapiLineReader in = new UapiLineReader(client, maxRequestBytes, MAX_LINE_BYTES);
            while (!closed) {
                in.startRequest();
                String op = in.readLine();
                if (op == null) {
                    return;
                }
                if (op.equals(UapiProtocol.GET)) {
                    String end = in.readLine();
                    if (end == null) {
                        return;
                    }
                    if (!end.isEmpty()) {
                        log("get=1 is followed by '" + UapiValues.shorten(end) + "' instead of an empty line");
                        write(client, UapiProtocol.formatErrno(EINVAL));
                        return;
                    }
                    write(client, get());
                } else if (op.equals(UapiProtocol.SET)) {
                    write(client, set(in.readBody()));
                } else {
                    log("unknown operation '" + UapiValues.shorten(op) + "' (expected get=1 or set=1)");
                    write(client, UapiProtocol.formatErrno(EINVAL));
                    return;
                }
            }
        } catch (UapiLineReader.Oversize e) {
            log(e.getMessage());
            try {
                write(client, UapiProtocol.formatErrno(EMSGSIZE));
            } catch (IOException ignored) {
                // the client is gone; the connection closes either way
            }
        } catch (IOException e) {
            // the client went away or the server is closing: nobody to answer
        } catch (RuntimeException e) {
            log("internal error: " + e);
        } finally {
            connections.remove(client);
            closeQuietly(client);
        }
    }

    private String get() {
        Lock lock = deviceLock.readLock();
        lock.lock();
        try {
            return UapiProtocol.formatGet(device.get());
        } catch (RuntimeException e) {
            log("get failed: " + e);
            return UapiProtocol.formatErrno(EIO);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs {@code action} with no UAPI request in between, for a change made in process that
     * reads the device, compares and writes (a configuration reload).
     */
    public void exclusive(Runnable action) {
        Lock lock = deviceLock.writeLock();
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    private String set(String body) {
        SetRequest request;
        try {
            request = UapiProtocol.parseSet(body);
        } catch (UapiException e) {
            log("set refused: " + e.getMessage());
            return UapiProtocol.formatErrno(e.errno());
        }
        Lock lock = deviceLock.writeLock();
        lock.lock();
        try {
            device.set(request);
            return UapiProtocol.formatErrno(0);
        } catch (UapiException e) {
            log("set failed: " + e.getMessage());
            return UapiProtocol.formatErrno(e.errno());
        } catch (RuntimeException e) {
            log("set failed: " + e);
            return UapiProtocol.formatErrno(EIO);
        } finally {
            lock.unlock();
        }
    }

    private static void write(SocketChannel client, String reply) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(reply.getBytes(StandardCharsets.ISO_8859_1));
        while (bytes.hasRemaining()) {
            client.write(bytes);
        }
    }

    private void log(String message) {
        if (log != null) {
            log.println("patchcord: " + interfaceName + ": uapi: " + message.replaceAll("[^\\x20-\\x7e]", "?"));
        }
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** Linux's rule for interface names (dev_valid_name); the name also becomes a file name. */
    private static String checkName(String name) {
        Objects.requireNonNull(name, "interfaceName");
        if (name.isEmpty() || name.length() > 15 || name.equals(".") || name.equals("..")
                || !name.chars().allMatch(c -> c > ' ' && c < 0x7f && c != '/' && c != ':')) {
            throw new IllegalArgumentException("'" + name + "' is not a valid interface name"
                    + " (1-15 characters, no '/', ':' or white space)");
        }
        return name;
    }

    /** Creating, checking and publishing the socket file. */
    private static final class SocketFile {
        private SocketFile() {}

        private static final int S_IFMT = 0170000;
        private static final int S_IFSOCK = 0140000;

        static ServerSocketChannel bind(Path directory, String name, Path socketPath) throws IOException {
            if (!Files.isDirectory(directory)) {
                Files.createDirectories(directory);
                Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            removeIfStale(socketPath, name);
            Path privateDir = createPrivateDirectory(directory, name);
            Path temporary = privateDir.resolve("s");
            ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.bind(UnixDomainSocketAddress.of(temporary), 16);
                Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
                publish(temporary, socketPath, name);
                return channel;
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            } finally {
                Files.deleteIfExists(temporary);
                Files.deleteIfExists(privateDir);
            }
        }

        /** A socket bound in its private directory, not yet given the public name. */
        record Pending(ServerSocketChannel channel, Path privateDir, Path temporary) {
            /** Renames the socket over the public name (atomically: {@code wg} always finds one). */
            void replace(Path socketPath) throws IOException {
                Files.move(temporary, socketPath, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                Files.deleteIfExists(privateDir);
            }

            void discard() {
                try {
                    Files.deleteIfExists(temporary);
                    Files.deleteIfExists(privateDir);
                } catch (IOException ignored) {
                    // a leftover private directory is harmless, and named after the interface
                }
            }
        }

        static Pending bindUnpublished(Path directory, String name) throws IOException {
            Path privateDir = createPrivateDirectory(directory, name);
            Path temporary = privateDir.resolve("s");
            ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.bind(UnixDomainSocketAddress.of(temporary), 16);
                Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
                return new Pending(channel, privateDir, temporary);
            } catch (IOException | RuntimeException e) {
                channel.close();
                Files.deleteIfExists(temporary);
                Files.deleteIfExists(privateDir);
                throw e;
            }
        }

        /** Deletes a socket file nothing listens on; refuses a live socket or any other kind of file. */
        private static void removeIfStale(Path socketPath, String name) throws IOException {
            int mode;
            try {
                mode = (Integer) Files.getAttribute(socketPath, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                return;
            }
            if ((mode & S_IFMT) != S_IFSOCK) {
                throw new IOException(socketPath + " exists and is not a socket; remove it first");
            }
            try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                probe.connect(UnixDomainSocketAddress.of(socketPath));
            } catch (ConnectException e) {
                Files.deleteIfExists(socketPath);
                return;
            }
            throw new IOException("interface " + name + " is already served by another process ("
                    + socketPath + " answers)");
        }

        /** A new 0700 directory next to the socket file, so that the final rename stays on one file system. */
        private static Path createPrivateDirectory(Path directory, String name) throws IOException {
            for (int attempt = 0; ; attempt++) {
                String random = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
                try {
                    return Files.createDirectory(directory.resolve("." + name + "." + random),
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } catch (FileAlreadyExistsException e) {
                    if (attempt == 10) {
                        throw e;
                    }
                }
            }
        }

        /**
         * Gives the bound socket its public name without ever replacing a file: a hard link fails if
         * another process has created the name meanwhile; a rename is the fallback for file systems
         * without hard links.
         */
        private static void publish(Path temporary, Path socketPath, String name) throws IOException {
            try {
                Files.createLink(socketPath, temporary);
            } catch (FileAlreadyExistsException e) {
                throw new IOException("interface " + name + ": " + socketPath
                        + " appeared while this process was starting; is another process serving it?");
            } catch (UnsupportedOperationException | FileSystemException e) {
                Files.move(temporary, socketPath);
            }
        }
    }
}
