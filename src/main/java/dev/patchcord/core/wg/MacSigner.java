package dev.patchcord.core.wg;

import java.util.Arrays;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * The initiator's side of WireGuard's DoS defence, per peer: MAC1 on every handshake message we
 * send (keyed by the peer's public key), MAC2 when the peer has given us a cookie in the last two
 * minutes, and the decryption of the cookie replies that carry those cookies.
 */
final class MacSigner {
    private final byte[] mac1Key;
    private final byte[] cookieKey;
    private byte[] cookie;
    private long cookieReceived;
    private byte[] lastMac1;

    MacSigner(byte[] peerPublicKey) {
        this.mac1Key = Blake2s.hash(LABEL_MAC1_BYTES, peerPublicKey);
        this.cookieKey = Blake2s.hash(LABEL_COOKIE_BYTES, peerPublicKey);
    }

    /** Fills in MAC1 and MAC2 of a handshake message whose MAC1 field starts at {@code mac1Offset}. */
    void sign(byte[] msg, int mac1Offset, long now) {
        byte[] mac1 = Blake2s.mac(mac1Key, Arrays.copyOf(msg, mac1Offset));
        System.arraycopy(mac1, 0, msg, mac1Offset, TAG_SIZE);
        lastMac1 = mac1;
        int mac2Offset = mac1Offset + TAG_SIZE;
        if (cookie != null && now - cookieReceived < COOKIE_REFRESH_TIME) {
            byte[] mac2 = Blake2s.mac(cookie, Arrays.copyOf(msg, mac2Offset));
            System.arraycopy(mac2, 0, msg, mac2Offset, TAG_SIZE);
        } else {
            Arrays.fill(msg, mac2Offset, mac2Offset + TAG_SIZE, (byte) 0);
        }
    }

    /**
     * Takes the cookie from a cookie reply answering our last handshake message.
     *
     * @return false if we sent nothing it could answer or it does not authenticate
     */
    boolean consumeCookieReply(byte[] msg, long now) {
        if (lastMac1 == null) {
            return false;
        }
        byte[] nonce = Wire.slice(msg, COOKIE_NONCE, COOKIE_NONCE_SIZE);
        byte[] sealed = Wire.slice(msg, COOKIE_ENCRYPTED, TAG_SIZE + TAG_SIZE);
        byte[] value = XAead.open(cookieKey, nonce, sealed, lastMac1);
        if (value == null) {
            return false;
        }
        cookie = value;
        cookieReceived = now;
        return true;
    }
}
