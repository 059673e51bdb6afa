package dev.patchcord.control.directory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.patchcord.control.Endpoint;
import dev.patchcord.control.MeshPeer;
import dev.patchcord.control.PeerList;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.mesh.DirectoryAuth;
import dev.patchcord.core.mesh.Freshness;
import dev.patchcord.core.mesh.Probe;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;

import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the mesh directory knows and how it answers (docs/protocol.md, part 2), without sockets or
 * a clock: the caller passes each request body or probe datagram with the time it arrived.
 *
 * <p>The members file is the authority on who is in the mesh; a node adds only where it is, by
 * declaring endpoints in a sync and by the source address of its probes. Both are forgotten after
 * the TTL, so that nodes are not sent to addresses that are gone. Replays are refused per channel:
 * syncs and probes each have their own {@link Freshness}, shared by all members and kept across
 * reloads of the members file, so that a reload does not reopen a window for old requests.
 *
 * <p>Several servers can serve one mesh ({@link SharedRegistrations}): each hands what it records
 * to a {@link Sharing} and is given what the others recorded ({@link #shared}); answers report,
 * for each member, the newer of what this server recorded and what it was given, each by the
 * time it was recorded. Freshness stays per server.
 */
public final class DirectoryState {
    public static final int MAX_BODY = 64 * 1024;
    public static final long DEFAULT_TTL_MILLIS = 120_000;

    private final byte[] privateKey;
    private final byte[] publicKey;
    private final long ttlMillis;
    private final Freshness syncTimes = new Freshness();
    private final Freshness probeTimes = new Freshness();
    private final LongAdder answered = new LongAdder();
    private final LongAdder recorded = new LongAdder();
    private final AtomicLongArray refusedRequests = new AtomicLongArray(Refusal.values().length);
    private final AtomicLongArray droppedDatagrams = new AtomicLongArray(Refusal.values().length);
    /** By canonical base64 key, in the members file's order (the order of every answer). */
    private Map<String, Member> members = Map.of();
    /** What other servers recorded, by canonical base64 key, members or not (the file may change). */
    private final Map<String, Registration> shared = new HashMap<>();
    private Sharing sharing;

    /**
     * Where a member is, as one server recorded it (the form shared between servers).
     *
     * @param declared the endpoints last declared (empty if none, or if {@code declaredAt} is 0)
     * @param declaredAt when, in milliseconds since the epoch; 0 if not known
     * @param observed the source of the last probe, or null
     * @param observedAt when, 0 exactly when {@code observed} is null
     */
    public record Registration(List<Endpoint> declared, long declaredAt, Endpoint observed, long observedAt) {
        public Registration {
            declared = List.copyOf(declared);
        }
    }

    /** Receives what this server records, to pass on to the others; called under the state's lock, so it must not block. */
    public interface Sharing {
        void share(String publicKey, Registration registration);
    }

    /** A member as the file gives it, with the pair key and what the node has told us. */
    private static final class Member {
        final MeshPeer peer;
        final byte[] pairKey;
        List<Endpoint> declared = List.of();
        long declaredAt;
        Endpoint observed;
        long observedAt;

        Member(MeshPeer peer, byte[] pairKey) {
            this.peer = peer;
            this.pairKey = pairKey;
        }
    }

    /**
     * The outcome of a sync: the status and body to send, and on success the MAC header.
     *
     * @param mac base64 MAC of {@code body} for the {@code Patchcord-Mac} header, null on refusal
     * @param refusal why it was refused, null on success
     * @param error the text of the error body, null on success
     * @param member the asking member's label (name or start of key), null when not a member
     */
    public record SyncResult(int status, byte[] body, String mac, Refusal refusal, String error, String member) {
        public boolean ok() {
            return refusal == null;
        }
    }

    /**
     * The outcome of a probe.
     *
     * @param refusal why it was dropped, null when recorded
     * @param member the member's label, null when not a member (or not a probe)
     * @param observed the endpoint recorded, null when dropped
     * @param changed whether it differs from the endpoint recorded before
     */
    public record ProbeResult(Refusal refusal, String member, Endpoint observed, boolean changed) {
        public boolean recorded() {
            return refusal == null;
        }
    }

    /**
     * @param privateKey the directory's X25519 private key
     * @param members the members file's peers
     * @param ttlMillis how long declared and observed endpoints are reported
     * @throws IllegalArgumentException if a member's key is a low-order point (no one holds it)
     */
    public DirectoryState(byte[] privateKey, List<MeshPeer> members, long ttlMillis) {
        if (privateKey.length != X25519.KEY_SIZE) {
            throw new IllegalArgumentException("the directory's private key must be " + X25519.KEY_SIZE + " bytes");
        }
        if (ttlMillis <= 0) {
            throw new IllegalArgumentException("the TTL must be positive");
        }
        this.privateKey = privateKey.clone();
        this.publicKey = X25519.publicKey(this.privateKey);
        this.ttlMillis = ttlMillis;
        replaceMembers(members);
    }

    public byte[] publicKey() {
        return publicKey.clone();
    }

    public long ttlMillis() {
        return ttlMillis;
    }

    public synchronized int memberCount() {
        return members.size();
    }

    /**
     * Puts a new member list in place of the old one, all at once or (on an exception) not at all.
     * Members that stay keep their endpoints and their pair key; members that left are forgotten.
     *
     * @throws IllegalArgumentException if a member's key is a low-order point
     */
    public synchronized void replaceMembers(List<MeshPeer> peers) {
        Map<String, Member> next = new LinkedHashMap<>();
        for (MeshPeer p : peers) {
            Member old = members.get(p.publicKey());
            byte[] pairKey;
            if (old != null) {
                pairKey = old.pairKey;
            } else {
                try {
                    pairKey = DirectoryAuth.pairKey(privateKey, p.key());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("member '" + p.label() + "': " + e.getMessage()
                            + ", which no node can hold");
                }
            }
            Member m = new Member(p, pairKey);
            if (old != null) {
                m.declared = old.declared;
                m.declaredAt = old.declaredAt;
                m.observed = old.observed;
                m.observedAt = old.observedAt;
            }
            next.put(p.publicKey(), m);
        }
        members = next;
    }

    /**
     * Handles a {@code POST /v1/sync} body (the method was checked by the caller). The checks and
     * their order are those of the protocol: size, form, membership, MAC, freshness. Only a request
     * that passes them all changes anything.
     *
     * @param macHeader the {@code Patchcord-Mac} header, or null if absent
     */
    public synchronized SyncResult sync(byte[] body, String macHeader, long nowMillis) {
        if (body.length > MAX_BODY) {
            return refuse(Refusal.TOO_LARGE, null, null);
        }
        SyncRequest request;
        try {
            request = SyncRequest.parse(body);
        } catch (SyncRequest.MalformedException e) {
            return refuse(Refusal.MALFORMED, e.getMessage(), null);
        }
        Member m = members.get(request.publicKey());
        if (m == null) {
            return refuse(Refusal.NOT_MEMBER, null, null);
        }
        if (!DirectoryAuth.verify(m.pairKey, body, decodeMac(macHeader))) {
            return refuse(Refusal.BAD_MAC, null, m.peer.label());
        }
        Freshness.Verdict verdict = syncTimes.accept(request.publicKey(), request.time(), nowMillis);
        if (verdict != Freshness.Verdict.FRESH) {
            return refuse(Refusal.of(verdict), null, m.peer.label());
        }
        m.declared = request.endpoints();
        m.declaredAt = nowMillis;
        offer(m);
        byte[] answer = answer(m, request.time(), nowMillis);
        answered.increment();
        return new SyncResult(200, answer, Base64.getEncoder().encodeToString(DirectoryAuth.mac(m.pairKey, answer)),
                null, null, m.peer.label());
    }

    /**
     * A refusal decided before the body reaches {@link #sync} (wrong method, unknown path, body
     * too large to read): counted with the others, answered with the same kind of body.
     */
    public SyncResult refuse(Refusal refusal) {
        return refuse(refusal, null, null);
    }

    private SyncResult refuse(Refusal refusal, String text, String member) {
        refusedRequests.incrementAndGet(refusal.ordinal());
        String error = text != null ? text : refusal.text();
        return new SyncResult(refusal.status(), errorBody(error), null, refusal, error, member);
    }

    /** {@code {"error": text}}, the body of every refusal. */
    public static byte[] errorBody(String text) {
        ObjectNode o = PeerList.mapper().createObjectNode();
        o.put("error", text);
        return bytes(o);
    }

    /** Whether a datagram was a valid probe and its source is now the member's observed endpoint. */
    public boolean probe(byte[] datagram, int len, InetSocketAddress source, long nowMillis) {
        return handleProbe(datagram, len, source, nowMillis).recorded();
    }

    /** Checks a datagram as a probe (form, membership, MAC, freshness) and records its source. */
    public synchronized ProbeResult handleProbe(byte[] datagram, int len, InetSocketAddress source, long nowMillis) {
        Probe.Decoded probe = Probe.decode(datagram, len);
        if (probe == null) {
            return drop(Refusal.NOT_A_PROBE, null);
        }
        String key = Keys.toBase64(probe.publicKey());
        Member m = members.get(key);
        if (m == null) {
            return drop(Refusal.NOT_MEMBER, null);
        }
        if (!DirectoryAuth.verify(m.pairKey, probe.signed(), probe.mac())) {
            return drop(Refusal.BAD_MAC, m.peer.label());
        }
        Freshness.Verdict verdict = probeTimes.accept(key, probe.timeMillis(), nowMillis);
        if (verdict != Freshness.Verdict.FRESH) {
            return drop(Refusal.of(verdict), m.peer.label());
        }
        Endpoint seen = endpointOf(source);
        boolean changed = !seen.equals(m.observed) || !fresh(m.observedAt, nowMillis);
        m.observed = seen;
        m.observedAt = nowMillis;
        offer(m);
        recorded.increment();
        return new ProbeResult(null, m.peer.label(), seen, changed);
    }

    private ProbeResult drop(Refusal refusal, String member) {
        droppedDatagrams.incrementAndGet(refusal.ordinal());
        return new ProbeResult(refusal, member, null, false);
    }

    /** Sends every record from now on to {@code sharing} (null: to no one). */
    public synchronized void shareWith(Sharing sharing) {
        this.sharing = sharing;
    }

    /** What another server recorded of {@code publicKey} (canonical base64), or null to forget it. */
    public synchronized void shared(String publicKey, Registration registration) {
        if (registration == null) {
            shared.remove(publicKey);
        } else {
            shared.put(publicKey, registration);
        }
    }

    /** Replaces everything other servers recorded (after the store was read anew). */
    public synchronized void replaceShared(Map<String, Registration> all) {
        shared.clear();
        shared.putAll(all);
    }

    /**
     * Hands the member's newest registration on, if the shared copy lacks it: when an endpoint
     * differs, or when the shared time has aged by a third of the TTL (so that the other servers
     * keep reporting a member that keeps telling the same). A node that syncs every 30 s thus costs
     * a store write about every 40 s with the default TTL, not one per request.
     */
    private void offer(Member m) {
        if (sharing == null) {
            return;
        }
        Registration theirs = shared.get(m.peer.publicKey());
        Registration mine = newest(m, theirs);
        if (theirs == null || !mine.declared().equals(theirs.declared()) || !Objects.equals(mine.observed(), theirs.observed())
                || mine.declaredAt() - theirs.declaredAt() > ttlMillis / 3
                || mine.observedAt() - theirs.observedAt() > ttlMillis / 3) {
            sharing.share(m.peer.publicKey(), mine);
        }
    }

    /** For each part, declared and observed, the newer of this server's record and the shared one. */
    private static Registration newest(Member m, Registration theirs) {
        if (theirs == null) {
            return new Registration(m.declared, m.declaredAt, m.observed, m.observedAt);
        }
        boolean ourDeclared = m.declaredAt >= theirs.declaredAt();
        boolean ourObserved = m.observedAt >= theirs.observedAt();
        return new Registration(ourDeclared ? m.declared : theirs.declared(), ourDeclared ? m.declaredAt : theirs.declaredAt(),
                ourObserved ? m.observed : theirs.observed(), ourObserved ? m.observedAt : theirs.observedAt());
    }

    /** The member's registration as answers report it: {@link #newest}, with no copy when nothing is shared. */
    private Registration current(Member m) {
        Registration theirs = shared.isEmpty() ? null : shared.get(m.peer.publicKey());
        return theirs == null ? null : newest(m, theirs);
    }

    /** The answer to {@code member}: its own observed endpoint and every other member. */
    private byte[] answer(Member member, long requestTime, long nowMillis) {
        ObjectNode root = PeerList.mapper().createObjectNode();
        root.put("time", nowMillis);
        root.put("request", requestTime);
        Registration r = current(member);
        Endpoint observed = r == null ? member.observed : r.observed();
        long observedAt = r == null ? member.observedAt : r.observedAt();
        if (observed != null && fresh(observedAt, nowMillis)) {
            root.put("observed", observed.toString());
        }
        List<MeshPeer> others = new ArrayList<>(members.size());
        for (Member m : members.values()) {
            if (m != member) {
                others.add(m.peer.withEndpoints(endpoints(m, nowMillis)));
            }
        }
        root.set("peers", PeerList.toJson(others));
        return bytes(root);
    }

    /**
     * Observed, declared, then fixed endpoints, without duplicates and without what has expired.
     * Nodes read answers with {@link PeerList}, which refuses a peer with more than
     * {@link PeerList#MAX_ENDPOINTS} (and with it the whole answer), so the list stops there; the
     * order puts what is most likely to work first.
     */
    private List<Endpoint> endpoints(Member m, long nowMillis) {
        Set<Endpoint> out = new LinkedHashSet<>();
        Registration r = current(m);
        Endpoint observed = r == null ? m.observed : r.observed();
        if (observed != null && fresh(r == null ? m.observedAt : r.observedAt(), nowMillis)) {
            out.add(observed);
        }
        if (fresh(r == null ? m.declaredAt : r.declaredAt(), nowMillis)) {
            out.addAll(r == null ? m.declared : r.declared());
        }
        out.addAll(m.peer.endpoints());
        return out.stream().limit(PeerList.MAX_ENDPOINTS).toList();
    }

    /** Reported until the TTL has passed; a clock that stepped back keeps it reported. */
    private boolean fresh(long at, long nowMillis) {
        return nowMillis - at <= ttlMillis;
    }

    /** The source as nodes must write it: IPv4 for an IPv4-mapped IPv6 address, and no zone. */
    static Endpoint endpointOf(InetSocketAddress source) {
        InetAddress a = source.getAddress();
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address && isMapped(b)) {
            b = Arrays.copyOfRange(b, 12, 16);
        }
        try {
            return new Endpoint(Cidr.format(InetAddress.getByAddress(b)), source.getPort());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // only for a wrong length, which an address never has
        }
    }

    private static boolean isMapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }

    private static byte[] decodeMac(String header) {
        if (header == null) {
            return null;
        }
        try {
            return Base64.getDecoder().decode(header.strip());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static byte[] bytes(ObjectNode node) {
        try {
            return PeerList.mapper().writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e); // a tree of strings and numbers always serializes
        }
    }

    /** The declared and observed endpoints that a sync would report now, for tests and logs. */
    synchronized List<Endpoint> reported(String publicKey, long nowMillis) {
        Member m = members.get(publicKey);
        return m == null ? List.of() : endpoints(m, nowMillis);
    }

    /**
     * The counters on one line, e.g. {@code syncs: 12 answered, 2 refused (bad MAC 1, replayed 1);
     * probes: 30 recorded, 3 dropped (not a probe 3)}.
     */
    public String summary() {
        return "syncs: " + answered.sum() + " answered, " + counts(refusedRequests, "refused")
                + "; probes: " + recorded.sum() + " recorded, " + counts(droppedDatagrams, "dropped");
    }

    private static String counts(AtomicLongArray counts, String verb) {
        long total = 0;
        List<String> parts = new ArrayList<>();
        for (Refusal r : Refusal.values()) {
            long n = counts.get(r.ordinal());
            if (n > 0) {
                total += n;
                parts.add(r.label() + " " + n);
            }
        }
        return total + " " + verb + (parts.isEmpty() ? "" : " (" + String.join(", ", parts) + ")");
    }

    /** How many requests (or datagrams, for probes) were turned away for {@code reason}. */
    public long refused(Refusal reason, boolean probes) {
        return (probes ? droppedDatagrams : refusedRequests).get(reason.ordinal());
    }
}
