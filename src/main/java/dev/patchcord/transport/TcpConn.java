package dev.patchcord.transport;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * One connection of a {@link TcpTransport} and its reader: reads as much as has arrived (up to
 * {@link TcpTransport#CHUNK}), hands every whole message of it to the tunnel at once, and keeps
 * the bytes of a partial frame for the next read. Bytes that are not WireGuard framing are counted
 * and close the connection. The connection attaches itself to whichever peer's authenticated
 * messages come over it.
 *
 * <p><b>Concurrency.</b> {@link #read} runs on one thread: the connection's own, or its dialer's.
 * The transport's {@link TcpGate} stops it: when the gate's wake-up fires during a suspension the
 * reader copies its partial frame to {@link #unread} and waits on the gate, with {@link #held}
 * set; both fields are read and written under the gate. {@link #attached} is written by the reader
 * and read by a suspension once the reader holds.
 */
final class TcpConn {
    final TcpLink link;
    /** Its admission, for an accepted connection; null for one this side dialled. */
    final TcpAdmission.Slot slot;
    /** The key dialled, for a dialled connection. */
    final byte[] dialled;
    final long opened;
    /** The endpoint of the peer whose authenticated messages last came over it. */
    volatile PeerEndpoint attached;
    /** Bytes of a partial frame: handed in by a predecessor, or kept while suspended (under the gate). */
    byte[] unread;
    /** The reader waits out a suspension (under the gate). */
    boolean held;

    TcpConn(TcpLink link, TcpAdmission.Slot slot, byte[] dialled, long opened, byte[] unread) {
        this.link = link;
        this.slot = slot;
        this.dialled = dialled;
        this.opened = opened;
        this.unread = unread;
    }

    private enum Held { RESUMED, HANDED_OVER, END }

    /**
     * Reads messages from this connection until it closes or is handed over, starting with the
     * bytes a predecessor read of it ({@link #unread}). Ends by taking it out of the transport's
     * connections and, unless it was handed over, closing it and freeing its admission.
     *
     * @return true if it was handed over (it stays open, for the successor)
     */
    boolean read(TcpTransport owner) {
        TcpGate gate = owner.gate;
        TcpAdmission admission = owner.admission;
        byte[] source = link.describe().getBytes(StandardCharsets.UTF_8);
        Origin origin = new Origin() {
            @Override
            public byte[] sourceBytes() {
                return source;
            }

            @Override
            public void reply(byte[] message) {
                link.send(message);
            }

            @Override
            public boolean observe(PeerEndpoint endpoint) {
                if (slot != null) {
                    admission.authenticated(slot, System.nanoTime());
                }
                attached = endpoint;
                return endpoint.observeTcp(link);
            }

            @Override
            public String describe() {
                return link.describe();
            }
        };
        boolean handedOver = false;
        gate.entered();
        try (Arena arena = Arena.ofConfined()) {
            TcpTransport.Inbound inbound = owner.tunnel.inbound(arena);
            MemorySegment chunk = arena.allocate(TcpTransport.CHUNK, 64);
            ByteBuffer view = chunk.asByteBuffer();
            TcpFrames frames = new TcpFrames(TcpLink.MAX_MESSAGE);
            int filled = 0;
            byte[] first = unread;
            if (first != null) {
                MemorySegment.copy(first, 0, chunk, ValueLayout.JAVA_BYTE, 0, first.length);
                filled = first.length;
                unread = null;
            }
            while (!gate.closed()) {
                int start = 0;
                while (true) {
                    int next = frames.scan(chunk, start, filled);
                    if (next == TcpFrames.BAD) {
                        inbound.malformed();
                        return false;
                    }
                    if (frames.count() == 0) {
                        break;
                    }
                    inbound.handle(chunk, view, frames, origin);
                    start = next;
                }
                // What is left is part of a frame (under 64 KiB): to the front, to be completed.
                if (start > 0) {
                    MemorySegment.copy(chunk, start, chunk, 0, filled - start);
                    filled -= start;
                }
                int n = link.readInto(chunk, filled, TcpTransport.CHUNK, gate.pause());
                if (n == StreamSocket.STOPPED) {
                    Held h = hold(gate, chunk, filled);
                    if (h == Held.HANDED_OVER) {
                        handedOver = true;
                        return true;
                    }
                    if (h == Held.END) {
                        return false;
                    }
                    continue;
                }
                filled += n;
            }
        } catch (IOException e) {
            // The connection ended: the peer goes back to UDP, or its dialer reconnects.
        } finally {
            owner.conns.remove(this);
            if (!handedOver) {
                link.close();
                if (slot != null) {
                    admission.closed(slot);
                }
            }
            synchronized (gate) {
                gate.notifyAll(); // a suspension waits for this reader no longer
            }
            gate.left();
        }
        return false;
    }

    /**
     * Waits out a suspension, keeping the bytes of the partial frame where the suspension can hand
     * them on.
     */
    private Held hold(TcpGate gate, MemorySegment chunk, int filled) {
        byte[] kept = new byte[filled];
        MemorySegment.copy(chunk, ValueLayout.JAVA_BYTE, 0, kept, 0, filled);
        synchronized (gate) {
            if (!gate.paused()) {
                return gate.closed() ? Held.END : Held.RESUMED; // the wake-up was close()'s
            }
            unread = kept;
            held = true;
            gate.notifyAll();
            boolean running = gate.awaitRunning();
            held = false;
            unread = null;
            return running ? Held.RESUMED : gate.abandoned() ? Held.HANDED_OVER : Held.END;
        }
    }
}
