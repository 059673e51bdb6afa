package dev.patchcord.device;

import dev.patchcord.core.Drop;
import dev.patchcord.core.assign.AddressMessage;
import dev.patchcord.core.assign.AddressMessages;
import dev.patchcord.core.l2.TapFrames;
import dev.patchcord.core.wg.DataCipher;
import dev.patchcord.core.wg.HandshakeEvents;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.PacketAead;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.Protocol;
import dev.patchcord.sys.NativePacketAead;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.TcpTransport;
import dev.patchcord.transport.Transport;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.Link;
import dev.patchcord.tun.PacketDevice;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The encrypted tunnel: the WireGuard {@link Node} between a TUN or TAP device and a
 * {@link Transport}. Three platform threads, each a named loop: interface to network
 * ({@link BatchOutbound}, or {@link OutboundLoop} one packet at a time), network to interface
 * ({@link BatchInbound}, or {@link InboundLoop}), and {@link Timers}; with WireGuard over TCP
 * ({@link TcpTransport}) each connection has a reader of its own. Every thread owns its
 * {@link Buffers}; the node is safe to share. This class holds what the loops share and the one
 * way out to a peer ({@link #sendTo}).
 */
public final class WgTunnel extends Loops implements TcpTransport.Host {
    /** A WireGuard message's header in front of the packet, so it is sealed in place. */
    static final int HEADROOM = Protocol.TRANSPORT_CONTENT;
    /** After the plaintext: up to 15 bytes of padding and the 16-byte tag (31, rounded up to 32). */
    static final int TAIL = Protocol.PADDING_MULTIPLE + Protocol.TAG_SIZE;

    private final PacketDevice device;
    private final UdpBinding udp;
    /** What stands in front of the socket for peers (WireGuard over TCP), or null: the socket itself. */
    private volatile Transport front;
    private final Node node;
    private final PeerEndpoints endpoints;
    private final Forwarding forwarding;
    private final ControlSender control;
    private final PrintStream verbose;
    private final Wakeup wakeup;
    private final Arena arena = Arena.ofShared();
    /** Who acts on address-assignment control messages (AddressService or AddressClient), or null. */
    private volatile ControlHandler controlHandler;
    /** Who hears of handshake steps: the {@code -d} log, and whatever {@link #addHandshakeEvents} added. */
    private HandshakeEvents handshakeEvents;
    /** Run on every timer tick (ten times a second), or null. */
    private volatile Runnable tickHook;
    /** Makes the native engine for each thread's cipher, or null: the JDK's cipher. */
    private final Supplier<PacketAead> nativeAead;
    private final Offloads batched;
    /** The batch openers for messages over TCP, or null: one at a time. */
    private final TcpOpeners tcpOpeners;

    /** Acts on one decoded control message from an authenticated peer. */
    public interface ControlHandler {
        void handle(Peer from, AddressMessage message);
    }

    /**
     * @param endpoints where each peer is (the configuration's endpoints, if any)
     * @param wakeup    the signal that stops all three loops: a {@link Wakeup#child() child} of the
     *                  session's, so that {@link #pause} can stop them alone
     * @param verbose   where to print handshake and drop events, or null
     * @param offloads  how the packet path moves batches ({@link Offloads#NONE}: one packet per
     *                  system call, as before batching); batches need a TUN or TAP device
     */
    public WgTunnel(PacketDevice device, UdpSocket socket, Node node, PeerEndpoints endpoints, Wakeup wakeup,
            PrintStream verbose, Offloads offloads) {
        this.device = device;
        this.endpoints = endpoints;
        this.udp = new UdpBinding(socket, wakeup);
        this.node = node;
        this.wakeup = wakeup;
        this.verbose = verbose;
        this.forwarding = new Forwarding(this);
        this.control = new ControlSender(this);
        this.handshakeEvents = verbose != null ? new HandshakeLog(verbose) : HandshakeEvents.NONE;
        node.setHandshakeEvents(handshakeEvents);
        node.setControlMessages(AddressMessages.CONTROL);
        node.setPeerRemovedListener(endpoints::remove);
        this.nativeAead = offloads.nativeCipher() ? NativePacketAead.best().orElse(null) : null;
        if (offloads.batching() && device.batches()) {
            udp.enable(offloads.udp());
            loop("device-to-net", new BatchOutbound.Runner(this, device, offloads.cryptoThreads()));
            loop("net-to-device", new BatchInbound.Runner(this, device, offloads.cryptoThreads(), offloads.coalesce()));
            batched = offloads;
        } else {
            loop("device-to-net", new OutboundLoop(this));
            loop("net-to-device", new InboundLoop(this));
            batched = Offloads.NONE;
        }
        // Messages over TCP are opened a read at a time where datagrams are opened in batches (TUN
        // mode only: a TAP frame is handled in the receiver's own buffer).
        tcpOpeners = batched.batching() && !node.layer2() ? new TcpOpeners(this, device, batched.coalesce(), arena) : null;
        loop("timers", new Timers(this));
    }

    /** A cipher for one thread of this tunnel, with the engine its offloads chose. */
    DataCipher newCipher() {
        return nativeAead != null ? new DataCipher(nativeAead.get()) : new DataCipher();
    }

    /**
     * What the packet path does, for the start-up line: the offloads in use, what the kernel
     * granted of them, and the cipher threads.
     */
    public String describeOffloads() {
        String cipher = "ChaCha20-Poly1305 by " + newCipher().engine() + ", X25519 by " + node.curveEngine();
        if (!batched.batching()) {
            return "one packet per system call, " + cipher;
        }
        StringBuilder sb = new StringBuilder(batched.describe(udp.socket().features(), device));
        int threads = batched.cryptoThreads();
        sb.append(", ").append(threads + 1).append(threads == 0 ? " cipher thread" : " cipher threads").append(" per direction");
        return sb.append(", ").append(cipher).toString();
    }

    @Override
    public boolean stopping() {
        return wakeup.signalled();
    }

    /**
     * Stops the packet loops for a hand-over to another process: each returns at its next wait,
     * between batches, so that nothing is half-sent or half-written, and what the kernel has not
     * yet handed over (the interface's queue, the socket's buffer) stays queued for whoever reads
     * next. The tunnel's wake-up must be a {@link Wakeup#child() child} (its parent, the session,
     * goes on: the MTU watch, the mesh).
     *
     * @return whether every loop returned within {@code millis}
     */
    public boolean pause(long millis) throws InterruptedException {
        paused = true;
        wakeup.signal();
        return awaitStopped(millis, TimeUnit.MILLISECONDS);
    }

    /**
     * The stations a TAP interface's switching has learned behind each peer (none on a TUN), for a
     * restart: without them the successor would flood every unicast frame until it learned again.
     */
    public java.util.List<dev.patchcord.core.l2.MacTable.Station<Peer>> stations(long now) {
        return forwarding.macs().stations(now);
    }

    /** Learns a station the previous process had learned ({@link #stations}). */
    public void restoreStation(dev.patchcord.core.l2.MacTable.Station<Peer> station, long now) {
        forwarding.macs().restore(station, now);
    }

    /** Starts the loops again after {@link #pause} (the hand-over failed); the session carries on. */
    public void resume() {
        paused = false;
        startAgain(wakeup);
    }

    /** Set while the loops are paused for a hand-over: the TCP dialers go on waiting (see {@link #closing}). */
    private volatile boolean paused;

    /**
     * Whether the tunnel is shutting down for good (the TCP dialers end): its wake-up signalled,
     * and not for a pause, after which the same dialers carry on.
     */
    @Override
    public boolean closing() {
        return wakeup.signalled() && !paused;
    }

    /**
     * How packets from one peer to another are handled. {@code hub}: re-encrypted to the other
     * peer right here, without a trip through the kernel. Otherwise they go to the interface and
     * the kernel routes them (if IP forwarding is on). {@code isolate}: dropped either way.
     */
    public void setForwarding(boolean hub, boolean isolate) {
        forwarding.set(hub, isolate);
    }

    Forwarding forwarding() {
        return forwarding;
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
        return t != null ? t : udp.socket();
    }

    @Override
    public Collection<Peer> peers() {
        return node.peers();
    }

    @Override
    public Peer peer(byte[] publicKey) {
        return node.peer(publicKey);
    }

    @Override
    public TcpTransport.Inbound inbound(Arena arena) {
        return new TcpInbound(this, tcpOpeners, new Buffers(arena, newCipher()));
    }

    /** Sets who handles control messages; without one they are counted as unexpected. */
    public void setControlHandler(ControlHandler handler) {
        this.controlHandler = handler;
    }

    ControlHandler controlHandler() {
        return controlHandler;
    }

    /**
     * Tells {@code events} of every handshake step as well (a cluster hub records where its
     * clients are once their sessions are made). Call before the loops start.
     */
    public void addHandshakeEvents(HandshakeEvents events) {
        handshakeEvents = HandshakeEvents.both(handshakeEvents, events);
        node.setHandshakeEvents(handshakeEvents);
    }

    /** Sets something to run on every timer tick (it must not throw or block for long). */
    public void setTickHook(Runnable hook) {
        this.tickHook = hook;
    }

    Runnable tickHook() {
        return tickHook;
    }

    /**
     * Encrypts {@code message} to {@code peer} and sends it (or stages it and starts a handshake
     * if there is no session yet). Safe from any thread.
     */
    public void sendControl(Peer peer, AddressMessage message) {
        control.send(peer, message);
    }

    /**
     * Sends a datagram of patchcord's own (the mesh directory's probe) from the tunnel's UDP
     * socket, so that it leaves through the same NAT mapping as the WireGuard traffic. Any thread.
     *
     * @return false if the socket refused it
     */
    public boolean sendDatagram(byte[] data, InetSocketAddress to) {
        return udp.sendDatagram(data, to);
    }

    PacketDevice device() {
        return device;
    }

    PrintStream verbose() {
        return verbose;
    }

    Arena arena() {
        return arena;
    }

    /**
     * Frees the tunnel's off-heap buffers. Only once every loop has ended ({@link #awaitStopped}
     * returned true) and no TCP connection hands in messages any more: a loop still running would
     * fail on its next access.
     */
    public void release() {
        arena.close();
    }

    public UdpSocket socket() {
        return udp.socket();
    }

    public int fwmark() {
        return udp.fwmark();
    }

    /**
     * Moves to another UDP port (0: the kernel picks). The receive loop notices the new socket;
     * the old one is closed, which wakes it.
     */
    public void rebind(int port) throws SysException {
        udp.rebind(port);
    }

    /** Sets (or with 0 clears) the firewall mark on everything the tunnel sends. */
    public void setFwmark(int mark) throws SysException {
        udp.setFwmark(mark);
    }

    /** Where a peer is: its endpoint, learned from authenticated packets (roaming). */
    @Override
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

    /** Sends {@code len} bytes at the start of {@code seg} to the peer, wherever it is. Failures are counted. */
    void sendTo(Peer peer, MemorySegment seg, int len) {
        sendTo(peer, seg, 0, len);
    }

    /**
     * As {@link #sendTo(Peer, MemorySegment, int)} for the bytes at {@code seg[off, off + len)}:
     * the transport picks the way (a peer's open TCP connection, else UDP to its endpoint). A
     * message that cannot go out is also taken out of the peer's sent bytes ({@link Peer#unsent}),
     * which count, as the kernel's, what reached the network: an initiation to a peer without an
     * endpoint is not "sent".
     */
    void sendTo(Peer peer, MemorySegment seg, int off, int len) {
        sendTo(peer, endpoints.of(peer), seg, off, len);
    }

    /** As {@link #sendTo(Peer, MemorySegment, int, int)} with the peer's endpoint already looked up. */
    void sendTo(Peer peer, PeerAddress endpoint, MemorySegment seg, int off, int len) {
        sendTo(peer, endpoint, seg, off, len, false);
    }

    /**
     * As {@link #sendTo(Peer, PeerAddress, MemorySegment, int, int)}, one of a run of messages to
     * the peer: with {@code more}, the transport may hold it for the rest of the run
     * ({@link Transport#send(dev.patchcord.transport.PeerEndpoint, MemorySegment, long, int, boolean)}).
     */
    void sendTo(Peer peer, PeerAddress endpoint, MemorySegment seg, int off, int len, boolean more) {
        int r = transport().send(endpoint, seg, off, len, more);
        if (r >= 0) {
            node.counters().sent(len);
        } else {
            node.counters().drop(r == Transport.NO_ENDPOINT ? Drop.NO_PEER : Drop.SEND_ERROR);
            peer.unsent(len);
        }
    }

    /**
     * Sends everything the peer has queued (handshake, staged packets, keepalive). Several threads
     * drain a peer (the receiver once a handshake releases its staged packets, the timers every
     * tick, the outbound loop after staging): each message is taken and sent under the peer's
     * {@link Peer#sendOrder() send-order lock}, or two threads could take packets 1 and 2 and send
     * 2 first. Only this path takes it, and it is rare, so the wait is short and never on the batch path.
     */
    void drain(Peer peer, MemorySegment seg, ByteBuffer view, DataCipher cipher) {
        synchronized (peer.sendOrder()) {
            drainInOrder(peer, seg, view, cipher);
        }
    }

    private void drainInOrder(Peer peer, MemorySegment seg, ByteBuffer view, DataCipher cipher) {
        for (int i = 0; i < 1024; i++) {
            int n = peer.poll(view, System.nanoTime(), epochNanos(), cipher);
            if (n <= 0) {
                return;
            }
            if (n == Protocol.INITIATION_SIZE && view.get(0) == Protocol.MESSAGE_INITIATION) {
                initiationGoingOut(peer);
            }
            sendTo(peer, seg, n);
        }
    }

    /**
     * Before an initiation is sent: a peer with a list of endpoints moves on from one that has left
     * enough of them unanswered ({@link EndpointList}); a retried handshake leaves as routing picks,
     * since the source address may be why the last one got no answer (as Linux's WireGuard does
     * on every retry), and so does what follows until the peer is heard.
     */
    private void initiationGoingOut(Peer peer) {
        int unanswered = peer.unansweredInitiations();
        PeerAddress to = endpoint(peer);
        EndpointList.Entry moved = to.initiation(unanswered);
        if (moved != null && verbose != null) {
            verbose.println("peer " + shortKey(peer) + ": no answer to the last "
                    + EndpointList.UNANSWERED_BEFORE_MOVING + " handshakes; trying endpoint " + moved.text());
        }
        if (unanswered > 1) {
            to.forgetSource();
        }
    }

    /** Seals the plaintext at the headroom to {@code to} and sends it; without a session, starts a handshake. */
    void sealAndSend(Peer to, int plain, MemorySegment seg, ByteBuffer view, DataCipher cipher) {
        int len = to.seal(view, 0, plain, System.nanoTime(), cipher);
        if (len > 0) {
            sendTo(to, seg, len);
        } else {
            drain(to, seg, view, cipher);
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

    static String shortKey(Peer p) {
        return Base64.getEncoder().encodeToString(p.publicKey()).substring(0, 8) + "…";
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
            setLinkMtu(Link.mtu(device.name()));
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
