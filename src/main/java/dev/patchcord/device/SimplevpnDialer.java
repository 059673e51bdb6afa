package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.core.simplevpn.KeepaliveTimer;
import dev.patchcord.core.simplevpn.Reconnect;
import dev.patchcord.core.simplevpn.StreamSplitter;
import dev.patchcord.transport.SockAddr;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * How a simplevpn client gets a working connection: connect, send the address request before
 * anything else (the original server misbehaves, even corrupts its memory, if data comes first),
 * and wait for the reply; on failure, wait ({@link Reconnect}) and start again, until it works or
 * the client stops.
 *
 * <p>The reply is read with a time-out through the socket's stream view, since a blocking channel
 * read has none. Anything that arrives with it (the second copy, or packets) is left in the shared
 * {@link StreamSplitter}, where the client's reader continues.
 */
final class SimplevpnDialer {
    private static final int CONNECT_TIMEOUT_MILLIS = 10_000;

    /** What the dialer needs from its client. */
    interface Client {
        boolean stopping();

        /** Waits, returning early if the client stops. */
        void pause(long nanos);

        /** A packet that arrived right behind the reply, at {@code off} in the splitter's buffer. */
        void deliver(int off, int len);
    }

    private final String host;
    private final int port;
    private final int staticAddress;
    private final StreamSplitter splitter;
    private final Counters counters;
    private final PrintStream log;
    private final String label;
    private final Reconnect reconnect = new Reconnect();
    private volatile InetSocketAddress server;
    /** The connection being opened, so that {@link #abort()} can close it from another thread. */
    private volatile SocketChannel opening;

    /**
     * @param server        the server, resolved; {@code host} is resolved again for each attempt
     * @param staticAddress the address to ask for, or {@link ControlMessage#NONE} for a dynamic one
     */
    SimplevpnDialer(String host, InetSocketAddress server, int staticAddress, StreamSplitter splitter,
                    Counters counters, PrintStream log, String label) {
        this.host = host;
        this.server = server;
        this.port = server.getPort();
        this.staticAddress = staticAddress;
        this.splitter = splitter;
        this.counters = counters;
        this.log = log;
        this.label = label;
    }

    /** The server as last resolved. */
    InetSocketAddress server() {
        return server;
    }

    /** The wait before reconnecting after a connection that had an address was lost. */
    long nextDelay() {
        return reconnect.nextDelay();
    }

    /** Ends a connection attempt in progress (the client is stopping). */
    void abort() {
        close(opening);
    }

    /**
     * Opens connections until one gets an address.
     *
     * @return the connection, or null if the client stopped first
     * @throws StaticAddressRefused if the static address was refused and retrying is pointless
     */
    ServerConnection dial(Client client) {
        while (!client.stopping()) {
            SocketChannel channel = null;
            String failure;
            try {
                channel = SocketChannel.open();
                opening = channel;
                if (client.stopping()) {
                    break;
                }
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                channel.socket().connect(resolve(), CONNECT_TIMEOUT_MILLIS);
                KeepaliveTimer timer = new KeepaliveTimer(System.nanoTime());
                ByteBuffer request = ByteBuffer.wrap(staticAddress == ControlMessage.NONE
                        ? ControlMessage.dynamicRequest() : ControlMessage.staticRequest(staticAddress));
                while (request.hasRemaining()) {
                    channel.write(request);
                }
                int assigned = awaitReply(channel, timer, client);
                if (assigned != ControlMessage.NONE) {
                    opening = null;
                    reconnect.assigned();
                    return new ServerConnection(channel, assigned, timer);
                }
                // Closed in answer to the request: the server's only way of saying no.
                if (staticAddress != ControlMessage.NONE) {
                    if (reconnect.giveUpAfterRefusal(System.nanoTime())) {
                        close(channel);
                        throw new StaticAddressRefused(staticAddress);
                    }
                    failure = "the server refused " + ControlMessage.format(staticAddress)
                            + " (it may still hold it for our previous connection)";
                } else {
                    failure = "the server closed the connection instead of assigning an address (pool exhausted?)";
                }
            } catch (SocketTimeoutException e) {
                failure = "no answer from " + SockAddr.format(server) + " within "
                        + KeepaliveTimer.REPLY_TIMEOUT / KeepaliveTimer.SECOND + " s";
            } catch (IOException e) {
                failure = "cannot connect to " + SockAddr.format(server) + ": " + e.getMessage();
            }
            close(channel);
            opening = null;
            if (client.stopping()) {
                break;
            }
            long delay = reconnect.nextDelay();
            log.println(label + failure + "; trying again in " + delay / KeepaliveTimer.SECOND + " s");
            client.pause(delay);
        }
        return null;
    }

    /**
     * Reads until the reply to the request.
     *
     * @return the address assigned, or NONE if the server closed the connection first
     */
    private int awaitReply(SocketChannel channel, KeepaliveTimer timer, Client client) throws IOException {
        splitter.reset();
        channel.socket().setSoTimeout((int) (KeepaliveTimer.REPLY_TIMEOUT / 1_000_000));
        InputStream in = channel.socket().getInputStream();
        byte[] chunk = new byte[4096];
        int[] got = {ControlMessage.NONE};
        StreamSplitter.Sink sink = new StreamSplitter.Sink() {
            @Override
            public void packet(ByteBuffer buf, int off, int len) {
                if (got[0] == ControlMessage.NONE) {
                    counters.drop(Drop.MALFORMED); // nothing may come before the reply
                } else {
                    client.deliver(off, len);
                }
            }

            @Override
            public void control(ByteBuffer buf, int off) {
                // Keepalives may come first: the original forwards them to clients still without an address.
                if (got[0] == ControlMessage.NONE && ControlMessage.kind(buf, off) == ControlMessage.Kind.ASSIGNMENT) {
                    got[0] = ControlMessage.destination(buf, off);
                }
            }
        };
        while (got[0] == ControlMessage.NONE) {
            int n = in.read(chunk);
            if (n < 0) {
                return ControlMessage.NONE;
            }
            timer.onReceived(System.nanoTime());
            if (!splitter.feed(chunk, 0, n, sink, counters)) {
                throw new IOException("the server sent something that is not a simplevpn reply");
            }
        }
        return got[0];
    }

    /** The server's current address; a failed lookup keeps the last one that worked. */
    private InetSocketAddress resolve() {
        InetSocketAddress fresh = new InetSocketAddress(host, port);
        if (!fresh.isUnresolved()) {
            server = fresh;
        }
        return server;
    }

    private static void close(SocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Closing is all that was wanted.
            }
        }
    }
}
