package dev.patchcord.core.wg;

import dev.patchcord.core.Drop;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * One remote peer's session: its static key, the handshake in progress, the three keypair slots
 * (previous, current, next), packets waiting for a session, and the timer state.
 *
 * <p>The data path ({@link #seal}, {@link Node#receive} for transport messages) takes no lock in
 * the common case; handshakes, rotation and timer decisions happen under this object's lock.
 */
public final class Peer {
    final Node node;
    final byte[] publicKey;
    private volatile byte[] presharedKey;
    /** DH(our static, their static), computed once per static key; null if their key is invalid. */
    private volatile byte[] staticStatic;
    final MacSigner macs;
    final Handshake handshake = new Handshake();
    final PeerTimers timers = new PeerTimers();

    volatile Keypair current;
    private volatile Keypair next;
    private Keypair previous;

    private final ArrayDeque<byte[]> staged = new ArrayDeque<>();
    private boolean wantInitiation;
    private boolean initiationRetry;
    private boolean wantKeepalive;

    /** Newest accepted initiation timestamp (TAI64N) and when it was accepted, against replays and floods. */
    private byte[] lastTimestamp = new byte[12];
    private long lastInitiationConsumed = PeerTimers.NEVER;

    private volatile long persistentKeepalive;
    private final AtomicLong rxBytes = new AtomicLong();
    private final AtomicLong txBytes = new AtomicLong();
    private final AtomicLong rxPackets = new AtomicLong();
    private final AtomicLong txPackets = new AtomicLong();
    private volatile long lastHandshakeEpochNanos;

    Peer(Node node, byte[] publicKey, byte[] presharedKey) {
        this.node = node;
        this.publicKey = publicKey.clone();
        this.presharedKey = presharedKey == null ? new byte[KEY_SIZE] : presharedKey.clone();
        this.staticStatic = computeStaticStatic(node.identity, publicKey);
        this.macs = new MacSigner(publicKey);
    }

    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** The preshared key, or null when none is set. */
    public byte[] presharedKey() {
        byte[] k = presharedKey;
        for (byte b : k) {
            if (b != 0) {
                return k.clone();
            }
        }
        return null;
    }

    /** Replaces the preshared key; the old one is wiped once no handshake can be using it. */
    public synchronized void setPresharedKey(byte[] key) {
        byte[] old = presharedKey;
        presharedKey = key == null ? new byte[KEY_SIZE] : key.clone();
        // Handshakes read the key under this lock, so nothing is using the old one now.
        java.util.Arrays.fill(old, (byte) 0);
    }

    /** Persistent keepalive interval in seconds, 0 for off. */
    public void setPersistentKeepalive(int seconds) {
        persistentKeepalive = seconds * 1_000_000_000L;
    }

    public int persistentKeepalive() {
        return (int) (persistentKeepalive / 1_000_000_000L);
    }

    /** DH(our static, their static), or null without a private key or for an invalid public key. */
    private static byte[] computeStaticStatic(Identity local, byte[] remote) {
        return local == null ? null : X25519.sharedSecret(local.privateKey, remote);
    }

    /**
     * Our static key changed (or went): recompute the shared secret and end every session made
     * with the old one. The initiation limit is lifted too, as the kernel does when it expires a
     * peer's sessions for a new key: the last initiation was made with the old key and cannot be
     * answered, so waiting out its REKEY_TIMEOUT would only delay the first packet by 5 s.
     */
    synchronized void staticKeyChanged() {
        byte[] old = staticStatic;
        staticStatic = computeStaticStatic(node.identity, publicKey);
        wipe(old);
        zeroKeys();
        timers.lastInitiation = PeerTimers.NEVER;
    }

    /**
     * The peer is gone: besides its sessions, wipes the secrets kept for its whole life (the
     * static-static Diffie-Hellman result and the preshared key). A handshake that still reaches
     * it finds no secret and fails.
     */
    synchronized void forget() {
        zeroKeys();
        byte[] ss = staticStatic;
        staticStatic = null;
        wipe(ss);
        java.util.Arrays.fill(presharedKey, (byte) 0);
    }

    private static void wipe(byte[] secret) {
        if (secret != null) {
            java.util.Arrays.fill(secret, (byte) 0);
        }
    }

    /**
     * When (System.nanoTime) the last authenticated message from this peer arrived (data,
     * keepalive or handshake completion), or {@link Long#MIN_VALUE} if none yet.
     */
    public long lastReceivedNanos() {
        return timers.lastReceived;
    }

    /**
     * Bytes of the WireGuard messages authenticated from this peer, as the kernel and
     * wireguard-go count them: transport messages (keepalives included) and the handshake
     * initiations and responses accepted from it. Cookie replies are not counted, as there.
     */
    public long rxBytes() {
        return rxBytes.get();
    }

    /**
     * Bytes of the WireGuard messages sent to this peer: transport messages (keepalives
     * included), handshake initiations and responses; less those the I/O shell could not send
     * ({@link #unsent}), since the kernel counts what it handed to the network.
     */
    public long txBytes() {
        return txBytes.get();
    }

    /**
     * The shell could not send a message of {@code length} bytes this peer made (no endpoint to
     * send to, or the kernel refused it): it is taken out of {@link #txBytes()} again.
     */
    public void unsent(int length) {
        txBytes.addAndGet(-length);
    }

    /** A handshake message from this peer was accepted; counted as the kernel counts it. */
    void handshakeReceived(int length) {
        rxBytes.addAndGet(length);
    }

    /** Transport messages received from this peer (keepalives included). */
    public long rxPackets() {
        return rxPackets.get();
    }

    /** Transport messages sent to this peer (keepalives included). */
    public long txPackets() {
        return txPackets.get();
    }

    /** Wall-clock time (epoch nanoseconds) of the last completed handshake, 0 if none. */
    /** Nanoseconds since the current session was made, or -1 if there is none. */
    public long sessionAge(long now) {
        long derived = timers.sessionDerived;
        return derived == PeerTimers.NEVER ? -1 : now - derived;
    }

    public long lastHandshakeEpochNanos() {
        return lastHandshakeEpochNanos;
    }

    /** Retries this handshake attempt has had so far (0 while the first try is pending or after success). */
    public synchronized int handshakeAttempts() {
        return timers.handshakeInProgress ? timers.attempts : 0;
    }

    /**
     * Sends a handshake initiation at the next {@link #poll}, past the usual one-per-REKEY_TIMEOUT
     * limit: for a new path (a fresh TCP connection) that the last attempt could not use.
     */
    public synchronized void initiateNow() {
        if (current == null || timers.handshakeInProgress) {
            requestInitiation(true);
        }
    }

    /**
     * Makes sure a handshake happens even though nothing is waiting to be sent: a keepalive is
     * staged, so a handshake starts at the next {@link #poll} if there is no session (at most one
     * per REKEY_TIMEOUT, as for data), and the keepalive then confirms the new session to the
     * responder. Mesh peers use it to open the NAT paths at both ends before any traffic.
     */
    public synchronized void kick() {
        if (staged.isEmpty()) {
            staged.addLast(new byte[0]);
        }
    }

    /** Whether a current session exists that may still send. */
    public boolean hasSession(long now) {
        Keypair kp = current;
        return kp != null && !kp.expired(now);
    }

    // ---- sending ------------------------------------------------------------------------------

    /**
     * Encrypts the packet at {@code buf[16 .. 16+len)} in place into a transport message starting
     * at {@code buf[0]}. The buffer needs room for padding and the tag after the packet.
     *
     * @return the message length, or 0 if the packet was staged until a session exists (then
     *         {@link #poll} has something to send)
     */
    public int seal(ByteBuffer buf, int len, long now, DataCipher cipher) {
        return seal(buf, 0, len, now, cipher);
    }

    /**
     * As {@link #seal(ByteBuffer, int, long, DataCipher)} for a message that starts at
     * {@code buf[base]}: one of several laid out back to back for one batched (GSO) send.
     */
    public int seal(ByteBuffer buf, int base, int len, long now, DataCipher cipher) {
        CryptoJob job = cipher.inline;
        int n = prepareSeal(buf, base, len, now, job);
        if (n > 0) {
            job.run(cipher);
        }
        job.clear();
        return n;
    }

    /**
     * Everything of sealing but the encryption: takes the next counter, writes the header and the
     * padding, runs the timers, and makes {@code job} ready to encrypt. Messages leave in the
     * order of their counters only if the caller sends them in the order this was called; the
     * job may {@link CryptoJob#run} on any thread before that.
     *
     * @return the message length (send it once the job ran), or 0 if there is no session and the
     *         packet was staged
     */
    public int prepareSeal(ByteBuffer buf, int base, int len, long now, CryptoJob job) {
        Keypair kp = current;
        if (kp != null && !kp.expired(now)) {
            long counter = kp.sendCounter.getAndIncrement();
            if (Long.compareUnsigned(counter, REJECT_AFTER_MESSAGES) < 0) {
                return prepareWith(kp, counter, buf, base, len, now, job);
            }
        }
        synchronized (this) {
            stage(buf, base + TRANSPORT_CONTENT, len);
        }
        return 0;
    }

    /** The size of the transport message that sealing {@code len} bytes of plaintext makes. */
    public int sealedLength(int len) {
        return TRANSPORT_CONTENT + paddedLength(len, node.mtu()) + TAG_SIZE;
    }

    private int prepareWith(Keypair kp, long counter, ByteBuffer buf, int base, int len, long now, CryptoJob job) {
        int padded = paddedLength(len, node.mtu());
        int content = base + TRANSPORT_CONTENT;
        for (int i = len; i < padded; i++) {
            buf.put(content + i, (byte) 0);
        }
        Wire.u32(buf, base, MESSAGE_TRANSPORT);
        Wire.u32(buf, base + TRANSPORT_RECEIVER, kp.remoteIndex);
        Wire.u64(buf, base + TRANSPORT_COUNTER, counter);
        job.forSeal(buf, base, kp.sendKey, counter, padded);
        timers.authenticatedSent(now);
        if (len > 0) {
            timers.dataSent(now);
        }
        txBytes.addAndGet(TRANSPORT_CONTENT + padded + TAG_SIZE);
        txPackets.incrementAndGet();
        // Rekey once REKEY_AFTER_MESSAGES counters have been used, as wireguard-go and the kernel do.
        boolean manyMessages = Long.compareUnsigned(counter, REKEY_AFTER_MESSAGES) >= 0;
        if (manyMessages || kp.initiator && now - kp.created >= REKEY_AFTER_TIME) {
            synchronized (this) {
                // Every packet from here on asks again until the new session is in; told once.
                if (!kp.rekeyRequested) {
                    kp.rekeyRequested = true;
                    node.events.rekey(this, manyMessages ? HandshakeEvents.Rekey.MESSAGES : HandshakeEvents.Rekey.AGE);
                }
                requestInitiation(false);
            }
        }
        return TRANSPORT_CONTENT + padded + TAG_SIZE;
    }

    /** Plaintext is padded to a multiple of 16, but never past the MTU (whitepaper 5.4.6). */
    static int paddedLength(int len, int mtu) {
        int padded = (len + PADDING_MULTIPLE - 1) & -PADDING_MULTIPLE;
        return len <= mtu && padded > mtu ? mtu : padded;
    }

    /**
     * Keeps a copy of a packet until a session exists: at most MAX_STAGED_PACKETS for this peer
     * (the oldest goes), and within the node's bound on staged bytes for all peers together (past
     * it, the new packet goes). Either way the drop is counted.
     */
    private void stage(ByteBuffer buf, int off, int len) {
        if (staged.size() >= MAX_STAGED_PACKETS) {
            node.unstaged(staged.pollFirst().length);
            node.counters.drop(Drop.STAGED_OVERFLOW);
        }
        requestInitiation(false);
        if (!node.reserveStaged(len)) {
            node.counters.drop(Drop.STAGED_OVERFLOW);
            return;
        }
        byte[] copy = new byte[len];
        buf.get(off, copy);
        staged.addLast(copy);
    }

    /** Forgets every staged packet, counted as dropped, and gives their bytes back to the node. */
    synchronized void dropStaged() {
        long bytes = 0;
        for (byte[] p : staged) {
            bytes += p.length;
        }
        node.counters.drop(Drop.STAGED_OVERFLOW, staged.size());
        node.unstaged(bytes);
        staged.clear();
    }

    private void requestInitiation(boolean retry) {
        wantInitiation = true;
        initiationRetry |= retry;
    }

    /**
     * The next message this peer wants sent, written to {@code buf[0..)}: a handshake initiation,
     * a staged packet now that a session exists, or a keepalive. Call until it returns 0.
     */
    public synchronized int poll(ByteBuffer buf, long now, long epochNanos, DataCipher cipher) {
        if (wantKeepalive) {
            wantKeepalive = false;
            if (staged.isEmpty()) {
                staged.addLast(new byte[0]);
            }
        }
        if (!staged.isEmpty() && !hasSession(now) && !timers.handshakeInProgress) {
            // A handshake already in flight is retried by its own timer, with jitter.
            requestInitiation(false);
        }
        if (wantInitiation) {
            boolean retry = initiationRetry;
            wantInitiation = false;
            initiationRetry = false;
            // Outside retransmissions, at most one initiation per REKEY_TIMEOUT.
            if (retry || timers.lastInitiation == PeerTimers.NEVER || now - timers.lastInitiation >= REKEY_TIMEOUT) {
                int n = createInitiation(buf, now, epochNanos, retry);
                if (n > 0) {
                    return n;
                }
            }
        }
        if (!staged.isEmpty() && hasSession(now)) {
            Keypair kp = current;
            long counter = kp.sendCounter.getAndIncrement();
            if (Long.compareUnsigned(counter, REJECT_AFTER_MESSAGES) >= 0) {
                requestInitiation(false);
                return 0;
            }
            byte[] packet = staged.pollFirst();
            node.unstaged(packet.length);
            buf.put(TRANSPORT_CONTENT, packet);
            CryptoJob job = cipher.inline;
            int n = prepareWith(kp, counter, buf, 0, packet.length, now, job);
            job.run(cipher);
            job.clear();
            return n;
        }
        return 0;
    }

    private int createInitiation(ByteBuffer buf, long now, long epochNanos, boolean retry) {
        Identity local = node.identity;
        if (local == null) {
            return 0; // no private key: packets wait, staged, until one is set
        }
        HandshakeEvents.Initiation why = retry ? HandshakeEvents.Initiation.RETRY
                : hasSession(now) ? HandshakeEvents.Initiation.REKEY : HandshakeEvents.Initiation.NEW;
        if (handshake.state != Handshake.State.NONE) {
            node.indices.remove(handshake.localIndex);
        }
        int index = node.indices.add(this);
        byte[] msg = new byte[INITIATION_SIZE];
        byte[] timestamp = Tai64n.of(Math.floorDiv(epochNanos, 1_000_000_000L), (int) Math.floorMod(epochNanos, 1_000_000_000L));
        if (!handshake.createInitiation(local, publicKey, staticStatic, index, timestamp, node.rng, msg)) {
            node.indices.remove(index);
            handshake.clear();
            return 0;
        }
        macs.sign(msg, INIT_MAC1, now);
        timers.attempts = retry ? timers.attempts + 1 : 0;
        timers.lastInitiation = now;
        timers.handshakeInProgress = true;
        timers.jitter = node.rng.nextLong(REKEY_TIMEOUT_JITTER_MAX + 1);
        timers.authenticatedSent(now);
        txBytes.addAndGet(INITIATION_SIZE);
        buf.put(0, msg);
        node.events.initiationSent(this, why, timers.attempts);
        return INITIATION_SIZE;
    }

    // ---- receiving (called by Node) -------------------------------------------------------------

    /** An initiation from this peer authenticated; decides whether to answer it. */
    synchronized Drop acceptInitiation(Handshake.Initiation init, byte[] msg, long now) {
        Handshake candidate = new Handshake();
        byte[] timestamp = candidate.openTimestamp(init, staticStatic, msg);
        if (timestamp == null) {
            return Drop.BAD_AUTH;
        }
        if (Tai64n.compare(timestamp, lastTimestamp) <= 0) {
            candidate.clear();
            return Drop.STALE_HANDSHAKE;
        }
        if (lastInitiationConsumed != PeerTimers.NEVER && now - lastInitiationConsumed < HANDSHAKE_INITIATION_RATE) {
            candidate.clear();
            return Drop.HANDSHAKE_FLOOD;
        }
        lastTimestamp = timestamp;
        lastInitiationConsumed = now;
        if (handshake.state != Handshake.State.NONE) {
            node.indices.remove(handshake.localIndex);
        }
        handshake.clear();
        handshake.state = candidate.state;
        handshake.hash = candidate.hash;
        handshake.chainingKey = candidate.chainingKey;
        handshake.remoteEphemeral = candidate.remoteEphemeral;
        handshake.remoteIndex = candidate.remoteIndex;
        timers.authenticatedReceived(now);
        return null;
    }

    /** Answers the consumed initiation: returns the response (MACs included), or null. */
    synchronized byte[] createResponse(long now, long epochNanos) {
        int index = node.indices.add(this);
        byte[] msg = new byte[RESPONSE_SIZE];
        if (!handshake.createResponse(publicKey, presharedKey, index, node.rng, msg)) {
            node.indices.remove(index);
            handshake.clear();
            return null;
        }
        macs.sign(msg, RESP_MAC1, now);
        int remote = handshake.remoteIndex;
        byte[][] keys = handshake.deriveTransportKeys(false);
        Keypair kp = new Keypair(this, keys[0], keys[1], index, remote, now, false);
        installResponderKeypair(kp);
        sessionDerived(now, epochNanos);
        timers.authenticatedSent(now);
        txBytes.addAndGet(RESPONSE_SIZE);
        return msg;
    }

    /** The response to our initiation arrived; returns null if it was consumed. */
    synchronized Drop acceptResponse(byte[] msg, long now, long epochNanos) {
        int index = handshake.localIndex;
        Identity local = node.identity;
        if (local == null) {
            return Drop.NO_PRIVATE_KEY;
        }
        if (!handshake.consumeResponse(local, presharedKey, msg)) {
            return Drop.BAD_AUTH;
        }
        int remote = handshake.remoteIndex;
        byte[][] keys = handshake.deriveTransportKeys(true);
        Keypair kp = new Keypair(this, keys[0], keys[1], index, remote, now, true);
        node.indices.put(index, kp);
        if (next != null) {
            // The unconfirmed responder session becomes the previous one; the current one is
            // superseded twice over and goes, index and keys (wireguard-go does the same).
            retire(previous);
            retire(current);
            previous = next;
            next = null;
        } else {
            retire(previous);
            previous = current;
        }
        current = kp;
        sessionDerived(now, epochNanos);
        timers.handshakeInProgress = false;
        timers.attempts = 0;
        timers.authenticatedReceived(now);
        // Key confirmation for the responder, and the first data if any is waiting.
        wantKeepalive = true;
        return null;
    }

    private void installResponderKeypair(Keypair kp) {
        node.indices.put(kp.localIndex, kp);
        retire(next);
        retire(previous);
        previous = null;
        next = kp;
    }

    private void sessionDerived(long now, long epochNanos) {
        timers.sessionDerived = now;
        timers.lastMinuteHandshakeSent = false;
        lastHandshakeEpochNanos = epochNanos;
    }

    /**
     * Takes a session out of use: its index no longer finds it and its keys are wiped. A packet
     * already matched to it and still being sealed or opened on another thread fails and is
     * dropped (see {@link DataCipher#seal}); the caller drops the keypair from its slot.
     */
    private void retire(Keypair kp) {
        if (kp != null) {
            node.indices.remove(kp.localIndex);
            kp.destroy();
        }
    }

    synchronized boolean consumeCookieReply(byte[] msg, long now) {
        return handshake.state == Handshake.State.INITIATION_CREATED && macs.consumeCookieReply(msg, now);
    }

    /** A transport message under {@code kp} authenticated: rotate on key confirmation, run timers. */
    void received(Keypair kp, int messageLength, boolean data, long now) {
        if (kp == next) {
            boolean confirmed = false;
            synchronized (this) {
                if (kp == next) {
                    retire(previous);
                    previous = current;
                    current = kp;
                    next = null;
                    confirmed = true;
                }
            }
            if (confirmed) {
                node.events.sessionEstablished(this, false);
            }
        }
        rxBytes.addAndGet(messageLength);
        rxPackets.incrementAndGet();
        timers.authenticatedReceived(now);
        if (data) {
            timers.dataReceived(now);
        }
        Keypair cur = current;
        if (cur != null && cur.initiator && !timers.lastMinuteHandshakeSent
                && now - cur.created >= REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
            boolean first = false;
            synchronized (this) {
                if (!timers.lastMinuteHandshakeSent) {
                    timers.lastMinuteHandshakeSent = true;
                    requestInitiation(false);
                    first = true;
                }
            }
            if (first) {
                node.events.rekey(this, HandshakeEvents.Rekey.EXPIRING);
            }
        }
    }

    // ---- timers ---------------------------------------------------------------------------------

    /**
     * Runs the timers at time {@code now}. Afterwards {@link #poll} returns whatever they want
     * sent (a retransmitted initiation, a keepalive).
     */
    public synchronized void tick(long now) {
        if (timers.retransmitDue(now)) {
            if (timers.attempts >= MAX_TIMER_HANDSHAKES) {
                // REKEY_ATTEMPT_TIME is up: give up until something new needs sending.
                timers.handshakeInProgress = false;
                dropStaged();
            } else {
                requestInitiation(true);
            }
        }
        if (PeerTimers.elapsed(timers.dataReceivedUnanswered, now, KEEPALIVE_TIMEOUT)) {
            timers.dataReceivedUnanswered = PeerTimers.NEVER;
            wantKeepalive = true;
        }
        if (PeerTimers.elapsed(timers.dataSentUnanswered, now, KEEPALIVE_TIMEOUT + REKEY_TIMEOUT)) {
            timers.dataSentUnanswered = PeerTimers.NEVER;
            requestInitiation(false);
        }
        if (PeerTimers.elapsed(timers.sessionDerived, now, 3 * REJECT_AFTER_TIME)) {
            timers.sessionDerived = PeerTimers.NEVER;
            zeroKeys();
        }
        wipeExpired(now);
        if (timers.persistentKeepaliveDue(now, persistentKeepalive)) {
            wantKeepalive = true;
        }
    }

    /**
     * An expired session can no longer seal or open (both paths check its age first), so its keys
     * are wiped at once. It stays in its slot and in the index table until it is replaced or
     * {@link #zeroKeys} runs, so that late packets are still counted as expired-key drops.
     */
    private void wipeExpired(long now) {
        wipeIfExpired(previous, now);
        wipeIfExpired(current, now);
        wipeIfExpired(next, now);
    }

    private static void wipeIfExpired(Keypair kp, long now) {
        if (kp != null && kp.expired(now) && !kp.destroyed()) {
            kp.destroy();
        }
    }

    /** Forgets every session and the handshake (after 3 x REJECT_AFTER_TIME, or on removal). */
    synchronized void zeroKeys() {
        retire(previous);
        retire(current);
        retire(next);
        previous = null;
        current = null;
        next = null;
        if (handshake.state != Handshake.State.NONE) {
            node.indices.remove(handshake.localIndex);
        }
        handshake.clear();
        timers.handshakeInProgress = false;
    }

    synchronized int stagedCount() {
        return staged.size();
    }
}
