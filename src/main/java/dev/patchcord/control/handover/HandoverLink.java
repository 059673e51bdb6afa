package dev.patchcord.control.handover;

import dev.patchcord.sys.SysException;
import dev.patchcord.sys.UnixSocket;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The private conversation between a running process and its successor, over a Unix stream
 * socket in the run directory (mode 0600; each side checks the other's credentials):
 *
 * <ol>
 *   <li>the successor, configured and warmed up, says {@code HELLO};</li>
 *   <li>the running process stops its loops and sends {@code STATE}: the {@link HandoverSnapshot}
 *       with the descriptors beside it ({@code SCM_RIGHTS}; more than {@link UnixSocket#MAX_FDS}
 *       continue in {@code FDS} messages);</li>
 *   <li>the successor answers {@code RUNNING} once its loops carry the traffic, or
 *       {@code FAILED} with the reason (the running process then resumes);</li>
 *   <li>the running process wipes its keys, says {@code BYE} and exits; its end of the socket
 *       closing tells the successor that the names (configuration socket, pid file) are free.</li>
 * </ol>
 *
 * <p>Any other message, a cut connection or a timeout is a failure of the hand-over, never a
 * half-done one: until {@code BYE} the running process owns the interface.
 */
public final class HandoverLink implements AutoCloseable {
    /** The kinds of message, each the first byte of its frame. */
    public enum Kind {
        HELLO, STATE, FDS, RUNNING, FAILED, BYE
    }

    /** A message received: its kind, its payload and any descriptors that came with it. */
    public record Message(Kind kind, byte[] payload, int[] fds) {
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    private final UnixSocket socket;

    private HandoverLink(UnixSocket socket) {
        this.socket = socket;
    }

    /**
     * The running process's side: waits for the successor {@code expectedPid} to connect.
     *
     * @throws IOException on a timeout, or a connection from any other process
     */
    public static HandoverLink accept(UnixSocket listener, long expectedPid, long timeoutMillis) throws IOException {
        UnixSocket s;
        try {
            s = listener.accept(timeoutMillis);
        } catch (SysException e) {
            throw new IOException("hand-over socket: " + e.getMessage());
        }
        if (s == null) {
            throw new IOException("the successor did not connect within " + timeoutMillis / 1000 + " s");
        }
        try {
            UnixSocket.Credentials c = s.peerCredentials();
            if (c.pid() != expectedPid) {
                throw new IOException("hand-over socket: a connection from pid " + c.pid() + ", not the successor "
                        + expectedPid);
            }
        } catch (IOException e) { // a SysException too
            s.close();
            throw e;
        }
        return new HandoverLink(s);
    }

    /**
     * The successor's side: connects to the running process, which must run as the same user.
     *
     * @throws IOException when the socket is not there or belongs to another user
     */
    public static HandoverLink connect(Path path) throws IOException {
        UnixSocket s;
        try {
            s = UnixSocket.connect(path);
        } catch (SysException e) {
            throw new IOException("cannot reach the running process at " + path + ": " + e.getMessage());
        }
        try {
            UnixSocket.Credentials c = s.peerCredentials();
            int uid = dev.patchcord.sys.Libc.geteuid();
            if (c.uid() != uid) {
                throw new IOException("the process at " + path + " runs as uid " + c.uid() + ", not " + uid);
            }
        } catch (IOException e) { // a SysException too
            s.close();
            throw e;
        }
        return new HandoverLink(s);
    }

    /** Sends a message; {@code fds} (may be empty) ride with it, at most {@link UnixSocket#MAX_FDS}. */
    public void send(Kind kind, byte[] payload, int[] fds) throws IOException {
        byte[] frame = new byte[1 + payload.length];
        frame[0] = (byte) kind.ordinal();
        System.arraycopy(payload, 0, frame, 1, payload.length);
        try {
            socket.send(frame, fds);
        } catch (SysException e) {
            throw new IOException("hand-over socket: " + e.getMessage());
        } finally {
            Arrays.fill(frame, (byte) 0); // it may hold the snapshot's keys
        }
    }

    public void send(Kind kind, String text) throws IOException {
        send(kind, text.getBytes(StandardCharsets.UTF_8), new int[0]);
    }

    /**
     * Sends the snapshot and its descriptors: the first {@link UnixSocket#MAX_FDS} with it, the
     * rest in as many {@code FDS} messages as they need.
     */
    public void sendState(byte[] snapshot, int[] fds) throws IOException {
        int first = Math.min(fds.length, UnixSocket.MAX_FDS);
        send(Kind.STATE, snapshot, Arrays.copyOf(fds, first));
        for (int at = first; at < fds.length; at += UnixSocket.MAX_FDS) {
            send(Kind.FDS, new byte[0], Arrays.copyOfRange(fds, at, Math.min(fds.length, at + UnixSocket.MAX_FDS)));
        }
    }

    /**
     * Receives the next message.
     *
     * @throws IOException when the other side is gone, the time is up, or the message is unknown
     */
    public Message receive(long timeoutMillis) throws IOException {
        UnixSocket.Message m = socket.receive(timeoutMillis); // SysException: an IOException with its errno
        byte[] data = m.data();
        if (data.length == 0 || (data[0] & 0xff) >= Kind.values().length) {
            closeAll(m.fds());
            throw new IOException("hand-over socket: an unknown message");
        }
        return new Message(Kind.values()[data[0] & 0xff], Arrays.copyOfRange(data, 1, data.length), m.fds());
    }

    /**
     * Receives a message that must be of {@code expected} kind; a {@code FAILED} one becomes an
     * exception carrying the other side's reason.
     */
    public Message expect(Kind expected, long timeoutMillis) throws IOException {
        Message m = receive(timeoutMillis);
        if (m.kind() == expected) {
            return m;
        }
        closeAll(m.fds());
        if (m.kind() == Kind.FAILED) {
            throw new IOException(m.text());
        }
        throw new IOException("hand-over socket: " + m.kind() + " where " + expected + " was due");
    }

    /**
     * Waits until the other side has closed its end (its process has exited).
     *
     * @return whether it did within {@code timeoutMillis}
     */
    public boolean awaitClosed(long timeoutMillis) {
        try {
            Message m = receive(timeoutMillis);
            closeAll(m.fds());
            return false;
        } catch (SysException e) {
            return e.errno() != dev.patchcord.sys.Linux.ETIMEDOUT; // the end of the stream, or a broken one
        } catch (IOException e) {
            return false;
        }
    }

    /** Closes descriptors received that nobody will use. */
    public static void closeAll(int[] fds) {
        for (int fd : fds) {
            dev.patchcord.sys.Libc.close(fd);
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
