package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.assign.AddressMessage;
import dev.patchcord.core.l2.MacTable;
import dev.patchcord.core.l2.TapFrames;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.transport.Origin;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Instant;

/**
 * What happens to one received WireGuard message, whichever transport brought it: the node
 * decides; the receiver delivers to the interface, forwards to another peer (hub), answers
 * handshakes over the transport the message came on, and records where an authenticated peer is
 * now (roaming, UDP or TCP). One Receiver per receiving thread, with that thread's buffers.
 */
final class Receiver {
    /** Where packets for the interface go: written at once, or gathered for one batched write. */
    interface Delivery {
        /** Takes the IP packet or Ethernet frame at {@code view[off, off + len)} (the same bytes as {@code seg}'s). */
        void deliver(MemorySegment seg, ByteBuffer view, int off, int len);
    }

    private final WgTunnel tunnel;
    private final Node node;
    private final Forwarding forwarding;
    private final Buffers b;
    private final Outcome out = new Outcome();
    private final PrintStream verbose;
    private final Node.Source source;
    private Origin origin;
    private Delivery delivery = this::write;
    /**
     * TAP mode: the source address last learned, from which peer, and when. A bulk transfer brings
     * frames of one source from one peer back to back; learning it again for each would cost a
     * lock and a table entry per frame, so it is learned again only after {@link #RELEARN}, or
     * at once when the table says an address moved since (another thread may have learned this
     * one behind another peer, and it must come back as soon as its frames do).
     */
    private long learnedMac = -1;
    private Peer learnedFrom;
    private long learnedAt;
    private long learnedMoves = -1;
    private static final long RELEARN = 1_000_000_000L;

    Receiver(WgTunnel tunnel, Buffers buffers, PrintStream verbose) {
        this.tunnel = tunnel;
        this.node = tunnel.node();
        this.forwarding = tunnel.forwarding();
        this.b = buffers;
        this.verbose = verbose;
        this.source = () -> origin.sourceBytes();
    }

    /** Sends delivered IP packets (or frames) to {@code d} instead of writing each to the interface. */
    void setDelivery(Delivery d) {
        this.delivery = d;
    }

    Outcome outcome() {
        return out;
    }

    private static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** Handles the {@code n}-byte message at the start of this receiver's buffer. */
    void handle(int n, Origin from) {
        origin = from;
        node.receive(b.view, 0, n, source, System.nanoTime(), epochNanos(), b.cipher, out);
        act(n, from, b.seg, b.view, 0);
    }

    /**
     * Acts on what the node decided about the {@code n}-byte message that was at
     * {@code view[base]} (its outcome in {@link #outcome()}): delivers, forwards, answers.
     */
    void act(int n, Origin from, MemorySegment seg, ByteBuffer view, int base) {
        Peer peer = out.peer();
        if (out.authenticated() && from.observe(tunnel.endpoint(peer)) && verbose != null) {
            verbose.println("peer " + WgTunnel.shortKey(peer) + " is now at " + from.describe());
        }
        switch (out.kind()) {
            case DELIVER -> {
                if (node.layer2()) {
                    frame(peer, seg, view, base, out.offset(), out.length());
                } else {
                    packet(peer, seg, view, base, out.offset(), out.length());
                }
            }
            case REPLY -> from.reply(out.reply());
            case CONTROL -> {
                WgTunnel.ControlHandler handler = tunnel.controlHandler();
                if (handler == null) {
                    node.counters().drop(Drop.UNEXPECTED_CONTROL);
                } else {
                    // The node found it well-formed; this decodes it (control messages are rare).
                    handler.handle(peer, AddressMessage.decode(view, out.offset(), out.length()));
                }
            }
            default -> { }
        }
        if (verbose != null && out.kind() == Outcome.Kind.DROP) {
            verbose.println("dropped " + n + " bytes from " + from.describe() + ": " + out.drop().label());
        }
        if (peer != null && out.kind() != Outcome.Kind.DELIVER) {
            // A handshake step may have released staged packets or asked for a keepalive.
            tunnel.drain(peer, b.control, b.controlView, b.cipher);
        }
    }

    /** One packet to the interface now (with a plain virtio header in front if the device wants one). */
    private void write(MemorySegment seg, ByteBuffer view, int off, int len) {
        if (tunnel.writePacket(seg, off, len) < 0) {
            node.counters().drop(Drop.DEVICE_ERROR);
        } else {
            node.counters().received(len);
        }
    }

    /** An IP packet: to the interface, or straight to another peer when the tunnel is a hub. */
    private void packet(Peer from, MemorySegment seg, ByteBuffer view, int base, int off, int len) {
        Peer to = forwarding.hub() || forwarding.isolate() ? node.allowedIps().forDestination(view, off, len) : null;
        if (to != null && to != from) {
            forwarding.forward(to, len, seg, view, base, b);
        } else {
            delivery.deliver(seg, view, off, len);
        }
    }

    /**
     * An Ethernet frame (TAP mode): learn where its source is, then deliver it to the TAP, to
     * another peer (hub), or to both (a flooded frame in hub mode).
     */
    private void frame(Peer from, MemorySegment seg, ByteBuffer view, int base, int off, int len) {
        long now = System.nanoTime();
        MacTable<Peer> macs = forwarding.macs();
        long source = MacTable.mac(view, off + 6);
        long moves = macs.moves();
        if (source != learnedMac || from != learnedFrom || now - learnedAt >= RELEARN || moves != learnedMoves) {
            macs.learn(source, from, now);
            learnedMac = source;
            learnedFrom = from;
            learnedAt = now;
            learnedMoves = macs.moves();
        }
        boolean switching = forwarding.hub() || forwarding.isolate();
        Peer to = switching ? macs.lookup(MacTable.mac(view, off), now) : null;
        if (to != null && to != from) {
            forwarding.forward(to, len + TapFrames.PREFIX, seg, view, base, b);
            return;
        }
        delivery.deliver(seg, view, off, len);
        if (forwarding.hub() && !forwarding.isolate() && to == null) {
            if (seg != b.seg) {
                // Decrypted in a batch's buffer: flooding works at the headroom of this thread's own.
                MemorySegment.copy(seg, off - TapFrames.PREFIX, b.seg, WgTunnel.HEADROOM, len + TapFrames.PREFIX);
            }
            forwarding.flood(from, len + TapFrames.PREFIX, b.seg, b.view, b.cipher, b.scratch);
        }
    }
}
