package dev.patchcord.core.wg;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.random.RandomGenerator;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * The responder's side of WireGuard's DoS defence: MAC1 must be valid on every handshake message;
 * under load MAC2 must also be valid, which proves the sender can receive at its source address,
 * and a sender without a valid MAC2 gets a cookie reply instead of a handshake. The cookie is a
 * MAC of the source address under a secret that changes every two minutes.
 */
final class CookieChecker {
    private final Identity local;
    private final RandomGenerator rng;
    private byte[] secret;
    private long secretCreated;

    CookieChecker(Identity local, RandomGenerator rng) {
        this.local = local;
        this.rng = rng;
    }

    boolean mac1Valid(byte[] msg, int mac1Offset) {
        byte[] expected = Blake2s.mac(local.mac1Key, Arrays.copyOf(msg, mac1Offset));
        return MessageDigest.isEqual(expected, Wire.slice(msg, mac1Offset, TAG_SIZE));
    }

    synchronized boolean mac2Valid(byte[] msg, int mac1Offset, byte[] source, long now) {
        if (secret == null || now - secretCreated >= COOKIE_REFRESH_TIME) {
            return false;
        }
        int mac2Offset = mac1Offset + TAG_SIZE;
        byte[] expected = Blake2s.mac(cookie(source), Arrays.copyOf(msg, mac2Offset));
        return MessageDigest.isEqual(expected, Wire.slice(msg, mac2Offset, TAG_SIZE));
    }

    private byte[] cookie(byte[] source) {
        return Blake2s.mac(secret, source);
    }

    /** A cookie reply to the handshake message {@code msg} from {@code source}. */
    synchronized byte[] reply(byte[] msg, int mac1Offset, int senderIndex, byte[] source, long now) {
        if (secret == null || now - secretCreated >= COOKIE_REFRESH_TIME) {
            secret = new byte[KEY_SIZE];
            rng.nextBytes(secret);
            secretCreated = now;
        }
        byte[] nonce = new byte[COOKIE_NONCE_SIZE];
        rng.nextBytes(nonce);
        byte[] sealed = XAead.seal(local.cookieKey, nonce, cookie(source), Wire.slice(msg, mac1Offset, TAG_SIZE));
        byte[] reply = new byte[COOKIE_REPLY_SIZE];
        Wire.u32(reply, 0, MESSAGE_COOKIE_REPLY);
        Wire.u32(reply, COOKIE_RECEIVER, senderIndex);
        System.arraycopy(nonce, 0, reply, COOKIE_NONCE, COOKIE_NONCE_SIZE);
        System.arraycopy(sealed, 0, reply, COOKIE_ENCRYPTED, sealed.length);
        return reply;
    }
}
