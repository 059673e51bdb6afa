package dev.patchcord.control.handover;

import dev.patchcord.core.wg.SessionState;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Everything a successor process needs to carry on an interface without its peers noticing, as
 * the running process hands it over (docs/restart.md, "The snapshot"): which descriptor passed
 * beside it is what, the offloads the interface was given (the kernel cannot tell them), the TCP connections' state, the device's configuration as UAPI text
 * (the peers, their keys, endpoints and allowed IPs, including what {@code wg set} changed since
 * the start), and every peer's sessions.
 *
 * <p>It holds the private key, the preshared keys and the session keys: it is only ever written
 * to the hand-over socket, never to disk, and {@link #wipe()} zeroes the copies it holds.
 *
 * <p>Versioned: a reader refuses a version newer than its own ({@link #VERSION}) with a clear
 * message, so that the running process resumes; it reads every older version it has shipped
 * (golden files in the tests keep that true).
 */
public record HandoverSnapshot(int handovers, long firstStartEpochMillis, String ifname, Kind kind,
        int deviceOffloads, List<Role> roles, List<TcpLink> tcpLinks, byte[] uapiConfig, List<SessionState> sessions,
        List<HandoverSnapshot.Station> stations) {

    /** The first bytes: "PCHO", patchcord hand-over. */
    static final int MAGIC = 0x5043484f;
    /** This program's layout; older ones stay readable. */
    public static final int VERSION = 1;
    /** A sanity bound on every count, far above what an interface holds (Node.MAX_PEERS is 131072). */
    static final int MAX_ITEMS = 1 << 20;
    /** A sanity bound on the configuration text: some 20,000 peers of UAPI (UapiServer's request limit). */
    static final int MAX_CONFIG_BYTES = 64 << 20;
    /** A sanity bound on a TCP connection's bytes read or queued: its buffers are far smaller (a ring of 512 KiB). */
    static final int MAX_TCP_BYTES = 4 << 20;

    /** What carries the interface's packets, so that a successor configured differently refuses. */
    public enum Kind {
        /** WireGuard on a TUN interface ({@code patchcord up}). */
        WIREGUARD_TUN,
        /** WireGuard carrying Ethernet frames on a TAP interface. */
        WIREGUARD_TAP,
        /** A plain (unencrypted) mode: the device and its sockets only, no sessions. */
        PLAIN
    }

    /** What one passed descriptor is, in the order they ride with the snapshot. */
    public enum Role {
        TUN, UDP, TCP_LISTENER, TCP_LINK
    }

    /**
     * One WireGuard-over-TCP connection: the peer it carries (null while none authenticated over
     * it), whether this side dialled it, whether the peer's messages go over it now, its remote
     * address (for logs), the bytes already read from it past the last whole message, the bytes
     * queued for it and not yet written, how long ago it opened and how long ago its last
     * authenticated message came ({@link Long#MIN_VALUE}: never).
     */
    public record TcpLink(byte[] peerKey, boolean dialled, boolean attached, String remote, byte[] unread,
            byte[] unsent, long ageNanos, long quietNanos) {}

    /**
     * A MAC address a TAP interface learned behind a peer, and how long ago it was last seen
     * (least recently seen first), so that the successor switches frames at once instead of
     * flooding them until it learns again.
     */
    public record Station(long mac, byte[] peerKey, long ageNanos) {}

    public HandoverSnapshot {
        stations = List.copyOf(stations);
        roles = List.copyOf(roles);
        tcpLinks = List.copyOf(tcpLinks);
        sessions = List.copyOf(sessions);
        long linkFds = roles.stream().filter(r -> r == Role.TCP_LINK).count();
        if (linkFds != tcpLinks.size()) {
            throw new IllegalArgumentException(linkFds + " TCP descriptors for " + tcpLinks.size() + " TCP links");
        }
    }

    /** The snapshot as bytes, for the hand-over socket. */
    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(4096 + uapiConfig.length);
        try {
            write(new DataOutputStream(bytes));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
        return bytes.toByteArray();
    }

    void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeShort(VERSION);
        out.writeInt(handovers);
        out.writeLong(firstStartEpochMillis);
        out.writeUTF(ifname);
        out.writeByte(kind.ordinal());
        out.writeInt(deviceOffloads);
        out.writeShort(roles.size());
        for (Role r : roles) {
            out.writeByte(r.ordinal());
        }
        out.writeShort(tcpLinks.size());
        for (TcpLink l : tcpLinks) {
            out.writeBoolean(l.peerKey() != null);
            if (l.peerKey() != null) {
                out.write(l.peerKey());
            }
            out.writeBoolean(l.dialled());
            out.writeBoolean(l.attached());
            out.writeUTF(l.remote());
            out.writeInt(l.unread().length);
            out.write(l.unread());
            out.writeInt(l.unsent().length);
            out.write(l.unsent());
            out.writeLong(l.ageNanos());
            out.writeLong(l.quietNanos());
        }
        out.writeInt(uapiConfig.length);
        out.write(uapiConfig);
        out.writeInt(sessions.size());
        for (SessionState s : sessions) {
            s.write(out);
        }
        out.writeInt(stations.size());
        for (Station st : stations) {
            out.writeLong(st.mac());
            out.write(st.peerKey());
            out.writeLong(st.ageNanos());
        }
        out.writeInt(MAGIC); // the end: a cut snapshot is refused, not half-applied
    }

    /**
     * Reads a snapshot.
     *
     * @throws IOException for anything but a whole snapshot of a known version, with a message
     *                     for the log (the running process then resumes)
     */
    public static HandoverSnapshot fromBytes(byte[] data) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
        HandoverSnapshot s = read(in);
        if (in.available() != 0) {
            throw new IOException("hand-over snapshot: " + in.available() + " bytes after its end");
        }
        return s;
    }

    static HandoverSnapshot read(DataInput in) throws IOException {
        try {
            if (in.readInt() != MAGIC) {
                throw new IOException("not a patchcord hand-over snapshot");
            }
            int version = in.readUnsignedShort();
            if (version > VERSION || version < 1) {
                throw new IOException("hand-over snapshot version " + version + " is not one this program reads (1 to "
                        + VERSION + "); the running process stays");
            }
            int handovers = in.readInt();
            long firstStart = in.readLong();
            String ifname = in.readUTF();
            Kind kind = enumAt(Kind.values(), in.readUnsignedByte(), "kind");
            int deviceOffloads = in.readInt();
            int nRoles = in.readUnsignedShort();
            List<Role> roles = new ArrayList<>(nRoles);
            for (int i = 0; i < nRoles; i++) {
                roles.add(enumAt(Role.values(), in.readUnsignedByte(), "descriptor role"));
            }
            int nLinks = in.readUnsignedShort();
            List<TcpLink> links = new ArrayList<>(nLinks);
            for (int i = 0; i < nLinks; i++) {
                byte[] key = null;
                if (in.readBoolean()) {
                    key = new byte[32];
                    in.readFully(key);
                }
                boolean dialled = in.readBoolean();
                boolean attached = in.readBoolean();
                String remote = in.readUTF();
                byte[] unread = bytes(in, MAX_TCP_BYTES, "unread TCP bytes");
                byte[] unsent = bytes(in, MAX_TCP_BYTES, "unsent TCP bytes");
                links.add(new TcpLink(key, dialled, attached, remote, unread, unsent, in.readLong(), in.readLong()));
            }
            byte[] config = bytes(in, MAX_CONFIG_BYTES, "configuration");
            int nSessions = in.readInt();
            if (nSessions < 0 || nSessions > MAX_ITEMS) {
                throw new IOException("hand-over snapshot: " + nSessions + " sessions");
            }
            List<SessionState> sessions = new ArrayList<>(Math.min(nSessions, 1024));
            for (int i = 0; i < nSessions; i++) {
                sessions.add(SessionState.read(in));
            }
            int nStations = in.readInt();
            if (nStations < 0 || nStations > MAX_ITEMS) {
                throw new IOException("hand-over snapshot: " + nStations + " stations");
            }
            List<Station> stations = new ArrayList<>(Math.min(nStations, 4096));
            for (int i = 0; i < nStations; i++) {
                long mac = in.readLong();
                byte[] key = new byte[32];
                in.readFully(key);
                stations.add(new Station(mac, key, in.readLong()));
            }
            if (in.readInt() != MAGIC) {
                throw new IOException("hand-over snapshot: no end mark (cut or corrupt)");
            }
            return new HandoverSnapshot(handovers, firstStart, ifname, kind, deviceOffloads, roles, links, config, sessions,
                    stations);
        } catch (java.io.EOFException e) {
            throw new IOException("hand-over snapshot cut short");
        } catch (IllegalArgumentException e) {
            throw new IOException("hand-over snapshot: " + e.getMessage());
        }
    }

    private static byte[] bytes(DataInput in, int max, String what) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new IOException("hand-over snapshot: " + what + " of " + n + " bytes");
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    private static <E> E enumAt(E[] values, int ordinal, String what) throws IOException {
        if (ordinal >= values.length) {
            throw new IOException("hand-over snapshot: unknown " + what + " " + ordinal);
        }
        return values[ordinal];
    }

    /** How many descriptors of {@code role} ride with the snapshot. */
    public int count(Role role) {
        return (int) roles.stream().filter(r -> r == role).count();
    }

    /** Zeroes the keys this snapshot holds: the configuration's private and preshared keys, every session's. */
    public void wipe() {
        Arrays.fill(uapiConfig, (byte) 0);
        sessions.forEach(SessionState::wipe);
        // The TCP bytes not yet read are WireGuard messages, ciphertext: not wiped, and a
        // successor's connections may still be reading them.
    }
}
