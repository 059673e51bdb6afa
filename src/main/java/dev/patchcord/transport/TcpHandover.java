package dev.patchcord.transport;

import dev.patchcord.core.wg.Peer;
import dev.patchcord.sys.Libc;
import dev.patchcord.transport.TcpTransport.LinkState;
import dev.patchcord.transport.TcpTransport.Suspended;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The restart hand-over of a {@link TcpTransport}'s sockets: suspending it and describing every
 * connection ({@link LinkState}) for a successor process, resuming it if the successor failed,
 * and, in the successor, adopting what a predecessor described. Nothing is shut down on the way:
 * a shutdown would end a connection for both processes.
 *
 * <p><b>Concurrency.</b> {@link #suspend()} and {@link #resume(boolean)} are called by one thread at a
 * time (the one running the restart); they wait on the transport's {@link TcpGate} for its
 * readers and acceptor to hold, and read what the readers kept under it. {@link #adopt} runs
 * before any of the transport's threads, under the transport's own lock.
 */
final class TcpHandover {
    /** How long a suspension lets the writers write out what is queued; the rest is handed on. */
    private static final long FLUSH_NANOS = 1_000_000_000L;
    /** How long a suspension waits for the readers to stop (each finishes the read it is handling). */
    private static final long STOP_NANOS = 5_000_000_000L;

    private final TcpTransport owner;
    private final TcpGate gate;

    TcpHandover(TcpTransport owner) {
        this.owner = owner;
        this.gate = owner.gate;
    }

    /** See {@link TcpTransport#suspend()}. */
    Suspended suspend() {
        gate.suspend();
        try {
            gate.signal();
            long end = System.nanoTime() + STOP_NANOS;
            synchronized (gate) {
                while (!stopped()) {
                    long left = (end - System.nanoTime()) / 1_000_000;
                    if (left <= 0) {
                        throw new IllegalStateException("TCP readers did not stop within " + STOP_NANOS / 1_000_000 + " ms");
                    }
                    gate.wait(left);
                }
            }
            return describe();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            resume(false);
            throw new IllegalStateException("interrupted while suspending TCP", e);
        } catch (RuntimeException e) {
            resume(false);
            throw e;
        }
    }

    /** Whether the acceptor and every reader wait out the suspension (under the gate). */
    private boolean stopped() {
        TcpAcceptor acceptor = owner.acceptor;
        if (acceptor != null && !acceptor.stopped()) {
            return false;
        }
        for (TcpConn c : owner.conns) {
            if (!c.held) {
                return false;
            }
        }
        return true;
    }

    /** With everything stopped: flushes the writers and describes each connection. */
    private Suspended describe() {
        TcpTransport.Host tunnel = owner.tunnel;
        Map<PeerEndpoint, Peer> owners = new IdentityHashMap<>();
        for (Peer p : tunnel.peers()) {
            owners.put(tunnel.endpoint(p), p);
        }
        List<TcpConn> all = new ArrayList<>(owner.conns);
        all.forEach(c -> c.link.refuse()); // all writers flush at once
        long deadline = System.nanoTime() + FLUSH_NANOS;
        List<LinkState> states = new ArrayList<>();
        for (TcpConn c : all) {
            byte[] unsent = c.link.suspend(deadline);
            if (unsent == null) {
                continue; // it broke meanwhile: nothing to hand on
            }
            long now = System.nanoTime();
            Peer peer = c.dialled != null ? tunnel.peer(c.dialled) : c.attached != null ? owners.get(c.attached) : null;
            PeerEndpoint at = peer != null ? tunnel.endpoint(peer) : null;
            byte[] key = c.dialled != null ? c.dialled.clone() : peer != null ? peer.publicKey().clone() : null;
            long last = c.slot != null ? c.slot.lastAuthenticated : Long.MIN_VALUE;
            byte[] unread;
            synchronized (gate) {
                unread = c.unread;
            }
            states.add(new LinkState(c.link.socket().fd(), key, unread, c.link.peerName(), c.dialled != null,
                    at != null && at.tcp() == c.link, unsent, now - c.opened,
                    last == Long.MIN_VALUE ? Long.MIN_VALUE : now - last));
        }
        StreamSocket server = owner.server;
        return new Suspended(server != null ? server.fd() : -1, List.copyOf(states));
    }

    /** See {@link TcpTransport#resume()} and {@link TcpTransport#resumeWithoutConnections()}. */
    void resume(boolean closeConnections) {
        gate.checkSuspended();
        if (closeConnections) {
            owner.conns.forEach(c -> c.link.close());
        } else {
            owner.conns.forEach(c -> c.link.resume());
        }
        gate.resume();
    }

    /** See {@link TcpTransport#adopt}: the connections oldest first, as they opened, then the listener. */
    void adopt(Suspended s) throws IOException {
        gate.open();
        List<LinkState> oldestFirst = s.links().stream()
                .sorted(Comparator.comparingLong(LinkState::ageNanos).reversed()).toList();
        List<byte[]> dialled = new ArrayList<>();
        int i = 0;
        try {
            for (; i < oldestFirst.size(); i++) {
                adoptLink(oldestFirst.get(i), dialled);
            }
            if (s.listenerFd() >= 0) {
                owner.listen(StreamSocket.adopt(s.listenerFd()));
            } else if (owner.listenPort != 0) {
                owner.listen(StreamSocket.listen(null, owner.listenPort));
            }
        } catch (IOException | RuntimeException e) {
            // Never shut down what the predecessor may carry on with.
            for (int j = i + 1; j < oldestFirst.size(); j++) {
                Libc.close(oldestFirst.get(j).fd());
            }
            if (owner.server == null && s.listenerFd() >= 0) {
                Libc.close(s.listenerFd());
            }
            owner.abandon();
            throw e;
        }
        owner.startDialers(dialled);
    }

    private void adoptLink(LinkState ls, List<byte[]> dialled) throws IOException {
        if (ls.unread() != null && ls.unread().length > TcpFrames.HEADER + TcpLink.MAX_MESSAGE) {
            Libc.close(ls.fd());
            throw new IllegalArgumentException(ls.unread().length + " unread bytes: more than a frame");
        }
        if (ls.dialled() && ls.peerKey() == null) {
            Libc.close(ls.fd());
            throw new IllegalArgumentException("a dialled connection without its peer's key");
        }
        StreamSocket sock = StreamSocket.adopt(ls.fd());
        TcpLink link;
        try {
            link = new TcpLink(sock, ls.remote(), ls.unsent());
        } catch (IOException | RuntimeException e) {
            sock.release();
            throw e;
        }
        long now = System.nanoTime();
        long opened = now - ls.ageNanos();
        TcpTransport.Host tunnel = owner.tunnel;
        Peer peer = ls.peerKey() != null ? tunnel.peer(ls.peerKey()) : null;
        PeerEndpoint at = peer != null ? tunnel.endpoint(peer) : null;
        TcpConn c;
        if (ls.dialled()) {
            c = new TcpConn(link, null, ls.peerKey().clone(), opened, ls.unread());
        } else {
            InetSocketAddress from = sock.remote();
            long last = ls.quietNanos() == Long.MIN_VALUE ? Long.MIN_VALUE : now - ls.quietNanos();
            c = new TcpConn(link, owner.admission.adopt(from != null ? from.getAddress() : null, opened, last, sock::close),
                    null, opened, ls.unread());
        }
        c.attached = at;
        if (at != null && ls.attached()) {
            at.observeTcp(link);
        }
        owner.conns.add(c);
        if (ls.dialled()) {
            dialled.add(c.dialled);
            owner.startDialer(c.dialled, c);
        } else {
            TcpTransport.platform("tcp-read", () -> c.read(owner));
        }
    }
}
