package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.assign.AddressMessages;
import dev.patchcord.core.l2.MacTable;
import dev.patchcord.core.l2.TapFrames;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.PacketAead;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.Protocol;
import dev.patchcord.core.wg.Reresolve;
import dev.patchcord.sys.NativePacketAead;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.Endpoint;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.TcpTransport;
import dev.patchcord.transport.Transport;
import dev.patchcord.transport.UdpFeatures;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.function.Supplier;

/**
 * The encrypted tunnel: the WireGuard {@link Node} between a TUN or TAP device and the network.
 * Three platform threads: interface to network (route, seal, send), UDP to interface (a
 * {@link Receiver}), and a timer thread that ticks the node ten times a second; with TCP enabled
 * ({@link TcpTransport}) each connection has a reader of its own. Every thread owns its
 * {@link Buffers}; the node is safe to share.
 */
public final class WgTunnel extends Loops implements TcpTransport.Host {
    /** A WireGuard message's header in front of the packet, so it is sealed in place. */
    static final int HEADROOM = Protocol.TRANSPORT_CONTENT;
    /** After the plaintext: up to 15 bytes of padding and the 16-byte tag (31, rounded up to 32). */
    static final int TAIL = Protocol.PADDING_MULTIPLE + Protocol.TAG_SIZE;
    private static final long TICK_MILLIS = 100;

    private final PacketDevice device;
    private volatile UdpSocket socket;
    private int fwmark;
    private volatile boolean hub;
    private volatile boolean isolate;
    /** What stands in front of the socket for peers (WireGuard over TCP), or null: the socket itself. */
    private volatile Transport front;
    /** TAP mode: which peer each MAC address is behind. */
    private final MacTable<Peer> macs = new MacTable<>(MacTable.DEFAULT_CAPACITY, MacTable.DEFAULT_AGEING);
    private final Node node;
    private final PeerEndpoints endpoints;
    private final PrintStream verbose;
    private final Wakeup wakeup;
    private final Arena arena = Arena.ofShared();
    /** Who acts on address-assignment control messages (AddressService or AddressClient), or null. */
    private volatile ControlHandler controlHandler;
    /** Run on every timer tick (ten times a second), or null. */
    private volatile Runnable tickHook;
    /** Buffers for {@link #sendControl}, which any thread may call; guarded by themselves. */
    private Buffers controlBuffers;

    /** Acts on one decoded control message from an authenticated peer. */
    public interface ControlHandler {
        void handle(Peer from, dev.patchcord.core.assign.AddressMessage message);
    }

    /**
     * @param wakeup the signal that stops all three loops
     * @param verbose where to print handshake and drop events, or null
     */
    public WgTunnel(PacketDevice device, UdpSocket socket, Node node, Wakeup wakeup, PrintStream verbose) {
        this(device, socket, node, new PeerEndpoints(), wakeup, verbose, Offloads.NONE);
    }

    /**
     * @param offloads how the packet path moves batches ({@link Offloads#NONE}: one packet per
     *                 system call, as before batching); batches need a TUN device (not TAP)
     */
    public WgTunnel(PacketDevice device, UdpSocket socket, Node node, PeerEndpoints endpoints, Wakeup wakeup,
            PrintStream verbose, Offloads offloads) {
        this.device = device;
        this.endpoints = endpoints;
        this.socket = socket;
        this.node = node;
        this.wakeup = wakeup;
        this.verbose = verbose;
        if (verbose != null) {
            node.setHandshakeEvents(new HandshakeLog(verbose));
        }
        node.setControlMessages(AddressMessages.CONTROL);
        this.nativeAead = offloads.nativeCipher() ? NativePacketAead.best().orElse(null) : null;
        if (offloads.batching() && device.batches() && !node.layer2()) {
            udpFeatures = offloads.udp();
            socket.enable(udpFeatures);
            int threads = offloads.cryptoThreads();
            loop("device-to-net", () -> {
                try (CryptoPool pool = new CryptoPool(threads, "seal", this::newCipher)) {
                    BatchOutbound b = new BatchOutbound(this, device, pool, arena);
                    try {
                        b.run();
                    } finally {
                        b.close();
                    }
                }
            });
            loop("net-to-device", () -> {
                try (CryptoPool pool = new CryptoPool(threads, "open", this::newCipher)) {
                    BatchInbound b = new BatchInbound(this, device, pool, offloads.coalesce(), arena, verbose);
                    try {
                        b.run();
                    } finally {
                        b.close();
                    }
                }
            });
            batched = offloads;
        } else {
            loop("device-to-net", this::outbound);
            loop("net-to-device", this::inbound);
            batched = Offloads.NONE;
        }
        loop("timers", this::timers);
    }

    /** Makes the native engine for each thread's cipher, or null: the JDK's cipher. */
    private final Supplier<PacketAead> nativeAead;

    /** A cipher for one thread of this tunnel, with the engine its offloads chose. */
    DataCipher newCipher() {
        return nativeAead != null ? new DataCipher(nativeAead.get()) : new DataCipher();
    }

    /** The UDP features the batched loops asked for; a new socket after a port change gets them too. */
    private UdpFeatures udpFeatures;
    private final Offloads batched;

    /**
     * What the packet path does, for the start-up line: the offloads in use, what the kernel
     * granted of them, and the cipher threads.
     */
    public String describeOffloads() {
        String cipher = "ChaCha20-Poly1305 by " + newCipher().engine();
        if (!batched.batching()) {
            return "one packet per system call, " + cipher;
        }
        StringBuilder sb = new StringBuilder(batched.describe(socket.features(), device));
        int threads = batched.cryptoThreads();
        sb.append(", ").append(threads + 1).append(threads == 0 ? " cipher thread" : " cipher threads").append(" per direction");
        return sb.append(", ").append(cipher).toString();
    }

    @Override
    public boolean stopping() {
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

    /**
     * Sends to peers through {@code transport} (WireGuard over TCP, which stands in front of the
     * socket) instead of the socket itself. Set before {@link #start}.
     */
    public void setTransport(Transport transport) {
        this.front = transport;
    }

    /** Where messages to peers go and batches come from: the socket, or what stands in front of it. */
    Transport transport() {
        Transport t = front;
        return t != null ? t : socket;
    }

    @Override
    public java.util.Collection<Peer> peers() {
        return node.peers();
    }

    @Override
    public TcpTransport.Inbound inbound(Arena arena) {
        return new Receiver(this, new Buffers(arena, newCipher()), verbose);
    }

    /** Sets who handles control messages; without one they are counted as unexpected. */
    public void setControlHandler(ControlHandler handler) {
        this.controlHandler = handler;
    }

    ControlHandler controlHandler() {
        return controlHandler;
    }

    /** Sets something to run on every timer tick (it must not throw or block for long). */
    public void setTickHook(Runnable hook) {
        this.tickHook = hook;
    }

    /**
     * Encrypts {@code message} to {@code peer} and sends it (or stages it and starts a handshake
     * if there is no session yet). Safe from any thread.
     */
    public void sendControl(Peer peer, dev.patchcord.core.assign.AddressMessage message) {
        synchronized (this) {
            if (controlBuffers == null) {
                controlBuffers = new Buffers(arena, newCipher());
            }
        }
        Buffers b = controlBuffers;
        synchronized (b) {
            int len = dev.patchcord.core.assign.AddressMessage.encode(message, b.view, HEADROOM);
            sealAndSend(peer, len, b.seg, b.view, b.cipher);
        }
    }

    /**
     * Sends a datagram of patchcord's own (the mesh directory's probe) from the tunnel's UDP
     * socket, so that it leaves through the same NAT mapping as the WireGuard traffic. Any thread.
     *
     * @return false if the socket refused it
     */
    public boolean sendDatagram(byte[] data, InetSocketAddress to) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_BYTE, 0, data.length);
            MemorySegment addr = a.allocate(SockAddr.SIZE, 8);
            SockAddr.encode(to, addr);
            return socket.send(seg, 0, data.length, addr) >= 0;
        }
    }

    boolean hub() {
        return hub;
    }

    boolean isolate() {
        return isolate;
    }

    MacTable<Peer> macs() {
        return macs;
    }

    PacketDevice device() {
        return device;
    }

    PrintStream verbose() {
        return verbose;
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
        if (udpFeatures != null) {
            fresh.enable(udpFeatures);
        }
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
    public PeerAddress endpoint(Peer peer) {
        return endpoints.of(peer);
    }

    /** Every peer's endpoint. */
    public PeerEndpoints endpoints() {
        return endpoints;
    }

    private static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /**
     * Sends {@code len} bytes at the start of {@code seg} to the peer: over its TCP connection
     * if it has an open one, else over UDP to its endpoint. Failures are counted.
     */
    void sendTo(Peer peer, MemorySegment seg, int len) {
        sendTo(peer, seg, 0, len);
    }

    /**
     * As {@link #sendTo(Peer, MemorySegment, int)} for the bytes at {@code seg[off, off + len)}. A
     * message that cannot go out is also taken out of the peer's sent bytes ({@link Peer#unsent}),
     * which count, as the kernel's, what reached the network: an initiation to a peer without an
     * endpoint is not "sent".
     */
    void sendTo(Peer peer, MemorySegment seg, int off, int len) {
        int r = transport().send(endpoints.of(peer), seg, off, len);
        if (r >= 0) {
            node.counters().sent(len);
        } else {
            node.counters().drop(r == Transport.NO_ENDPOINT ? Drop.NO_PEER : Drop.SEND_ERROR);
            peer.unsent(len);
        }
    }

    /** Sends everything the peer has queued (handshake, staged packets, keepalive). */
    void drain(Peer peer, MemorySegment seg, ByteBuffer view, DataCipher cipher) {
        for (int i = 0; i < 1024; i++) {
            int n = peer.poll(view, System.nanoTime(), epochNanos(), cipher);
            if (n <= 0) {
                return;
            }
            if (n == Protocol.INITIATION_SIZE && view.get(0) == Protocol.MESSAGE_INITIATION
                    && peer.handshakeAttempts() > 0) {
                // A retried handshake: the source address may be why the last one got no answer,
                // so this one, and what follows until the peer is heard, leaves as routing picks
                // (as Linux's WireGuard does on every retry).
                endpoint(peer).forgetSource();
            }
            sendTo(peer, seg, n);
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
     * A packet from one peer for another: re-encrypted in place (it already sits after the
     * headroom, where sealing wants it: {@code base} is where its message was) and sent on,
     * unless isolation forbids it.
     */
    void forward(Peer to, int plain, MemorySegment seg, ByteBuffer view, int base, Buffers b) {
        if (isolate) {
            node.counters().drop(Drop.ISOLATED);
            return;
        }
        int n = to.seal(view, base, plain, System.nanoTime(), b.cipher);
        if (n > 0) {
            sendTo(to, seg, base, n);
        } else {
            drain(to, b.control, b.controlView, b.cipher);
        }
    }

    /**
     * Writes one IP packet or frame to the device; on a device with virtio-net headers, a plain
     * header goes in front. Any thread.
     *
     * @return 0, or the negated errno
     */
    int writePacket(MemorySegment seg, int off, int len) {
        return device.writePacket(seg, off, len);
    }

    /**
     * Sends the plaintext at the headroom to every peer but {@code except}: broadcast, multicast
     * and unknown destinations, as a switch floods. Sealing works in place, so the plaintext is
     * kept aside and put back before each copy.
     */
    void flood(Peer except, int plain, MemorySegment seg, ByteBuffer view, DataCipher cipher, byte[] scratch) {
        view.get(HEADROOM, scratch, 0, plain);
        for (Peer p : node.peers()) {
            if (p != except) {
                view.put(HEADROOM, scratch, 0, plain);
                sealAndSend(p, plain, seg, view, cipher);
            }
        }
        view.put(HEADROOM, scratch, 0, plain);
    }

    private void outbound() throws SysException {
        Buffers b = new Buffers(arena, newCipher());
        boolean layer2 = node.layer2();
        int start = layer2 ? HEADROOM + TapFrames.PREFIX : HEADROOM;
        // The interface writes after the headroom; the tail leaves room for padding and the tag. The
        // buffer holds the largest packet or frame a TUN or TAP can give, whatever the MTU is now
        // (it may change at any time, and packets queued before a change keep their size).
        MemorySegment packet = b.seg.asSlice(start, Buffers.SIZE - start - TAIL);
        LoopGuard loopGuard = new LoopGuard(node, endpoints, () -> socket.port());
        Unreachables unreachables = new Unreachables(this, arena);
        while (true) {
            int n = device.read(packet);
            if (n < 0) {
                return;
            }
            if (layer2) {
                outboundFrame(n, b);
                continue;
            }
            Peer peer = node.allowedIps().forDestination(b.view, HEADROOM, n);
            if (loopGuard.looped(b.view, HEADROOM, n, peer)) {
                node.counters().drop(Drop.ROUTING_LOOP);
                continue;
            }
            if (peer == null) {
                node.counters().drop(Drop.NO_ROUTE);
                unreachables.answer(b.view, HEADROOM, n, System.nanoTime());
                continue;
            }
            sealAndSend(peer, n, b.seg, b.view, b.cipher);
        }
    }

    /** A frame from the TAP: to the peer its destination is behind, or to every peer. */
    private void outboundFrame(int n, Buffers b) {
        if (n < TapFrames.ETHERNET_HEADER) {
            node.counters().drop(Drop.RUNT);
            return;
        }
        TapFrames.writePrefix(b.view, HEADROOM, n);
        int plain = n + TapFrames.PREFIX;
        var peers = node.peers();
        Peer to = peers.size() == 1 ? peers.iterator().next()
                : macs.lookup(MacTable.mac(b.view, HEADROOM + TapFrames.PREFIX), System.nanoTime());
        if (to != null) {
            sealAndSend(to, plain, b.seg, b.view, b.cipher);
        } else {
            flood(null, plain, b.seg, b.view, b.cipher, b.scratch);
        }
    }

    private void inbound() throws SysException {
        Buffers b = new Buffers(arena, newCipher());
        Receiver receiver = new Receiver(this, b, verbose);
        MemorySegment from = arena.allocate(Endpoint.SIZE, 8);
        UdpOrigin udp = new UdpOrigin(this, arena);
        udp.from = from;
        while (true) {
            UdpSocket s = socket;
            int n = s.receiveWithSource(b.seg, from);
            if (n < 0) {
                if (s != socket && !wakeup.signalled()) {
                    continue; // moved to a new port
                }
                return;
            }
            if (n > Buffers.SIZE) {
                node.counters().drop(Drop.OVERSIZE);
                continue;
            }
            receiver.handle(n, udp);
        }
    }

    private void timers() throws InterruptedException {
        Buffers b = new Buffers(arena, newCipher());
        while (!wakeup.signalled()) {
            node.tick(System.nanoTime());
            Runnable hook = tickHook;
            if (hook != null) {
                hook.run();
            }
            reresolveEndpoints(System.nanoTime());
            for (Peer p : node.peers()) {
                drain(p, b.seg, b.view, b.cipher);
            }
            Thread.sleep(TICK_MILLIS);
        }
    }

    /**
     * Looks up again the host names of peers whose handshakes are failing ({@link Reresolve}); a
     * lookup may block, so it runs on a virtual thread of its own.
     */
    private void reresolveEndpoints(long now) {
        for (Peer p : node.peers()) {
            PeerAddress endpoint = endpoint(p);
            if (endpoint.host() == null
                    || !Reresolve.due(p.handshakeAttempts(), p.sessionAge(now), endpoint.sinceLookup(now))) {
                continue;
            }
            endpoint.lookupStarting(now);
            Thread.ofVirtual().name("resolve").start(() -> {
                java.net.InetSocketAddress moved = endpoint.reresolve();
                if (moved != null && verbose != null) {
                    verbose.println("peer " + shortKey(p) + ": " + endpoint.host() + " now resolves to "
                            + SockAddr.format(moved));
                }
            });
        }
    }

    static String shortKey(Peer p) {
        return java.util.Base64.getEncoder().encodeToString(p.publicKey()).substring(0, 8) + "…";
    }

    public Node node() {
        return node;
    }

    /**
     * The interface's MTU is now {@code linkMtu} (at start, and whenever it changes): plaintext is
     * padded up to it and no further, and the batched path makes room for packets that large. In
     * TAP mode the plaintext also carries the frame's Ethernet header and length prefix.
     */
    public void setLinkMtu(int linkMtu) {
        int mtu = node.layer2() ? linkMtu + TapFrames.ETHERNET_HEADER + TapFrames.PREFIX : linkMtu;
        int before = node.mtu();
        node.setMtu(mtu);
        if (verbose != null && before != mtu) {
            verbose.println("interface " + device.name() + ": MTU is now " + linkMtu);
        }
    }

    /**
     * Reads the interface's MTU at once, for a packet larger than the MTU known, which may have
     * been raised a moment ago ahead of its notification; true if it had changed. A system call,
     * so only for such packets, never per packet.
     */
    boolean refreshMtu() {
        int before = node.mtu();
        try {
            setLinkMtu(dev.patchcord.tun.Link.mtu(device.name()));
        } catch (SysException e) {
            return false;
        }
        return node.mtu() != before;
    }

    @Override
    public String summary() {
        return node.counters().summary();
    }
}
