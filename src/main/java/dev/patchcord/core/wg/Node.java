package dev.patchcord.core.wg;

import dev.patchcord.core.Counters;
import dev.patchcord.core.Drop;
import dev.patchcord.core.l2.TapFrames;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * The local end of WireGuard, without I/O: our static identity, the peers, the session indices,
 * cryptokey routing and the DoS defences. The I/O shell hands it datagrams, packets, the time and
 * randomness, and does what it answers (send, deliver, drop).
 *
 * <p>The verbs, all the shell needs to move packets:
 * <ul>
 * <li>{@link #receive}: one datagram from the network, decided into an {@link Outcome} (deliver,
 *     reply, control, drop, nothing);
 * <li>{@link Peer#seal}: one packet from the interface, into a transport message for that peer (or
 *     staged until a session exists);
 * <li>{@link #tick} then {@link Peer#poll}: the timers, then whatever each peer wants sent
 *     (initiations, staged packets, keepalives);
 * <li>for a crypto pool, receive and seal cut around the cipher work, so that many
 *     {@link CryptoJob}s run at once on other threads while the protocol's order stays on the
 *     caller's: {@link #prepareOpen}, {@link CryptoJob#run}, {@link #completeOpen} for transport
 *     messages, and {@link Peer#prepareSeal}, {@link CryptoJob#run} for packets.
 * </ul>
 * The parts behind them: {@link HandshakeAdmission} for handshake messages,
 * {@link TransportOpen} for transport messages, and each {@link Peer}'s.
 *
 * <p>Concurrency: the verbs may be called from any number of threads. The peer set changes under
 * this object's monitor ({@link #addPeer}, {@link #removePeer}, {@link #setPrivateKey}); lookups
 * read a concurrent map and volatile fields without it.
 */
public final class Node {
    /** Handshake messages per second above which MAC2 cookies are demanded (boringtun uses 100). */
    public static final int DEFAULT_LOAD_THRESHOLD = 100;
    /**
     * Peers one interface may have. Above the largest mesh a peer list may describe
     * ({@code PeerList.MAX_PEERS}, 100,000) and twice wireguard-go's limit; at about 1.3 KiB of
     * heap per idle peer (bench/memory.sh) this bounds what a configuration or {@code wg set} can
     * make the interface hold to some 170 MiB plus sessions. Peers are only ever added by the
     * configuration, {@code wg set} (root) or an authenticated peer list, never by a packet.
     */
    public static final int MAX_PEERS = 1 << 17;
    /**
     * Bytes of packets waiting for a handshake, all peers together. Each peer keeps at most
     * {@link Protocol#MAX_STAGED_PACKETS}, but 128 full-size packets for each of 10,000 peers that
     * do not answer would be 1.8 GB, and on a gateway anyone on the LAN can send packets towards
     * every peer; past this, new packets are dropped (staged-overflow) until handshakes complete or
     * give up.
     */
    public static final long MAX_STAGED_BYTES = 64L << 20;

    /**
     * Our static key pair, or null while the interface has no private key (as the kernel and
     * wireguard-go allow: {@code wg setconf} of a file with peers only, {@code wg set IF
     * private-key /dev/null}). Without one the node makes no handshakes and answers none.
     */
    volatile Identity identity;
    final RandomGenerator rng;
    /** Does the X25519 of every handshake: the JDK's unless the shell chose a faster engine. */
    final Curve25519 dh;
    final IndexTable indices;
    final Counters counters;
    private final HandshakeAdmission handshakes;
    private final TransportOpen transport = new TransportOpen(this);
    private final AllowedIps allowedIps = new AllowedIps();
    private final PeerSet peers = new PeerSet(this);
    /** Handed-over sessions of peers not added yet; guarded by this. */
    final PendingSessions pending = new PendingSessions();
    private final java.util.concurrent.atomic.AtomicLong sessionsNotImported = new java.util.concurrent.atomic.AtomicLong();
    final Staging.Budget stagedBudget = new Staging.Budget(MAX_STAGED_BYTES);
    private volatile int mtu = 1420;
    private volatile boolean layer2;
    /** patchcord's own messages beside IP packets (TUN mode), or null: every plaintext is a packet. */
    private volatile ControlMessages control;
    private volatile Consumer<Peer> peerRemoved = p -> { };
    /** Who hears of handshakes; read once per handshake message, never per packet. */
    volatile HandshakeEvents events = HandshakeEvents.NONE;

    /** Supplies the bytes that identify a datagram's source (address and port), only when needed. */
    public interface Source {
        byte[] bytes();
    }

    /**
     * @param privateKey our static private key (clamped here); null or 32 zero bytes for none
     */
    public Node(byte[] privateKey, RandomGenerator rng, Counters counters, int loadThreshold) {
        this(privateKey, rng, counters, loadThreshold, JdkCurve25519.INSTANCE);
    }

    /**
     * @param privateKey our static private key (clamped here); null or 32 zero bytes for none
     * @param dh         the engine for every Diffie-Hellman operation of the handshakes
     */
    public Node(byte[] privateKey, RandomGenerator rng, Counters counters, int loadThreshold, Curve25519 dh) {
        this.dh = dh;
        this.identity = isNone(privateKey) ? null : new Identity(privateKey, dh);
        this.rng = rng;
        this.counters = counters;
        this.indices = new IndexTable(rng);
        this.handshakes = new HandshakeAdmission(this, identity, loadThreshold);
    }

    /** The UAPI's way to say "no key": 32 zero bytes, which is no usable X25519 scalar. */
    private static boolean isNone(byte[] privateKey) {
        return privateKey == null || Keys.isZero(privateKey);
    }

    /** Our public key, or null while there is no private key. */
    public byte[] publicKey() {
        Identity id = identity;
        return id == null ? null : id.publicKey();
    }

    /** What does the handshakes' X25519, for the start-up line. */
    public String curveEngine() {
        return dh.name();
    }

    /** Whether the node has a private key, without which it makes and answers no handshakes. */
    public boolean hasPrivateKey() {
        return identity != null;
    }

    public int mtu() {
        return mtu;
    }

    /** The interface MTU: plaintext is never padded beyond it. */
    public void setMtu(int mtu) {
        this.mtu = mtu;
    }

    /**
     * Layer 2 (TAP) mode: plaintexts carry Ethernet frames in {@link TapFrames} form, delivered
     * without the IP checks (cryptokey routing by IP does not apply to frames).
     */
    public void setLayer2(boolean layer2) {
        this.layer2 = layer2;
    }

    public boolean layer2() {
        return layer2;
    }

    ControlMessages controlMessages() {
        return control;
    }

    /**
     * Which plaintexts are control messages rather than IP packets (TUN mode); null (the default)
     * takes every plaintext for a packet.
     */
    public void setControlMessages(ControlMessages control) {
        this.control = control;
    }

    /**
     * Told of every peer that leaves the node, whichever way (removed, all peers replaced, or its
     * key became our own), under the node's lock, so that what the shell keeps per peer goes with
     * it. Must not call back into the node, nor throw: it runs inside {@link #setPrivateKey}'s
     * walk over the peers too.
     */
    public void setPeerRemovedListener(Consumer<Peer> listener) {
        this.peerRemoved = listener;
    }

    public Counters counters() {
        return counters;
    }

    /** Tells {@code events} what the handshakes do from now on ({@link HandshakeEvents#NONE}: nobody). */
    public void setHandshakeEvents(HandshakeEvents events) {
        this.events = java.util.Objects.requireNonNull(events);
    }

    public AllowedIps allowedIps() {
        return allowedIps;
    }

    /**
     * Adds a peer (or returns the existing one with that key).
     *
     * @throws IllegalArgumentException for this interface's own key, or a new peer beyond
     *         {@link #MAX_PEERS}
     */
    public synchronized Peer addPeer(byte[] publicKey, byte[] presharedKey) {
        if (isOwnKey(publicKey)) {
            throw new IllegalArgumentException("a peer cannot have this interface's own public key");
        }
        Peer existing = peers.get(publicKey);
        if (existing != null) {
            return existing;
        }
        peers.checkRoom();
        Peer p = new Peer(this, publicKey, presharedKey);
        peers.add(p);
        pending.applyTo(p);
        return p;
    }

    /** Whether {@code publicKey} is this node's own (never true without a private key). */
    public boolean isOwnKey(byte[] publicKey) {
        Identity id = identity;
        return id != null && java.util.Arrays.equals(publicKey, id.publicKey);
    }

    /** Lowers the peer limit, so that a test can drive past it without adding 131,072 peers. */
    synchronized void limitPeers(int max) {
        peers.limit(max);
    }

    /** Lowers the staged-bytes bound, for tests. */
    void limitStagedBytes(long max) {
        stagedBudget.limit(max);
    }

    /** Bytes of packets waiting for handshakes, all peers together. */
    public long stagedBytes() {
        return stagedBudget.bytes();
    }

    /** Session indices in use: at most 4 per peer (a handshake and three keypairs). */
    int indicesInUse() {
        return indices.size();
    }

    /**
     * A copy of this node's private key, clamped (for the configuration interface, which shows it
     * to root), or null when there is none.
     */
    public byte[] privateKey() {
        Identity id = identity;
        return id == null ? null : id.privateKey.clone();
    }

    public Peer peer(byte[] publicKey) {
        return peers.get(publicKey);
    }

    /** The peers, in the order they were added: a snapshot, unaffected by later changes. */
    public Collection<Peer> peers() {
        return peers.snapshot();
    }

    /**
     * Changes this node's private key, as {@code wg set IF private-key} does: sessions made with the
     * old key end, and each peer may send a new initiation at once (the kernel and wireguard-go
     * lift the one-per-REKEY_TIMEOUT limit here too, so the next packet does not wait up to five
     * seconds behind an initiation made with the old key). A peer whose key is now our own is
     * removed. A null or all-zero key removes the private key: the peers stay, without sessions.
     *
     * @return false if nothing changed (the same key, or none again)
     */
    public synchronized boolean setPrivateKey(byte[] privateKey) {
        Identity next = isNone(privateKey) ? null : new Identity(privateKey, dh);
        Identity old = identity;
        if (next == null ? old == null : old != null && java.util.Arrays.equals(next.publicKey, old.publicKey)) {
            return false;
        }
        identity = next;
        handshakes.privateKeyChanged(next);
        for (Peer p : peers.values()) {
            if (next != null && java.util.Arrays.equals(p.publicKey, next.publicKey)) {
                removePeer(p);
            } else {
                p.staticKeyChanged();
            }
        }
        return true;
    }

    /**
     * Every peer's sessions ({@link Peer#exportSession}), for a successor process, and the states
     * still waiting for their peers ({@link #importSessions}), aged to {@code now}. Nothing
     * changes here: if the hand-over fails, the node goes on as it was. The caller wipes the
     * states once written.
     */
    public List<SessionState> exportSessions(long now) {
        List<SessionState> out = new ArrayList<>();
        for (Peer p : peers.snapshot()) {
            out.add(p.exportSession(now));
        }
        synchronized (this) {
            pending.expire(now);
            out.addAll(pending.export(now));
        }
        return out;
    }

    /**
     * Takes over the sessions a predecessor process exported ({@link #exportSessions}): each
     * state goes to the peer with its key ({@link Peer#importSession}). A state for a peer this
     * node does not have yet (one a mesh directory or a cluster store adds later) is kept, as a
     * copy, and applied when {@link #addPeer} adds that key, unless it has waited
     * {@link Protocol#REJECT_AFTER_TIME} by then (it is wiped and dropped at a {@link #tick}).
     * The states passed in stay the caller's, who wipes them.
     *
     * @return how many peers got their sessions now
     */
    public synchronized int importSessions(List<SessionState> states, long now) {
        int applied = 0;
        for (SessionState s : states) {
            Peer p = peers.get(s.publicKey);
            if (p != null) {
                p.importSession(s, now);
                applied++;
            } else if (!isOwnKey(s.publicKey)) {
                pending.keep(s.copy(), now);
            }
        }
        return applied;
    }

    /**
     * Keypairs that a hand-over brought but could not be put in place, because their local index
     * named another session here already.
     */
    public long sessionsNotImported() {
        return sessionsNotImported.get();
    }

    void sessionNotImported() {
        sessionsNotImported.incrementAndGet();
    }

    /**
     * After a hand-over, when the successor carries the sessions: zeroes every keypair, every
     * handshake's secrets, every preshared key, every staged packet, the states still waiting for
     * their peers, and our static private key, which goes: the node makes and answers no
     * handshake afterwards. The peers stay (not marked removed), without sessions.
     */
    /**
     * Ends every peer's sessions, keys wiped, as a new private key would: for a hand-over that
     * failed after the sessions were sent to another process, which may have sealed under them
     * with counters this process is about to use again. The next packet to each peer starts a
     * handshake, so no key ever seals two messages with the same counter.
     */
    public void endSessions() {
        for (Peer p : peers()) {
            p.zeroKeys();
        }
    }

    /**
     * After a hand-over: zeroes every secret (see below). Before it, {@link #endSessions} serves a
     * hand-over that failed once the sessions had left.
     */
    public synchronized void wipeSecrets() {
        Identity id = identity;
        identity = null;
        handshakes.privateKeyChanged(null);
        for (Peer p : peers.values()) {
            p.wipeSecrets();
        }
        pending.wipeAll();
        if (id != null) {
            java.util.Arrays.fill(id.privateKey, (byte) 0);
        }
    }

    public synchronized void removePeer(Peer peer) {
        if (peers.remove(peer)) {
            allowedIps.removePeer(peer);
            peer.dropStaged();
            peer.forget();
            peerRemoved.accept(peer);
        }
    }

    /**
     * Handles one datagram of {@code len} bytes at {@code buf[base]} ({@code base} 0 for a lone
     * datagram, more for one of several that a batched or coalesced receive put in one buffer). A
     * transport message is decrypted in place; its packet is then at {@code out.offset()}. Never
     * throws for bad input.
     */
    public void receive(ByteBuffer buf, int base, int len, Source source, long now, long epochNanos, DataCipher cipher,
            Outcome out) {
        out.none();
        // The type is a little-endian u32: the three reserved bytes must be zero.
        switch (len < 4 ? -1 : Wire.u32(buf, base)) {
            case MESSAGE_TRANSPORT -> open(buf, base, len, now, cipher, out);
            case MESSAGE_INITIATION -> {
                if (len != INITIATION_SIZE) {
                    out.drop(Drop.BAD_MESSAGE);
                } else {
                    handshakes.initiation(copy(buf, base, len), source, now, epochNanos, out);
                }
            }
            case MESSAGE_RESPONSE -> {
                if (len != RESPONSE_SIZE) {
                    out.drop(Drop.BAD_MESSAGE);
                } else {
                    handshakes.response(copy(buf, base, len), source, now, epochNanos, out);
                }
            }
            case MESSAGE_COOKIE_REPLY -> {
                if (len != COOKIE_REPLY_SIZE) {
                    out.drop(Drop.BAD_MESSAGE);
                } else {
                    handshakes.cookieReply(copy(buf, base, len), now, out);
                }
            }
            default -> out.drop(Drop.BAD_MESSAGE);
        }
        if (out.kind() == Outcome.Kind.DROP) {
            counters.drop(out.drop());
        }
    }

    private static byte[] copy(ByteBuffer buf, int base, int len) {
        byte[] msg = new byte[len];
        buf.get(base, msg);
        return msg;
    }

    private void open(ByteBuffer buf, int base, int len, long now, DataCipher cipher, Outcome out) {
        CryptoJob job = cipher.inline;
        if (transport.prepare(buf, base, len, now, job, out)) {
            job.run(cipher);
            transport.complete(job, now, out);
        }
        job.clear();
    }

    /**
     * The first half of receiving a datagram that may be a transport message: its size, its
     * receiver index and its counter's range, with the job made ready to decrypt. Only
     * transport messages are prepared; for anything else this returns false without judging it,
     * and the datagram goes to {@link #receive}.
     *
     * @return true if {@code job} must now {@link CryptoJob#run} and then {@link #completeOpen};
     *         false if it is not a transport message ({@code out.kind()} NONE) or was dropped
     *         ({@code out.kind()} DROP, counted)
     */
    public boolean prepareOpen(ByteBuffer buf, int base, int len, long now, CryptoJob job, Outcome out) {
        out.none();
        if (len < 4 || Wire.u32(buf, base) != MESSAGE_TRANSPORT) {
            return false;
        }
        if (transport.prepare(buf, base, len, now, job, out)) {
            return true;
        }
        counters.drop(out.drop());
        return false;
    }

    /**
     * The second half, after the job ran: authentication, the replay window, session rotation
     * and timers, then what to do with the plaintext. Must be called in the order the datagrams
     * arrived. Drops are counted.
     */
    public void completeOpen(CryptoJob job, long now, Outcome out) {
        out.none();
        transport.complete(job, now, out);
        if (out.kind() == Outcome.Kind.DROP) {
            counters.drop(out.drop());
        }
    }

    /** Runs every peer's timers; afterwards each peer's {@link Peer#poll} yields what to send. */
    public void tick(long now) {
        for (Peer p : peers.values()) {
            p.tick(now);
        }
        if (!pending.isEmpty()) {
            synchronized (this) {
                pending.expire(now);
            }
        }
    }
}
