package dev.patchcord.core.wg;

import java.nio.ByteBuffer;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * One remote peer: its static key, and what it sends when. The parts live beside it, each
 * guarded as its javadoc says: {@link PeerHandshake} (the handshake's secrets, state and steps),
 * {@link Keypairs} (the three session slots and their rotation), {@link Staging} (packets waiting
 * for a session), {@link PeerTimers} and {@link PeerStats}.
 *
 * <p>Concurrency: the data path ({@link #seal}, {@link #prepareSeal}, and {@link Node#receive}
 * for transport messages) takes no lock in the common case: it reads the volatile
 * {@code keypairs.current}, takes a counter atomically and counts lock-free. Handshakes, session
 * rotation, staging, {@link #poll} and the timer decisions ({@link #tick}) happen under this
 * object's monitor, the one lock for all of the peer's parts.
 */
public final class Peer {
    final Node node;
    final byte[] publicKey;
    final MacSigner macs;
    final PeerHandshake handshake;
    final PeerTimers timers = new PeerTimers();
    final Keypairs keypairs;
    final PeerStats stats = new PeerStats();
    final PeerTransport transport = new PeerTransport(this);
    private final Staging staged;
    /** See {@link #sendOrder()}. */
    private final Object sendOrder = new Object();

    // What poll() should send next; guarded by this.
    boolean wantInitiation;
    boolean initiationRetry;
    boolean wantKeepalive;

    private volatile long persistentKeepalive;
    /** Set once, when the node lets the peer go; what the shell keeps per peer checks it. */
    private volatile boolean removed;

    Peer(Node node, byte[] publicKey, byte[] presharedKey) {
        this.node = node;
        this.publicKey = publicKey.clone();
        this.macs = new MacSigner(publicKey);
        this.keypairs = new Keypairs(node.indices);
        this.staged = new Staging(node.stagedBudget, node.counters);
        this.handshake = new PeerHandshake(this, presharedKey);
    }

    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** The preshared key, or null when none is set. */
    public byte[] presharedKey() {
        byte[] k = handshake.presharedKey;
        for (byte b : k) {
            if (b != 0) {
                return k.clone();
            }
        }
        return null;
    }

    /** Replaces the preshared key; the old one is wiped once no handshake can be using it. */
    public synchronized void setPresharedKey(byte[] key) {
        handshake.setPresharedKey(key);
    }

    /** Persistent keepalive interval in seconds, 0 for off. */
    public void setPersistentKeepalive(int seconds) {
        persistentKeepalive = seconds * 1_000_000_000L;
    }

    public int persistentKeepalive() {
        return (int) (persistentKeepalive / 1_000_000_000L);
    }

    /**
     * Our static key changed (or went): recompute the shared secret and end every session made
     * with the old one. The initiation limit is lifted too, as the kernel does when it expires a
     * peer's sessions for a new key: the last initiation was made with the old key and cannot be
     * answered, so waiting out its REKEY_TIMEOUT would only delay the first packet by 5 s.
     */
    synchronized void staticKeyChanged() {
        handshake.staticKeyChanged();
        zeroKeys();
        timers.lastInitiation = PeerTimers.NEVER;
    }

    /**
     * The peer is gone: besides its sessions, wipes the secrets kept for its whole life (the
     * static-static Diffie-Hellman result and the preshared key). A handshake that still reaches
     * it finds no secret and fails.
     */
    synchronized void forget() {
        removed = true;
        zeroKeys();
        handshake.forget();
    }

    /**
     * This peer's sessions, timers, handshake guard, counters and staged packets, for a successor
     * process to carry on with ({@link #importSession}); times become ages at {@code now}. The
     * peer itself is unchanged, so it can go on if the hand-over fails. The caller wipes the
     * result once written.
     */
    public synchronized SessionState exportSession(long now) {
        return PeerSessions.export(this, now);
    }

    /**
     * Replaces this peer's sessions with those exported by the same peer of another process,
     * re-based on {@code now}. Each keypair's local index is registered in the node's index
     * table; a keypair whose index is taken already is left out (counted in
     * {@link Node#sessionsNotImported()}) and the rest imported. If a handshake was in progress,
     * a new initiation is asked for at once. {@code s} is not changed: the caller wipes it.
     *
     * @throws IllegalArgumentException if {@code s} is another peer's
     */
    public synchronized void importSession(SessionState s, long now) {
        PeerSessions.restore(this, s, now);
    }

    /**
     * After a hand-over: zeroes every session, the handshake and its long-lived secrets (the
     * static-static result, the preshared key) and the staged packets, which the successor
     * carries now. Unlike {@link #forget}, the peer is not marked removed.
     */
    synchronized void wipeSecrets() {
        zeroKeys();
        handshake.forget();
        staged.wipeAll();
        wantInitiation = false;
        initiationRetry = false;
        wantKeepalive = false;
    }

    Staging staged() {
        return staged;
    }

    /** Whether the node has let this peer go (removed, replaced, or its key became our own). */
    public boolean removed() {
        return removed;
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
        return stats.rxBytes();
    }

    /**
     * Bytes of the WireGuard messages sent to this peer: transport messages (keepalives
     * included), handshake initiations and responses; less those the I/O shell could not send
     * ({@link #unsent}), since the kernel counts what it handed to the network.
     */
    public long txBytes() {
        return stats.txBytes();
    }

    /**
     * The shell could not send a message of {@code length} bytes this peer made (no endpoint to
     * send to, or the kernel refused it): it is taken out of {@link #txBytes()} again.
     */
    public void unsent(int length) {
        stats.unsent(length);
    }

    /** Transport messages received from this peer (keepalives included). */
    public long rxPackets() {
        return stats.rxPackets();
    }

    /** Transport messages sent to this peer (keepalives included). */
    public long txPackets() {
        return stats.txPackets();
    }

    /** Nanoseconds since the current session was made, or -1 if there is none. */
    public long sessionAge(long now) {
        long derived = timers.sessionDerived;
        return derived == PeerTimers.NEVER ? -1 : now - derived;
    }

    /** Wall-clock time (epoch nanoseconds) of the last completed handshake, 0 if none. */
    public long lastHandshakeEpochNanos() {
        return stats.lastHandshakeEpochNanos();
    }

    /**
     * Initiations sent since a handshake last completed, while a handshake is in progress (0 once
     * an attempt has given up, until something new needs sending): how long the path has gone
     * unanswered. The retry count cannot say that: every packet sent without a session starts the
     * attempt afresh.
     */
    public synchronized int unansweredInitiations() {
        return timers.handshakeInProgress ? timers.unanswered : 0;
    }

    /**
     * Sends a handshake initiation at the next {@link #poll}, past the usual one-per-REKEY_TIMEOUT
     * limit: for a new path (a fresh TCP connection) that the last attempt could not use.
     */
    public synchronized void initiateNow() {
        if (keypairs.current == null || timers.handshakeInProgress) {
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
        staged.keepalive();
    }

    /** Whether a current session exists that may still send. */
    public boolean hasSession(long now) {
        Keypair kp = keypairs.current;
        return kp != null && !kp.expired(now);
    }

    // ---- sending ------------------------------------------------------------------------------

    /**
     * Encrypts the packet at {@code buf[base+16 .. base+16+len)} in place into a transport message
     * starting at {@code buf[base]} ({@code base} 0 for a lone message, more for one of several
     * laid out back to back for one batched (GSO) send). The buffer needs room for padding and the
     * tag after the packet.
     *
     * @return the message length, or 0 if the packet was staged until a session exists (then
     *         {@link #poll} has something to send)
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
        Keypair kp = keypairs.current;
        if (kp != null && !kp.expired(now)) {
            long counter = kp.sendCounter.getAndIncrement();
            if (Long.compareUnsigned(counter, REJECT_AFTER_MESSAGES) < 0) {
                return transport.prepare(kp, counter, buf, base, len, now, job);
            }
        }
        synchronized (this) {
            requestInitiation(false);
            staged.add(buf, base + TRANSPORT_CONTENT, len);
        }
        return 0;
    }

    /** The size of the transport message that sealing {@code len} bytes of plaintext makes. */
    public int sealedLength(int len) {
        return TRANSPORT_CONTENT + PeerTransport.paddedLength(len, node.mtu()) + TAG_SIZE;
    }

    /** Forgets every staged packet, counted as dropped, and gives their bytes back to the node. */
    synchronized void dropStaged() {
        staged.dropAll();
    }

    /** Asks {@link #poll} for an initiation ({@code retry}: past the one-per-REKEY_TIMEOUT limit); caller holds this. */
    void requestInitiation(boolean retry) {
        wantInitiation = true;
        initiationRetry |= retry;
    }

    /**
     * The lock the shell holds from {@link #poll} to the send of what it returned, so that messages
     * taken in order leave in order when several threads drain this peer. Separate from this
     * object's own lock, which the packet path takes and which must not wait for a system call.
     */
    public Object sendOrder() {
        return sendOrder;
    }

    /**
     * The next message this peer wants sent, written to {@code buf[0..)}: a handshake initiation,
     * a staged packet now that a session exists, or a keepalive. Call until it returns 0.
     */
    public synchronized int poll(ByteBuffer buf, long now, long epochNanos, DataCipher cipher) {
        if (wantKeepalive) {
            wantKeepalive = false;
            staged.keepalive();
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
                int n = handshake.createInitiation(buf, now, epochNanos, retry);
                if (n > 0) {
                    return n;
                }
            }
        }
        if (!staged.isEmpty() && hasSession(now)) {
            Keypair kp = keypairs.current;
            long counter = kp.sendCounter.getAndIncrement();
            if (Long.compareUnsigned(counter, REJECT_AFTER_MESSAGES) >= 0) {
                requestInitiation(false);
                return 0;
            }
            byte[] packet = staged.take();
            buf.put(TRANSPORT_CONTENT, packet);
            CryptoJob job = cipher.inline;
            int n = transport.prepare(kp, counter, buf, 0, packet.length, now, job);
            job.run(cipher);
            job.clear();
            return n;
        }
        return 0;
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
        keypairs.wipeExpired(now);
        if (timers.persistentKeepaliveDue(now, persistentKeepalive)) {
            wantKeepalive = true;
        }
    }

    /** Forgets every session and the handshake (after 3 x REJECT_AFTER_TIME, or on removal). */
    synchronized void zeroKeys() {
        keypairs.zero();
        handshake.abandon();
        timers.handshakeInProgress = false;
    }

    synchronized int stagedCount() {
        return staged.size();
    }
}
