package dev.patchcord.core;

/** Why a packet was dropped. Every drop is counted under one of these reasons. */
public enum Drop {
    /** A datagram with no payload. */
    EMPTY("empty"),
    /** Shorter than the smallest valid frame or packet (an Ethernet header, an IP header). */
    RUNT("runt"),
    /** Longer than the largest frame or datagram this mode may carry. */
    OVERSIZE("oversize"),
    /** Not an IP packet, or one whose length fields contradict themselves. */
    MALFORMED("malformed"),
    /** The last packet of a datagram is cut short. */
    TRUNCATED("truncated"),
    /** No peer address is known yet to send to. */
    NO_PEER("no-peer"),
    /** The kernel refused to send the datagram (no route, …). */
    SEND_ERROR("send-error"),
    /** The interface refused a packet. */
    DEVICE_ERROR("device-error"),
    /** An unknown WireGuard message type, or a message of the wrong size for its type. */
    BAD_MESSAGE("bad-message"),
    /** A handshake message whose MAC1 is wrong (not meant for us, or forged). */
    BAD_MAC("bad-mac"),
    /**
     * A handshake message while the interface has no private key ({@code wg set IF private-key
     * /dev/null}, {@code wg setconf} of a file without one): nothing can be answered.
     */
    NO_PRIVATE_KEY("no-private-key"),
    /** A message that failed authenticated decryption (wrong key, tampered). */
    BAD_AUTH("bad-auth"),
    /** A handshake from a public key that is not a configured peer. */
    UNKNOWN_PEER("unknown-peer"),
    /** A message naming a session index that does not exist (expired or never made). */
    UNKNOWN_INDEX("unknown-index"),
    /** A transport counter seen before or too old for the replay window. */
    REPLAYED("replayed"),
    /** A handshake initiation that is not newer than the last one accepted (a replay). */
    STALE_HANDSHAKE("stale-handshake"),
    /** A handshake initiation within 20 ms of the previous one from the same peer. */
    HANDSHAKE_FLOOD("handshake-flood"),
    /** Under load: answered with a cookie reply instead of a handshake. */
    COOKIE_SENT("cookie-sent"),
    /** Under load: too many handshakes from one source address. */
    RATE_LIMITED("rate-limited"),
    /** A session key too old or used too often to accept more data. */
    EXPIRED_KEY("expired-key"),
    /** A decrypted packet whose inner source address is not among the sender's allowed IPs. */
    NOT_ALLOWED("not-allowed"),
    /** A packet for an address that no peer's allowed IPs cover. */
    NO_ROUTE("no-route"),
    /**
     * One of the tunnel's own encrypted datagrams read back from its interface: routing sent a
     * peer's endpoint into the tunnel. Dropped instead of being encrypted again, which would loop.
     */
    ROUTING_LOOP("routing-loop"),
    /** A packet from one peer to another that client isolation forbids. */
    ISOLATED("isolated"),
    /** A packet waiting for a handshake pushed out by newer ones, or given up with it. */
    STAGED_OVERFLOW("staged-overflow"),
    /** An address-assignment control message (docs/protocol.md) that is not well-formed. */
    BAD_CONTROL("bad-control"),
    /**
     * A well-formed control message this end does not act on: no [Pool] or Address = auto here,
     * a message only the other side sends, or an answer to a request no longer waited for.
     */
    UNEXPECTED_CONTROL("unexpected-control"),
    /**
     * A super-packet from the interface (with a virtio-net header) that cannot be cut into
     * segments: an inconsistent header, a kind of offload not supported, or too many segments.
     */
    UNSPLITTABLE("unsplittable"),
    /** A packet that is not IPv4, in a mode that carries IPv4 only (udptun). */
    NOT_IPV4("not-ipv4"),
    /** A packet for a connection whose send queue is full (a peer that reads too slowly). */
    QUEUE_FULL("queue-full");

    private final String label;

    Drop(String label) {
        this.label = label;
    }

    /** The short name used in status output. */
    public String label() {
        return label;
    }
}
