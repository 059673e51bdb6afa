package dev.patchcord.core.wg;

import java.nio.charset.StandardCharsets;

/**
 * The fixed numbers of WireGuard, under the names the whitepaper gives them: the Noise
 * identifiers, the message layouts and the limits and timers. They are what makes patchcord
 * interoperate with other implementations, so none of them is configurable.
 *
 * <p>Times are {@code long} nanoseconds, the unit of the clock the caller passes in. Message
 * offsets are byte positions from the start of the UDP payload; every integer field is
 * little-endian, and each message starts with its type byte and three zero bytes.
 */
public final class Protocol {
    private Protocol() {}

    public static final String CONSTRUCTION = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
    public static final String IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com";
    public static final String LABEL_MAC1 = "mac1----";
    public static final String LABEL_COOKIE = "cookie--";

    // The labels as bytes (UTF-8, here plain ASCII). The arrays are shared: read them, never write them.
    public static final byte[] LABEL_MAC1_BYTES = LABEL_MAC1.getBytes(StandardCharsets.UTF_8);
    public static final byte[] LABEL_COOKIE_BYTES = LABEL_COOKIE.getBytes(StandardCharsets.UTF_8);

    private static final byte[] INITIAL_CHAINING_KEY = Blake2s.hash(CONSTRUCTION.getBytes(StandardCharsets.UTF_8));
    private static final byte[] INITIAL_HASH =
            Blake2s.hash(INITIAL_CHAINING_KEY, IDENTIFIER.getBytes(StandardCharsets.UTF_8));

    /** C0 = HASH(CONSTRUCTION), where every handshake's chaining key starts; a copy to mutate. */
    public static byte[] initialChainingKey() {
        return INITIAL_CHAINING_KEY.clone();
    }

    /** H0 = HASH(C0 ‖ IDENTIFIER), where every handshake's transcript hash starts; a copy to mutate. */
    public static byte[] initialHash() {
        return INITIAL_HASH.clone();
    }

    public static final int MESSAGE_INITIATION = 1;
    public static final int MESSAGE_RESPONSE = 2;
    public static final int MESSAGE_COOKIE_REPLY = 3;
    public static final int MESSAGE_TRANSPORT = 4;

    /** The Poly1305 tag that follows every sealed field and every transport payload. */
    public static final int TAG_SIZE = Aead.TAG_SIZE;
    public static final int KEY_SIZE = 32;
    public static final int MAC_SIZE = 16;
    public static final int COOKIE_SIZE = 16;
    public static final int COOKIE_NONCE_SIZE = XAead.NONCE_SIZE;
    /** Transport plaintext is zero-padded to a multiple of this, but not beyond the MTU. */
    public static final int PADDING_MULTIPLE = 16;

    // The layouts follow from the field sizes: each field starts where the one before it ends.
    // A session index is a u32, a transport counter a u64.
    private static final int INDEX_SIZE = 4;
    private static final int COUNTER_SIZE = 8;

    public static final int TYPE = 0;
    /** The first field of every message, after the type byte and its three reserved bytes. */
    private static final int AFTER_TYPE = TYPE + 4;

    public static final int INIT_SENDER = AFTER_TYPE;
    public static final int INIT_EPHEMERAL = INIT_SENDER + INDEX_SIZE;
    /** The initiator's static public key, sealed: 32 bytes and a tag. */
    public static final int INIT_STATIC = INIT_EPHEMERAL + KEY_SIZE;
    /** The TAI64N timestamp, sealed: 12 bytes and a tag. */
    public static final int INIT_TIMESTAMP = INIT_STATIC + KEY_SIZE + TAG_SIZE;
    public static final int INIT_MAC1 = INIT_TIMESTAMP + Tai64n.SIZE + TAG_SIZE;
    public static final int INIT_MAC2 = INIT_MAC1 + MAC_SIZE;

    public static final int RESP_SENDER = AFTER_TYPE;
    public static final int RESP_RECEIVER = RESP_SENDER + INDEX_SIZE;
    public static final int RESP_EPHEMERAL = RESP_RECEIVER + INDEX_SIZE;
    /** An empty plaintext, sealed: just a tag, which proves the responder derived the same keys. */
    public static final int RESP_EMPTY = RESP_EPHEMERAL + KEY_SIZE;
    public static final int RESP_MAC1 = RESP_EMPTY + TAG_SIZE;
    public static final int RESP_MAC2 = RESP_MAC1 + MAC_SIZE;

    public static final int COOKIE_RECEIVER = AFTER_TYPE;
    public static final int COOKIE_NONCE = COOKIE_RECEIVER + INDEX_SIZE;
    /** The 16-byte cookie, sealed with XChaCha20-Poly1305: 16 bytes and a tag. */
    public static final int COOKIE_ENCRYPTED = COOKIE_NONCE + COOKIE_NONCE_SIZE;

    public static final int TRANSPORT_RECEIVER = AFTER_TYPE;
    public static final int TRANSPORT_COUNTER = TRANSPORT_RECEIVER + INDEX_SIZE;
    /** Where the sealed payload starts: the transport header's size. */
    public static final int TRANSPORT_CONTENT = TRANSPORT_COUNTER + COUNTER_SIZE;

    // A handshake message of any other length is dropped unread (148, 92 and 64 bytes).
    public static final int INITIATION_SIZE = INIT_MAC2 + MAC_SIZE;
    public static final int RESPONSE_SIZE = RESP_MAC2 + MAC_SIZE;
    public static final int COOKIE_REPLY_SIZE = COOKIE_ENCRYPTED + COOKIE_SIZE + TAG_SIZE;
    /** A transport message with an empty payload, which is a keepalive. */
    public static final int MIN_TRANSPORT_SIZE = TRANSPORT_CONTENT + TAG_SIZE;

    private static final long MILLISECOND = 1_000_000L;
    private static final long SECOND = 1_000_000_000L;

    /** After this many messages under one keypair the sender starts a new handshake. */
    public static final long REKEY_AFTER_MESSAGES = 1L << 60;
    /**
     * No message is sent or accepted with a counter at or above 2^64 − 2^13 − 1, so the counter
     * can never wrap inside the replay window. It does not fit a signed long: this is its
     * two's-complement bit pattern, and it must be compared with {@link Long#compareUnsigned}.
     */
    public static final long REJECT_AFTER_MESSAGES = -1L - (1L << 13);
    /** The initiator of a keypair this old starts a new handshake when it next sends. */
    public static final long REKEY_AFTER_TIME = 120 * SECOND;
    /** A keypair this old is never used again, in either direction. */
    public static final long REJECT_AFTER_TIME = 180 * SECOND;
    /** How long to keep retrying a handshake before giving up and dropping staged packets. */
    public static final long REKEY_ATTEMPT_TIME = 90 * SECOND;
    /** Wait for a response this long (plus jitter) before sending a new initiation. */
    public static final long REKEY_TIMEOUT = 5 * SECOND;
    /** Random extra wait, up to this, added to each retry so that peers do not retry in lockstep. */
    public static final long REKEY_TIMEOUT_JITTER_MAX = 334 * MILLISECOND;
    /** Send an empty message if data arrived and nothing went back for this long. */
    public static final long KEEPALIVE_TIMEOUT = 10 * SECOND;
    /** A cookie is used, and a responder's cookie secret kept, for this long. */
    public static final long COOKIE_REFRESH_TIME = 120 * SECOND;
    /** A responder accepts at most one initiation per peer in this interval (50 per second). */
    public static final long HANDSHAKE_INITIATION_RATE = SECOND / 50;
    /** The number of retries before giving up: one per REKEY_TIMEOUT for REKEY_ATTEMPT_TIME (18). */
    public static final int MAX_TIMER_HANDSHAKES = (int) (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT);
    /** Outgoing packets kept per peer while a handshake is under way; older ones are dropped. */
    public static final int MAX_STAGED_PACKETS = 128;
}
