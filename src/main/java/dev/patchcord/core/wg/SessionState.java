package dev.patchcord.core.wg;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * One peer's WireGuard sessions as a process hands them over to its successor: the keypairs of
 * the three slots with their counters and replay windows, the timers, the guard against replayed
 * initiations, the transfer counters and the packets staged for a session. The successor goes on
 * with the same sessions, and neither end makes a handshake. The configuration (allowed IPs,
 * endpoint, keepalive, preshared key) is not part of it.
 *
 * <p>Times are kept as ages, nanoseconds before the export ({@code now - t}), so the importer
 * re-bases them on its own clock; {@link PeerTimers#NEVER} stays NEVER. A handshake in progress
 * is not carried (its Noise state stays behind); the importer starts a new one at once instead.
 *
 * <p>It holds secret keys and plaintext: it travels only over the hand-over socket, never to
 * disk, and whoever holds one {@link #wipe}s it once done. The layout ({@link #write},
 * {@link #read}) is in docs/protocol.md, "Hand-over snapshot: peer sessions"; integers are
 * big-endian, as {@link DataOutput} writes them.
 */
public final class SessionState {
    /** Of this section's layout; a reader takes this version and every older one. */
    public static final int VERSION = 1;

    static final int CURRENT = 0;
    static final int NEXT = 1;
    static final int PREVIOUS = 2;
    static final int SLOTS = 3;
    /**
     * The longest staged packet a snapshot may carry: above any packet or frame a TUN or TAP
     * interface hands over (64 KiB plus a small prefix), and small enough that a bad length
     * field cannot make the reader allocate much.
     */
    static final int MAX_STAGED_LENGTH = 1 << 17;

    private static final int SESSION_INITIATOR = 1;
    private static final int SESSION_REKEY_REQUESTED = 1 << 1;
    private static final int SESSION_FLAGS = SESSION_INITIATOR | SESSION_REKEY_REQUESTED;

    private static final int HANDSHAKE_IN_PROGRESS = 1;
    private static final int LAST_MINUTE_HANDSHAKE_SENT = 1 << 1;
    private static final int WANT_INITIATION = 1 << 2;
    private static final int INITIATION_RETRY = 1 << 3;
    private static final int WANT_KEEPALIVE = 1 << 4;
    private static final int TIMER_FLAGS =
            HANDSHAKE_IN_PROGRESS | LAST_MINUTE_HANDSHAKE_SENT | WANT_INITIATION | INITIATION_RETRY | WANT_KEEPALIVE;

    /** One keypair, in its slot. */
    static final class Session {
        /** {@link #CURRENT}, {@link #NEXT} or {@link #PREVIOUS}. */
        int slot;
        byte[] sendKey = new byte[KEY_SIZE];
        byte[] receiveKey = new byte[KEY_SIZE];
        /** The next counter to send with. */
        long sendCounter;
        /** The replay window: the newest counter accepted and the ring of seen counters. */
        long replayLast;
        long[] replayRing = new long[ReplayWindow.RING_LENGTH];
        int localIndex;
        int remoteIndex;
        /** Nanoseconds since the keypair was derived. */
        long age;
        boolean initiator;
        boolean rekeyRequested;

        void wipe() {
            Arrays.fill(sendKey, (byte) 0);
            Arrays.fill(receiveKey, (byte) 0);
        }
    }

    byte[] publicKey = new byte[KEY_SIZE];
    /** The keypairs present, in slot order, each slot at most once. */
    final List<Session> sessions = new ArrayList<>(SLOTS);

    // PeerTimers, its time stamps as ages.
    long lastSent = PeerTimers.NEVER;
    long lastReceived = PeerTimers.NEVER;
    long dataSentUnanswered = PeerTimers.NEVER;
    long dataReceivedUnanswered = PeerTimers.NEVER;
    long sessionDerived = PeerTimers.NEVER;
    long lastInitiation = PeerTimers.NEVER;
    int attempts;
    int unanswered;
    long jitter;
    boolean handshakeInProgress;
    boolean lastMinuteHandshakeSent;
    // What the peer was about to send at its next poll.
    boolean wantInitiation;
    boolean initiationRetry;
    boolean wantKeepalive;

    // PeerHandshake's guard: the newest initiation timestamp accepted, and its age.
    byte[] lastTimestamp = new byte[Tai64n.SIZE];
    long lastInitiationConsumed = PeerTimers.NEVER;

    // PeerStats.
    long rxBytes;
    long txBytes;
    long rxPackets;
    long txPackets;
    long lastHandshakeEpochNanos;

    /** Packets waiting for a session, oldest first; an empty one stands for a keepalive. */
    final List<byte[]> staged = new ArrayList<>();

    SessionState() {}

    /** The peer's public key (a copy). */
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** Writes the layout of {@link #VERSION}. */
    public void write(DataOutput out) throws IOException {
        out.writeShort(VERSION);
        out.write(publicKey);
        out.writeByte(sessions.size());
        for (Session s : sessions) {
            out.writeByte(s.slot);
            out.write(s.sendKey);
            out.write(s.receiveKey);
            out.writeLong(s.sendCounter);
            out.writeLong(s.replayLast);
            for (long block : s.replayRing) {
                out.writeLong(block);
            }
            out.writeInt(s.localIndex);
            out.writeInt(s.remoteIndex);
            out.writeLong(s.age);
            out.writeByte((s.initiator ? SESSION_INITIATOR : 0) | (s.rekeyRequested ? SESSION_REKEY_REQUESTED : 0));
        }
        out.writeLong(lastSent);
        out.writeLong(lastReceived);
        out.writeLong(dataSentUnanswered);
        out.writeLong(dataReceivedUnanswered);
        out.writeLong(sessionDerived);
        out.writeLong(lastInitiation);
        out.writeInt(attempts);
        out.writeInt(unanswered);
        out.writeLong(jitter);
        out.writeByte((handshakeInProgress ? HANDSHAKE_IN_PROGRESS : 0)
                | (lastMinuteHandshakeSent ? LAST_MINUTE_HANDSHAKE_SENT : 0)
                | (wantInitiation ? WANT_INITIATION : 0)
                | (initiationRetry ? INITIATION_RETRY : 0)
                | (wantKeepalive ? WANT_KEEPALIVE : 0));
        out.write(lastTimestamp);
        out.writeLong(lastInitiationConsumed);
        out.writeLong(rxBytes);
        out.writeLong(txBytes);
        out.writeLong(rxPackets);
        out.writeLong(txPackets);
        out.writeLong(lastHandshakeEpochNanos);
        out.writeShort(staged.size());
        for (byte[] p : staged) {
            out.writeInt(p.length);
            out.write(p);
        }
    }

    /**
     * Reads what {@link #write} wrote, in this version's layout or an older one.
     *
     * @throws IOException if the input is cut short, of a version this build does not know, or
     *         holds a value no writer makes (then nothing read so far is kept: its keys are wiped)
     */
    public static SessionState read(DataInput in) throws IOException {
        SessionState s = new SessionState();
        try {
            s.readBody(in);
            return s;
        } catch (EOFException e) {
            s.wipe();
            throw new IOException("a peer's session state is cut short", e);
        } catch (IOException e) {
            s.wipe();
            throw e;
        }
    }

    private void readBody(DataInput in) throws IOException {
        int version = in.readUnsignedShort();
        if (version < 1 || version > VERSION) {
            throw new IOException("peer session state of version " + version + " (this build reads 1 to " + VERSION + ")");
        }
        in.readFully(publicKey);
        int count = in.readUnsignedByte();
        if (count > SLOTS) {
            throw new IOException("peer session state with " + count + " keypairs (at most " + SLOTS + ")");
        }
        for (int i = 0; i < count; i++) {
            Session s = new Session();
            sessions.add(s);
            s.slot = in.readUnsignedByte();
            int after = i == 0 ? -1 : sessions.get(i - 1).slot;
            if (s.slot >= SLOTS || s.slot <= after) {
                throw new IOException("peer session state with keypair slot " + s.slot + " out of order or unknown");
            }
            in.readFully(s.sendKey);
            in.readFully(s.receiveKey);
            s.sendCounter = in.readLong();
            s.replayLast = in.readLong();
            for (int b = 0; b < s.replayRing.length; b++) {
                s.replayRing[b] = in.readLong();
            }
            s.localIndex = in.readInt();
            s.remoteIndex = in.readInt();
            s.age = in.readLong();
            int flags = in.readUnsignedByte();
            if ((flags & ~SESSION_FLAGS) != 0) {
                throw new IOException("peer session state with unknown keypair flags 0x" + Integer.toHexString(flags));
            }
            s.initiator = (flags & SESSION_INITIATOR) != 0;
            s.rekeyRequested = (flags & SESSION_REKEY_REQUESTED) != 0;
        }
        lastSent = in.readLong();
        lastReceived = in.readLong();
        dataSentUnanswered = in.readLong();
        dataReceivedUnanswered = in.readLong();
        sessionDerived = in.readLong();
        lastInitiation = in.readLong();
        attempts = in.readInt();
        unanswered = in.readInt();
        jitter = in.readLong();
        if (attempts < 0 || unanswered < 0 || jitter < 0 || jitter > REKEY_TIMEOUT_JITTER_MAX) {
            throw new IOException("peer session state with impossible timers (attempts " + attempts + ", unanswered "
                    + unanswered + ", jitter " + jitter + " ns)");
        }
        int flags = in.readUnsignedByte();
        if ((flags & ~TIMER_FLAGS) != 0) {
            throw new IOException("peer session state with unknown timer flags 0x" + Integer.toHexString(flags));
        }
        handshakeInProgress = (flags & HANDSHAKE_IN_PROGRESS) != 0;
        lastMinuteHandshakeSent = (flags & LAST_MINUTE_HANDSHAKE_SENT) != 0;
        wantInitiation = (flags & WANT_INITIATION) != 0;
        initiationRetry = (flags & INITIATION_RETRY) != 0;
        wantKeepalive = (flags & WANT_KEEPALIVE) != 0;
        in.readFully(lastTimestamp);
        lastInitiationConsumed = in.readLong();
        rxBytes = in.readLong();
        txBytes = in.readLong();
        rxPackets = in.readLong();
        txPackets = in.readLong();
        lastHandshakeEpochNanos = in.readLong();
        int packets = in.readUnsignedShort();
        if (packets > MAX_STAGED_PACKETS) {
            throw new IOException("peer session state with " + packets + " staged packets (at most " + MAX_STAGED_PACKETS + ")");
        }
        for (int i = 0; i < packets; i++) {
            int length = in.readInt();
            if (length < 0 || length > MAX_STAGED_LENGTH) {
                throw new IOException("peer session state with a staged packet of " + Integer.toUnsignedString(length)
                        + " bytes (at most " + MAX_STAGED_LENGTH + ")");
            }
            byte[] p = new byte[length];
            staged.add(p);
            in.readFully(p);
        }
    }

    /** A deep copy, which is wiped on its own. */
    SessionState copy() {
        return olderBy(0);
    }

    /**
     * A deep copy whose ages are {@code elapsed} nanoseconds more (NEVER stays NEVER): the same
     * state exported again {@code elapsed} after it was imported, by a node that kept it pending.
     */
    SessionState olderBy(long elapsed) {
        SessionState c = new SessionState();
        c.publicKey = publicKey.clone();
        for (Session s : sessions) {
            Session d = new Session();
            d.slot = s.slot;
            d.sendKey = s.sendKey.clone();
            d.receiveKey = s.receiveKey.clone();
            d.sendCounter = s.sendCounter;
            d.replayLast = s.replayLast;
            d.replayRing = s.replayRing.clone();
            d.localIndex = s.localIndex;
            d.remoteIndex = s.remoteIndex;
            d.age = s.age + elapsed;
            d.initiator = s.initiator;
            d.rekeyRequested = s.rekeyRequested;
            c.sessions.add(d);
        }
        c.lastSent = older(lastSent, elapsed);
        c.lastReceived = older(lastReceived, elapsed);
        c.dataSentUnanswered = older(dataSentUnanswered, elapsed);
        c.dataReceivedUnanswered = older(dataReceivedUnanswered, elapsed);
        c.sessionDerived = older(sessionDerived, elapsed);
        c.lastInitiation = older(lastInitiation, elapsed);
        c.attempts = attempts;
        c.unanswered = unanswered;
        c.jitter = jitter;
        c.handshakeInProgress = handshakeInProgress;
        c.lastMinuteHandshakeSent = lastMinuteHandshakeSent;
        c.wantInitiation = wantInitiation;
        c.initiationRetry = initiationRetry;
        c.wantKeepalive = wantKeepalive;
        c.lastTimestamp = lastTimestamp.clone();
        c.lastInitiationConsumed = older(lastInitiationConsumed, elapsed);
        c.rxBytes = rxBytes;
        c.txBytes = txBytes;
        c.rxPackets = rxPackets;
        c.txPackets = txPackets;
        c.lastHandshakeEpochNanos = lastHandshakeEpochNanos;
        for (byte[] p : staged) {
            c.staged.add(p.clone());
        }
        return c;
    }

    private static long older(long age, long elapsed) {
        return age == PeerTimers.NEVER ? PeerTimers.NEVER : age + elapsed;
    }

    /** The age of time stamp {@code t} at {@code now}; NEVER stays NEVER. */
    static long age(long t, long now) {
        return t == PeerTimers.NEVER ? PeerTimers.NEVER : now - t;
    }

    /** The time stamp, on the clock of {@code now}, of something {@code age} old; NEVER stays NEVER. */
    static long at(long age, long now) {
        return age == PeerTimers.NEVER ? PeerTimers.NEVER : now - age;
    }

    /** Zeroes every key and staged packet held here. Idempotent. */
    public void wipe() {
        for (Session s : sessions) {
            s.wipe();
        }
        for (byte[] p : staged) {
            Arrays.fill(p, (byte) 0);
        }
    }

    /** Whether every key and staged packet held here is zero (tests of the wipe). */
    boolean isWiped() {
        for (Session s : sessions) {
            if (!Keys.isZero(s.sendKey) || !Keys.isZero(s.receiveKey)) {
                return false;
            }
        }
        for (byte[] p : staged) {
            if (!Keys.isZero(p)) {
                return false;
            }
        }
        return true;
    }

    /** No key material in logs or exception messages. */
    @Override
    public String toString() {
        return "SessionState(" + sessions.size() + " keypairs, " + staged.size() + " staged)";
    }
}
