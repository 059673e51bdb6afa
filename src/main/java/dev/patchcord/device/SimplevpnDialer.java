package dev.patchcord.device;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.core.simplevpn.KeepaliveTimer;
import dev.patchcord.core.simplevpn.Reconnect;
import dev.patchcord.core.simplevpn.StreamSplitter;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.StreamSocket;

import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;

/**
 * How a simplevpn client gets a working connection: connect, send the address request before
 * anything else (the original server misbehaves, even corrupts its memory, if data comes first),
 * and wait for the reply; on failure, wait ({@link Reconnect}) and start again, until it works or
 * the client stops.
 *
 * <p>The reply is read with a time-out, straight into the shared {@link StreamSplitter}'s buffer:
 * anything that arrives with it (the second copy, or packets) is left there, where the client's
 * reader continues. {@link #abort()} ends the connect and the wait for the reply at once.
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
    /** The splitter's whole buffer, which the reply is read into. */
    private final MemorySegment inbound;
    private final Counters counters;
    private final PrintStream log;
    private final String label;
    private final Reconnect reconnect = new Reconnect();
    private volatile InetSocketAddress server;
    /** Fired by {@link #abort()}: ends a wait for the connect or the reply (the client is stopping). */
    private final Wakeup stop;
    /** The request, in native memory for the socket's write. */
    private final MemorySegment requestBuffer = Arena.ofAuto().allocate(ControlMessage.SIZE);

    /**
     * @param server        the server, resolved; {@code host} is resolved again for each attempt
     * @param staticAddress the address to ask for, or {@link ControlMessage#NONE} for a dynamic one
     * @param inbound       the whole of the splitter's buffer (native memory)
     */
    SimplevpnDialer(String host, InetSocketAddress server, int staticAddress, StreamSplitter splitter,
                    MemorySegment inbound, Counters counters, PrintStream log, String label) throws SysException {
        this.host = host;
        this.server = server;
        this.port = server.getPort();
        this.staticAddress = staticAddress;
        this.splitter = splitter;
        this.inbound = inbound;
        this.stop = new Wakeup();
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
        stop.signal();
    }

    /** Frees the stop signal; call once nothing dials any more (a later {@link #abort()} does nothing). */
    void close() {
        stop.close();
    }

    /**
     * Opens connections until one gets an address.
     *
     * @return the connection, or null if the client stopped first
     * @throws StaticAddressRefused if the static address was refused and retrying is pointless
     */
    ServerConnection dial(Client client) {
        while (!client.stopping()) {
            StreamSocket socket = null;
            String failure;
            try {
                socket = StreamSocket.connect(resolve(), CONNECT_TIMEOUT_MILLIS, stop);
                socket.setNoDelay(true);
                KeepaliveTimer timer = new KeepaliveTimer(System.nanoTime());
                byte[] request = staticAddress == ControlMessage.NONE
                        ? ControlMessage.dynamicRequest() : ControlMessage.staticRequest(staticAddress);
                requestBuffer.copyFrom(MemorySegment.ofArray(request));
                socket.writeFully(requestBuffer, 0, request.length);
                int assigned = awaitReply(socket, timer, client);
                if (client.stopping()) {
                    close(socket); // the wait was ended by abort(): not a refusal
                    break;
                }
                if (assigned != ControlMessage.NONE) {
                    reconnect.assigned();
                    return new ServerConnection(socket, assigned, timer);
                }
                // Closed in answer to the request: the server's only way of saying no.
                if (staticAddress != ControlMessage.NONE) {
                    if (reconnect.giveUpAfterRefusal(System.nanoTime())) {
                        close(socket);
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
                // A failed connect names the address already: "connect to ADDR: Connection refused".
                String m = e.getMessage();
                failure = m != null && m.startsWith("connect to ") ? "cannot " + m
                        : "cannot connect to " + SockAddr.format(server) + ": " + m;
            }
            close(socket);
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
     * @return the address assigned, or NONE if the server closed the connection first or
     *         {@link #abort()} ended the wait
     * @throws SocketTimeoutException if a read waited {@link KeepaliveTimer#REPLY_TIMEOUT} in vain
     */
    private int awaitReply(StreamSocket socket, KeepaliveTimer timer, Client client) throws IOException {
        splitter.reset();
        int timeoutMillis = (int) (KeepaliveTimer.REPLY_TIMEOUT / 1_000_000);
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
            ByteBuffer in = splitter.inbound();
            int n;
            try {
                n = socket.read(inbound, in.position(), in.remaining(), stop, timeoutMillis);
            } catch (EOFException e) {
                return ControlMessage.NONE;
            }
            if (n == StreamSocket.STOPPED) {
                return ControlMessage.NONE;
            }
            timer.onReceived(System.nanoTime());
            if (!splitter.split(n, sink, counters)) {
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

    private static void close(StreamSocket socket) {
        if (socket != null) {
            socket.close();
        }
    }
}
