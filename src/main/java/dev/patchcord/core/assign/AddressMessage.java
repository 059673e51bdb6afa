package dev.patchcord.core.assign;

import dev.patchcord.core.Cidr;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One message of the address-assignment exchange between two patchcord peers (docs/protocol.md):
 * a client with {@code Address = auto} asks, the server's pool answers. The messages travel as
 * the plaintext of ordinary WireGuard transport messages, so only a peer that completed a
 * handshake can send one, and the server knows by the session which public key is asking.
 *
 * <p>The records check their own invariants, so a message that exists can always be encoded, and
 * {@link #decode} yields only messages that pass the same checks. Addresses are raw
 * {@link InetAddress} values made from bytes; nothing here ever consults DNS.
 *
 * <p>{@link AddressMessages} holds the byte layout; the static methods here are its front door.
 */
public sealed interface AddressMessage
        permits AddressMessage.Request, AddressMessage.Ack, AddressMessage.Nak, AddressMessage.Renew,
        AddressMessage.Release {

    /** Most routes one ACK can push; a pool with more is refused at configuration time. */
    int MAX_ROUTES = 32;
    /** Longest NAK text, in UTF-8 bytes: one line for a log, not a document. */
    int MAX_TEXT = 200;

    /** Client timers (seconds): REQUEST and RENEW are re-sent every 2 s, 10 times, then every 30 s. */
    int RETRY_FAST_SECONDS = 2;
    int RETRY_FAST_COUNT = 10;
    int RETRY_SLOW_SECONDS = 30;

    /**
     * The client's number for one exchange, echoed in the answer. A retransmission keeps it, so
     * an answer to any copy matches; a client ignores answers whose id it is not waiting for.
     * Unsigned on the wire; any {@code int} is valid.
     */
    int requestId();

    /**
     * Client to server: assign me addresses.
     *
     * @param wantV4 the client wants an IPv4 address
     * @param wantV6 the client wants an IPv6 address
     * @param v4 a specific IPv4 address the client asks for (needs {@code wantV4}); never 0.0.0.0
     * @param v6 a specific IPv6 address the client asks for (needs {@code wantV6}); never ::
     * @param any if a requested address cannot be granted, assign another one instead of refusing
     */
    record Request(int requestId, boolean wantV4, boolean wantV6, Optional<InetAddress> v4,
                   Optional<InetAddress> v6, boolean any) implements AddressMessage {
        public Request {
            Objects.requireNonNull(v4, "v4");
            Objects.requireNonNull(v6, "v6");
            if (!wantV4 && !wantV6) {
                throw new IllegalArgumentException("a request must want IPv4, IPv6 or both");
            }
            requireFamily(v4, 4, "requested IPv4 address");
            requireFamily(v6, 16, "requested IPv6 address");
            if (v4.isPresent() && !wantV4 || v6.isPresent() && !wantV6) {
                throw new IllegalArgumentException("a requested address needs its family wanted");
            }
        }

        /** Any address of every family the client wants, no particular one. */
        public static Request any(int requestId, boolean wantV4, boolean wantV6) {
            return new Request(requestId, wantV4, wantV6, Optional.empty(), Optional.empty(), true);
        }
    }

    /**
     * Server to client: these addresses are yours for {@code leaseSeconds}; install them with
     * their prefix lengths, and these routes through the tunnel.
     *
     * @param v4 the assigned IPv4 address with the pool's prefix length (10.9.0.7/24)
     * @param v6 the assigned IPv6 address with the pool's prefix length
     * @param leaseSeconds 1 to 2^32-1 seconds from when the ACK was sent
     * @param routes prefixes (host bits clear) the client routes into the tunnel, at most {@link #MAX_ROUTES}
     */
    record Ack(int requestId, Optional<Cidr> v4, Optional<Cidr> v6, long leaseSeconds, List<Cidr> routes)
            implements AddressMessage {
        public Ack {
            Objects.requireNonNull(v4, "v4");
            Objects.requireNonNull(v6, "v6");
            routes = List.copyOf(routes);
            if (v4.isEmpty() && v6.isEmpty()) {
                throw new IllegalArgumentException("an ACK must assign an IPv4 or an IPv6 address");
            }
            if (v4.isPresent() && (!v4.get().isIpv4() || v4.get().prefix() == 0 || isZero(v4.get().address()))) {
                throw new IllegalArgumentException("assigned IPv4 address " + v4.get() + " is not a usable IPv4 address");
            }
            if (v6.isPresent() && (v6.get().isIpv4() || v6.get().prefix() == 0 || isZero(v6.get().address()))) {
                throw new IllegalArgumentException("assigned IPv6 address " + v6.get() + " is not a usable IPv6 address");
            }
            if (leaseSeconds < 1 || leaseSeconds > 0xffff_ffffL) {
                throw new IllegalArgumentException("lease of " + leaseSeconds + " s is out of range (1-4294967295)");
            }
            if (routes.size() > MAX_ROUTES) {
                throw new IllegalArgumentException(routes.size() + " routes are more than " + MAX_ROUTES);
            }
            for (Cidr r : routes) {
                if (!r.equals(r.network())) {
                    throw new IllegalArgumentException("route " + r + " has host bits set (" + r.network() + ")");
                }
            }
        }
    }

    /**
     * Server to client: no. {@code code} is a {@link NakReason} code (any 1-255 is carried, so that
     * unknown codes survive); {@code text} says it for a person, e.g. "10.9.0.7 is leased to
     * another peer": at most {@link #MAX_TEXT} UTF-8 bytes, no control characters.
     */
    record Nak(int requestId, int code, String text) implements AddressMessage {
        public Nak {
            Objects.requireNonNull(text, "text");
            if (code < 1 || code > 255) {
                throw new IllegalArgumentException("reason code " + code + " is out of range (1-255)");
            }
            if (!StandardCharsets.UTF_8.newEncoder().canEncode(text)) {
                throw new IllegalArgumentException("NAK text is not valid Unicode");
            }
            if (text.getBytes(StandardCharsets.UTF_8).length > MAX_TEXT) {
                throw new IllegalArgumentException("NAK text is longer than " + MAX_TEXT + " bytes");
            }
            if (text.codePoints().anyMatch(Character::isISOControl)) {
                throw new IllegalArgumentException("NAK text contains a control character");
            }
        }

        /** A NAK for a reason; text that does not fit is shortened, control characters become '?'. */
        public static Nak of(int requestId, NakReason reason, String text) {
            StringBuilder sb = new StringBuilder();
            int bytes = 0;
            for (int cp : text.codePoints().toArray()) {
                if (Character.isISOControl(cp) || cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
                    cp = '?'; // a control character or half of a broken surrogate pair
                }
                int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
                if (bytes + n > MAX_TEXT) {
                    break;
                }
                sb.appendCodePoint(cp);
                bytes += n;
            }
            return new Nak(requestId, reason.code(), sb.toString());
        }

        /** The reason; a code this version does not define is {@link NakReason#OTHER}. */
        public NakReason reason() {
            return NakReason.of(code);
        }
    }

    /**
     * Client to server: extend my lease of these addresses (the ones the last ACK gave). The
     * server answers as to a REQUEST for exactly these addresses, without fallback.
     */
    record Renew(int requestId, Optional<InetAddress> v4, Optional<InetAddress> v6) implements AddressMessage {
        public Renew {
            Objects.requireNonNull(v4, "v4");
            Objects.requireNonNull(v6, "v6");
            if (v4.isEmpty() && v6.isEmpty()) {
                throw new IllegalArgumentException("a renewal must name the IPv4 or IPv6 address it holds");
            }
            requireFamily(v4, 4, "renewed IPv4 address");
            requireFamily(v6, 16, "renewed IPv6 address");
        }
    }

    /** Client to server: I no longer need my addresses. Not answered; losing it costs only time. */
    record Release(int requestId) implements AddressMessage {}

    /**
     * Whether the {@code len} bytes at {@code off} start like a control message (the marker byte
     * and magic), rather than an IP packet, which starts with nibble 4 or 6. Cheap enough for
     * every received packet; says nothing about whether the rest is well-formed.
     */
    static boolean isControl(ByteBuffer buf, int off, int len) {
        return AddressMessages.isControl(buf, off, len);
    }

    /**
     * The message in the {@code len} bytes at {@code off} (WireGuard's zero padding after it
     * allowed), or null for anything that is not one well-formed control message. Never throws.
     */
    static AddressMessage decode(ByteBuffer buf, int off, int len) {
        return AddressMessages.read(buf, off, len).message();
    }

    /**
     * Writes {@code m} at {@code off} and returns its length in bytes.
     *
     * @throws IndexOutOfBoundsException if the buffer has no room for it ({@link AddressMessages#size})
     */
    static int encode(AddressMessage m, ByteBuffer buf, int off) {
        return AddressMessages.write(m, buf, off);
    }

    private static void requireFamily(Optional<InetAddress> a, int length, String what) {
        if (a.isEmpty()) {
            return;
        }
        InetAddress address = a.get();
        boolean rightFamily = length == 4 ? address instanceof Inet4Address : address instanceof Inet6Address;
        if (!rightFamily) {
            throw new IllegalArgumentException(what + " " + Cidr.format(address) + " is of the wrong family");
        }
        if (isZero(address)) {
            throw new IllegalArgumentException(what + " " + Cidr.format(address) + " is the unspecified address");
        }
    }

    private static boolean isZero(InetAddress address) {
        for (byte b : address.getAddress()) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
