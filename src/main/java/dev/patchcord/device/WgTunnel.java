package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.l2.MacTable;
import dev.patchcord.core.l2.TapFrames;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Outcome;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Instant;

/**
 * The encrypted tunnel: the WireGuard {@link Node} between a TUN device and a UDP socket. Three
 * platform threads: interface to network (route, seal, send), network to interface (receive,
 * open, deliver, answer handshakes), and a timer thread that ticks the node ten times a second.
 * Each owns its buffer and cipher; the node is safe to share.
 */
public final class WgTunnel extends Loops {
    /** A WireGuard message's header in front of the packet, so it is sealed in place. */
    private static final int HEADROOM = 16;
    private static final int BUFFER = 65536 + 64;
    private static final long TICK_MILLIS = 100;

    private final PacketDevice device;
    private volatile UdpSocket socket;
    private int fwmark;
    private volatile boolean hub;
    private volatile boolean isolate;
    /** TAP mode: which peer each MAC address is behind. */
    private final MacTable<Peer> macs = new MacTable<>(MacTable.DEFAULT_CAPACITY, MacTable.DEFAULT_AGEING);
    private final Node node;
    private final PrintStream verbose;
    private final Wakeup wakeup;
    private final Arena arena = Arena.ofShared();

    /**
     * @param wakeup the signal that stops all three loops
     * @param verbose where to print handshake and drop events, or null
     */
    public WgTunnel(PacketDevice device, UdpSocket socket, Node node, Wakeup wakeup, PrintStream verbose) {
        this.device = device;
        this.socket = socket;
        this.node = node;
        this.wakeup = wakeup;
        this.verbose = verbose;
        loop("device-to-net", this::outbound);
        loop("net-to-device", this::inbound);
        loop("timers", this::timers);
    }

    @Override
    protected boolean stopping() {
        return wakeup.signalled();
    }

    /**
     * How packets from one peer to another are handled. {@code hub}: re-encrypted to the other
     * peer right here, without a trip through the kernel. Otherwise they go to the interface and
     * the kernel routes them (if IP forwarding is on). {@code isolate}: dropped either way.
     */
    public void setForwarding(boolean hub, boolean isolate) {
        this.hub = hub;
        this.isolate = isolate;
    }

    public UdpSocket socket() {
        return socket;
    }

    public synchronized int fwmark() {
        return fwmark;
    }

    /**
     * Moves to another UDP port (0: the kernel picks). The receive loop notices the new socket;
     * the old one is closed, which wakes it.
     */
    public synchronized void rebind(int port) throws SysException {
        UdpSocket old = socket;
        if (port != 0 && port == old.port()) {
            return;
        }
        UdpSocket fresh = UdpSocket.bind(null, port, wakeup);
        if (fwmark != 0) {
            try {
                fresh.setMark(fwmark);
            } catch (SysException e) {
                fresh.close();
                throw e;
            }
        }
        socket = fresh;
        old.close();
    }

    /** Sets (or with 0 clears) the firewall mark on everything the tunnel sends. */
    public synchronized void setFwmark(int mark) throws SysException {
        socket.setMark(mark);
        fwmark = mark;
    }

    /** Where a peer is: its endpoint, learned from authenticated packets (roaming). */
    public static PeerAddress endpointOf(Peer peer) {
        if (peer.attachment() instanceof PeerAddress a) {
            return a;
        }
        synchronized (peer) {
            if (!(peer.attachment() instanceof PeerAddress)) {
                peer.attach(new PeerAddress(null, true));
            }
            return (PeerAddress) peer.attachment();
        }
    }

    private static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** Sends {@code len} bytes at the start of {@code seg} to the peer's endpoint, counting failures. */
    private void sendTo(Peer peer, MemorySegment seg, int len) {
        MemorySegment to = endpointOf(peer).current();
        if (to == null) {
            node.counters().drop(Drop.NO_PEER);
            return;
        }
        if (socket.send(seg, 0, len, to) < 0) {
            node.counters().drop(Drop.SEND_ERROR);
        } else {
            node.counters().sent(len);
        }
    }

    /** Sends everything the peer has queued (handshake, staged packets, keepalive). */
    private void drain(Peer peer, MemorySegment seg, ByteBuffer view, DataCipher cipher) {
        for (int i = 0; i < 1024; i++) {
            int n = peer.poll(view, System.nanoTime(), epochNanos(), cipher);
            if (n <= 0) {
                return;
            }
            sendTo(peer, seg, n);
        }
    }

    private void outbound() throws SysException {
        MemorySegment seg = arena.allocate(BUFFER, 64);
        ByteBuffer view = seg.asByteBuffer();
        // The interface writes the packet after the headroom; the tail leaves room for padding and tag.
        boolean layer2 = node.layer2();
        int start = layer2 ? HEADROOM + TapFrames.PREFIX : HEADROOM;
        MemorySegment packet = seg.asSlice(start, node.mtu() + 64);
        DataCipher cipher = new DataCipher();
        byte[] scratch = new byte[BUFFER];
        while (true) {
            int n = device.read(packet);
            if (n < 0) {
                return;
            }
            if (layer2) {
                outboundFrame(n, seg, view, cipher, scratch);
                continue;
            }
            Peer peer = node.allowedIps().forDestination(view, HEADROOM, n);
            if (peer == null) {
                node.counters().drop(Drop.NO_ROUTE);
                continue;
            }
            int len = peer.seal(view, n, System.nanoTime(), cipher);
            if (len > 0) {
                sendTo(peer, seg, len);
            } else {
                drain(peer, seg, view, cipher);
            }
        }
    }

    /** A frame from the TAP: to the peer its destination is behind, or to every peer. */
    private void outboundFrame(int n, MemorySegment seg, ByteBuffer view, DataCipher cipher, byte[] scratch) {
        if (n < TapFrames.ETHERNET_HEADER) {
            node.counters().drop(Drop.RUNT);
            return;
        }
        TapFrames.writePrefix(view, HEADROOM, n);
        int plain = n + TapFrames.PREFIX;
        var peers = node.peers();
        Peer to = peers.size() == 1 ? peers.iterator().next()
                : macs.lookup(MacTable.mac(view, HEADROOM + TapFrames.PREFIX), System.nanoTime());
        if (to != null) {
            sealAndSend(to, plain, seg, view, cipher);
        } else {
            flood(null, plain, seg, view, cipher, scratch);
        }
    }

    private void sealAndSend(Peer to, int plain, MemorySegment seg, ByteBuffer view, DataCipher cipher) {
        int len = to.seal(view, plain, System.nanoTime(), cipher);
        if (len > 0) {
            sendTo(to, seg, len);
        } else {
            drain(to, seg, view, cipher);
        }
    }

    /**
     * Sends the plaintext at the headroom to every peer but {@code except}: broadcast, multicast
     * and unknown destinations, as a switch floods. Sealing works in place, so the plaintext is
     * kept aside and put back before each copy.
     */
    private void flood(Peer except, int plain, MemorySegment seg, ByteBuffer view, DataCipher cipher, byte[] scratch) {
        view.get(HEADROOM, scratch, 0, plain);
        for (Peer p : node.peers()) {
            if (p != except) {
                view.put(HEADROOM, scratch, 0, plain);
                sealAndSend(p, plain, seg, view, cipher);
            }
        }
        view.put(HEADROOM, scratch, 0, plain);
    }

    /**
     * A frame from a peer (TAP mode): learn where its source is, then deliver it to the TAP, to
     * another peer (hub), or to both (a flooded frame in hub mode).
     */
    private void inboundFrame(Peer from, int off, int len, MemorySegment seg, ByteBuffer view,
                              MemorySegment control, ByteBuffer controlView, DataCipher cipher, byte[] scratch) {
        long now = System.nanoTime();
        macs.learn(MacTable.mac(view, off + 6), from, now);
        long dst = MacTable.mac(view, off);
        Peer to = hub || isolate ? macs.lookup(dst, now) : null;
        if (to != null && to != from) {
            forward(to, len + TapFrames.PREFIX, seg, view, control, controlView, cipher);
            return;
        }
        if (device.write(seg, off, len) < 0) {
            node.counters().drop(Drop.DEVICE_ERROR);
        } else {
            node.counters().received(len);
        }
        if (hub && !isolate && to == null) {
            flood(from, len + TapFrames.PREFIX, seg, view, cipher, scratch);
        }
    }

    private void inbound() throws SysException {
        MemorySegment seg = arena.allocate(BUFFER, 64);
        ByteBuffer view = seg.asByteBuffer();
        MemorySegment from = arena.allocate(SockAddr.SIZE, 8);
        MemorySegment reply = arena.allocate(256, 8);
        MemorySegment control = arena.allocate(BUFFER, 64);
        ByteBuffer controlView = control.asByteBuffer();
        DataCipher cipher = new DataCipher();
        Outcome out = new Outcome();
        boolean layer2 = node.layer2();
        byte[] scratch = new byte[BUFFER];
        // Only handshake messages ask for the source (for cookies), so this allocates only for them.
        Node.Source source = () -> from.asSlice(8, 18).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        while (true) {
            UdpSocket s = socket;
            int n = s.receive(seg, from);
            if (n < 0) {
                if (s != socket && !wakeup.signalled()) {
                    continue; // moved to a new port
                }
                return;
            }
            if (n > BUFFER) {
                node.counters().drop(Drop.OVERSIZE);
                continue;
            }
            node.receive(view, n, source, System.nanoTime(), epochNanos(), cipher, out);
            Peer peer = out.peer;
            if (out.authenticated && endpointOf(peer).observe(from) && verbose != null) {
                verbose.println("peer " + shortKey(peer) + " is now at " + SockAddr.format(SockAddr.decode(from)));
            }
            switch (out.kind) {
                case DELIVER -> {
                    if (layer2) {
                        inboundFrame(peer, out.offset, out.length, seg, view, control, controlView, cipher, scratch);
                        break;
                    }
                    Peer to = hub || isolate ? node.allowedIps().forDestination(view, out.offset, out.length) : null;
                    if (to != null && to != peer) {
                        forward(to, out.length, seg, view, control, controlView, cipher);
                    } else if (device.write(seg, out.offset, out.length) < 0) {
                        node.counters().drop(Drop.DEVICE_ERROR);
                    } else {
                        node.counters().received(out.length);
                    }
                }
                case REPLY -> {
                    MemorySegment.copy(out.reply, 0, reply, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, out.reply.length);
                    if (socket.send(reply, 0, out.reply.length, from) < 0) {
                        node.counters().drop(Drop.SEND_ERROR);
                    }
                }
                default -> { }
            }
            if (verbose != null && out.kind == Outcome.Kind.DROP) {
                verbose.println("dropped " + n + " bytes from " + SockAddr.format(SockAddr.decode(from)) + ": " + out.drop.label());
            }
            if (peer != null && out.kind != Outcome.Kind.DELIVER) {
                // A handshake step may have released staged packets or asked for a keepalive.
                drain(peer, control, controlView, cipher);
            }
        }
    }

    /**
     * A packet from one peer for another: re-encrypted in place (it already sits after the
     * headroom, where sealing wants it) and sent on, unless isolation forbids it.
     */
    private void forward(Peer to, int len, MemorySegment seg, ByteBuffer view, MemorySegment control,
                         ByteBuffer controlView, DataCipher cipher) {
        if (isolate) {
            node.counters().drop(Drop.ISOLATED);
            return;
        }
        int n = to.seal(view, len, System.nanoTime(), cipher);
        if (n > 0) {
            sendTo(to, seg, n);
        } else {
            drain(to, control, controlView, cipher);
        }
    }

    private void timers() throws InterruptedException {
        MemorySegment seg = arena.allocate(BUFFER, 64);
        ByteBuffer view = seg.asByteBuffer();
        DataCipher cipher = new DataCipher();
        while (!wakeup.signalled()) {
            node.tick(System.nanoTime());
            for (Peer p : node.peers()) {
                drain(p, seg, view, cipher);
            }
            Thread.sleep(TICK_MILLIS);
        }
    }

    static String shortKey(Peer p) {
        return java.util.Base64.getEncoder().encodeToString(p.publicKey()).substring(0, 8) + "…";
    }

    public Node node() {
        return node;
    }

    @Override
    public String summary() {
        return node.counters().summary();
    }
}
