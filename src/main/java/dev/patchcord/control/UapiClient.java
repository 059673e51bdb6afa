package dev.patchcord.control;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The client side of a UAPI socket, for patchcord's own {@code show} and for tests: send request
 * text, get the reply text. {@code wg} remains the tool for everything else.
 */
public final class UapiClient {
    private UapiClient() {}

    /** Replies longer than this are cut off with an error; a get of 100,000 peers is some 40 MiB. */
    static final int MAX_REPLY_BYTES = 256 << 20;
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    /** As {@link #request(Path, String, Duration)} with a 10-second timeout. */
    public static String request(Path socket, String request) throws IOException {
        return request(socket, request, DEFAULT_TIMEOUT);
    }

    /**
     * Sends {@code request} (one or more complete requests, e.g. {@code "get=1\n\n"}), then
     * half-closes the connection and returns everything the server replies until it closes its
     * side. The server answers every request in turn, so several requests give several replies,
     * concatenated.
     *
     * <p>The request is written from a second thread while this one reads, so neither side can
     * block the other however long the text is. If the server closes early (it rejects an
     * oversize request that way), the reply it sent is still returned.
     *
     * @throws IOException when the socket cannot be reached, or no complete reply arrives within
     *         {@code timeout}
     */
    public static String request(Path socket, String request, Duration timeout) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            AtomicBoolean done = new AtomicBoolean();
            AtomicBoolean timedOut = new AtomicBoolean();
            Thread writer = Thread.ofVirtual().name("uapi-client-write").start(() -> write(channel, request));
            Thread watchdog = Thread.ofVirtual().name("uapi-client-timeout").start(() -> {
                try {
                    Thread.sleep(timeout);
                } catch (InterruptedException e) {
                    return;
                }
                if (!done.get()) {
                    timedOut.set(true);
                    closeQuietly(channel);
                }
            });
            try {
                return readAll(channel);
            } catch (ClosedChannelException e) {
                if (timedOut.get()) {
                    throw new IOException("no reply from " + socket + " within " + timeout.toMillis() + " ms");
                }
                throw e;
            } finally {
                done.set(true);
                watchdog.interrupt();
                writer.interrupt();
            }
        }
    }

    private static void write(SocketChannel channel, String request) {
        try {
            ByteBuffer bytes = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            channel.shutdownOutput();
        } catch (IOException e) {
            // the server closed early; whatever it replied is still read
        }
    }

    private static String readAll(SocketChannel channel) throws IOException {
        ByteArrayOutputStream reply = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(16384);
        while (true) {
            int n;
            try {
                n = channel.read(buffer);
            } catch (IOException e) {
                if (e instanceof ClosedChannelException || reply.size() == 0) {
                    throw e;
                }
                break;
            }
            if (n < 0) {
                break;
            }
            reply.write(buffer.array(), 0, buffer.position());
            buffer.clear();
            if (reply.size() > MAX_REPLY_BYTES) {
                throw new IOException("reply is longer than " + MAX_REPLY_BYTES + " bytes");
            }
        }
        return reply.toString(StandardCharsets.UTF_8);
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing to unblock the reader
        }
    }
}
