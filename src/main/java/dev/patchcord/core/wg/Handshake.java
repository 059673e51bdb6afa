package dev.patchcord.core.wg;

import java.util.Arrays;
import java.util.random.RandomGenerator;

import static dev.patchcord.core.wg.Protocol.*;

/**
 * One peer's Noise_IKpsk2 handshake state, and the four steps of the protocol: create or consume
 * an initiation, create or consume a response. Each step follows the whitepaper (section 5.4)
 * operation by operation; MACs are added and checked elsewhere ({@link MacSigner},
 * {@link CookieChecker}), because they protect the handshake rather than belong to it.
 *
 * <p>All methods are called with the owning {@link Peer}'s lock held. The Diffie-Hellman
 * operations go through the node's {@link Curve25519} engine, passed in as {@code dh}.
 *
 * <p>Secrets are wiped as soon as they are used up: each replaced chaining key, every
 * Diffie-Hellman result and every one-time AEAD key, and the whole state in {@link #clear}. Only
 * the static-static secret is left alone; it belongs to the {@link Peer}.
 */
final class Handshake {
    enum State { NONE, INITIATION_CREATED, INITIATION_CONSUMED, RESPONSE_CREATED }

    State state = State.NONE;
    byte[] hash;
    byte[] chainingKey;
    byte[] localEphemeral;
    byte[] remoteEphemeral;
    int localIndex;
    int remoteIndex;

    private void mixHash(byte[] data) {
        byte[] old = hash;
        hash = Blake2s.hash(hash, data);
        wipe(old);
    }

    private void mixKey(byte[] data) {
        byte[] old = chainingKey;
        chainingKey = Blake2s.kdf(1, chainingKey, data)[0];
        wipe(old);
    }

    /** (C, k) = KDF2(C, input); returns k, which the caller wipes after its one use. */
    private byte[] mixKeyAndGetKey(byte[] input) {
        byte[][] out = Blake2s.kdf(2, chainingKey, input);
        wipe(chainingKey);
        chainingKey = out[0];
        return out[1];
    }

    static void wipe(byte[]... secrets) {
        for (byte[] b : secrets) {
            if (b != null) {
                Arrays.fill(b, (byte) 0);
            }
        }
    }

    /** AEAD-seals with a one-time key and wipes the key. */
    private static byte[] sealOnce(byte[] key, byte[] plaintext, byte[] ad) {
        try {
            return Aead.seal(key, 0, plaintext, ad);
        } finally {
            wipe(key);
        }
    }

    /** AEAD-opens with a one-time key and wipes the key; null if it does not authenticate. */
    private static byte[] openOnce(byte[] key, byte[] ciphertext, byte[] ad) {
        try {
            return Aead.open(key, 0, ciphertext, ad);
        } finally {
            wipe(key);
        }
    }

    /**
     * Writes an initiation (without MACs) into {@code msg}. Returns false if a Diffie-Hellman
     * result was all zeros (the peer's public key is invalid).
     */
    boolean createInitiation(Curve25519 dh, Identity local, byte[] remoteStatic, byte[] staticStatic, int index,
                             byte[] timestamp, RandomGenerator rng, byte[] msg) {
        if (staticStatic == null) {
            return false;
        }
        chainingKey = initialChainingKey();
        hash = Blake2s.hash(initialHash(), remoteStatic);
        localEphemeral = X25519.generatePrivate(rng);
        byte[] ephemeralPublic = dh.publicKey(localEphemeral);
        mixKey(ephemeralPublic);
        mixHash(ephemeralPublic);
        byte[] es = dh.sharedSecret(localEphemeral, remoteStatic);
        if (es == null) {
            return false;
        }
        byte[] encStatic = sealOnce(mixKeyAndGetKey(es), local.publicKey, hash);
        wipe(es);
        mixHash(encStatic);
        byte[] encTimestamp = sealOnce(mixKeyAndGetKey(staticStatic), timestamp, hash);
        mixHash(encTimestamp);

        Arrays.fill(msg, (byte) 0);
        Wire.u32(msg, 0, MESSAGE_INITIATION);
        Wire.u32(msg, INIT_SENDER, index);
        System.arraycopy(ephemeralPublic, 0, msg, INIT_EPHEMERAL, KEY_SIZE);
        System.arraycopy(encStatic, 0, msg, INIT_STATIC, encStatic.length);
        System.arraycopy(encTimestamp, 0, msg, INIT_TIMESTAMP, encTimestamp.length);
        localIndex = index;
        state = State.INITIATION_CREATED;
        return true;
    }

    /** What a responder learns from an initiation before it knows which peer sent it. */
    record Initiation(byte[] peerPublicKey, byte[] hash, byte[] chainingKey, byte[] ephemeral, int sender) {}

    /**
     * First half of consuming an initiation: decrypts the initiator's static key. Returns null if
     * the message does not authenticate.
     */
    static Initiation openStatic(Curve25519 dh, Identity local, byte[] msg) {
        byte[] ephemeral = Wire.slice(msg, INIT_EPHEMERAL, KEY_SIZE);
        byte[] h = Blake2s.hash(Blake2s.hash(initialHash(), local.publicKey), ephemeral);
        byte[] c = Blake2s.kdf(1, initialChainingKey(), ephemeral)[0];
        byte[] es = dh.sharedSecret(local.privateKey, ephemeral);
        if (es == null) {
            return null;
        }
        byte[][] ck = Blake2s.kdf(2, c, es);
        wipe(c, es);
        byte[] encStatic = Wire.slice(msg, INIT_STATIC, KEY_SIZE + TAG_SIZE);
        byte[] peerKey = openOnce(ck[1], encStatic, h);
        if (peerKey == null) {
            wipe(ck[0]);
            return null;
        }
        return new Initiation(peerKey, Blake2s.hash(h, encStatic), ck[0], ephemeral, Wire.u32(msg, INIT_SENDER));
    }

    /**
     * Second half: decrypts the timestamp with the peer's precomputed static-static secret.
     * Returns the timestamp, or null if it does not authenticate; on success this handshake holds
     * the responder's state.
     */
    byte[] openTimestamp(Initiation init, byte[] staticStatic, byte[] msg) {
        if (staticStatic == null) {
            return null;
        }
        byte[][] ck = Blake2s.kdf(2, init.chainingKey(), staticStatic);
        // An initiation is consumed once: its chaining key is not needed past this point.
        wipe(init.chainingKey());
        byte[] encTimestamp = Wire.slice(msg, INIT_TIMESTAMP, Tai64n.SIZE + TAG_SIZE);
        byte[] timestamp = openOnce(ck[1], encTimestamp, init.hash());
        if (timestamp == null) {
            wipe(ck[0]);
            return null;
        }
        chainingKey = ck[0];
        hash = Blake2s.hash(init.hash(), encTimestamp);
        remoteEphemeral = init.ephemeral();
        remoteIndex = init.sender();
        localEphemeral = null;
        state = State.INITIATION_CONSUMED;
        return timestamp;
    }

    /** Writes a response (without MACs). Returns false if a Diffie-Hellman result was all zeros. */
    boolean createResponse(Curve25519 dh, byte[] remoteStatic, byte[] presharedKey, int index, RandomGenerator rng, byte[] msg) {
        if (state != State.INITIATION_CONSUMED) {
            return false;
        }
        localEphemeral = X25519.generatePrivate(rng);
        byte[] ephemeralPublic = dh.publicKey(localEphemeral);
        mixHash(ephemeralPublic);
        mixKey(ephemeralPublic);
        byte[] ee = dh.sharedSecret(localEphemeral, remoteEphemeral);
        byte[] se = dh.sharedSecret(localEphemeral, remoteStatic);
        if (ee == null || se == null) {
            wipe(ee, se);
            return false;
        }
        mixKey(ee);
        mixKey(se);
        wipe(ee, se);
        byte[] encEmpty = mixPresharedKey(presharedKey, null);

        Arrays.fill(msg, (byte) 0);
        Wire.u32(msg, 0, MESSAGE_RESPONSE);
        Wire.u32(msg, RESP_SENDER, index);
        Wire.u32(msg, RESP_RECEIVER, remoteIndex);
        System.arraycopy(ephemeralPublic, 0, msg, RESP_EPHEMERAL, KEY_SIZE);
        System.arraycopy(encEmpty, 0, msg, RESP_EMPTY, TAG_SIZE);
        localIndex = index;
        state = State.RESPONSE_CREATED;
        return true;
    }

    /**
     * (C, τ, k) = KDF3(C, psk); H = HASH(H ‖ τ); then seals the empty payload, or (when
     * {@code received} is given) opens it. Returns the sealed tag, or null if opening failed.
     */
    private byte[] mixPresharedKey(byte[] presharedKey, byte[] received) {
        byte[][] ctk = Blake2s.kdf(3, chainingKey, presharedKey);
        wipe(chainingKey);
        chainingKey = ctk[0];
        mixHash(ctk[1]);
        wipe(ctk[1]);
        byte[] empty;
        if (received == null) {
            empty = sealOnce(ctk[2], new byte[0], hash);
        } else if (openOnce(ctk[2], received, hash) == null) {
            return null;
        } else {
            empty = received;
        }
        mixHash(empty);
        return empty;
    }

    /** Consumes the response to our initiation. Returns false if it does not authenticate. */
    boolean consumeResponse(Curve25519 dh, Identity local, byte[] presharedKey, byte[] msg) {
        if (state != State.INITIATION_CREATED) {
            return false;
        }
        // Copies: mixing wipes the arrays it replaces, and a forged response must be undone.
        byte[] savedHash = hash.clone(), savedKey = chainingKey.clone();
        byte[] ephemeral = Wire.slice(msg, RESP_EPHEMERAL, KEY_SIZE);
        mixHash(ephemeral);
        mixKey(ephemeral);
        byte[] ee = dh.sharedSecret(localEphemeral, ephemeral);
        byte[] se = dh.sharedSecret(local.privateKey, ephemeral);
        if (ee == null || se == null) {
            wipe(ee, se);
            restore(savedHash, savedKey);
            return false;
        }
        mixKey(ee);
        mixKey(se);
        wipe(ee, se);
        if (mixPresharedKey(presharedKey, Wire.slice(msg, RESP_EMPTY, TAG_SIZE)) == null) {
            // A forged response must not disturb the handshake still waiting for the real one.
            restore(savedHash, savedKey);
            return false;
        }
        wipe(savedHash, savedKey);
        remoteIndex = Wire.u32(msg, RESP_SENDER);
        return true;
    }

    private void restore(byte[] savedHash, byte[] savedKey) {
        wipe(hash, chainingKey);
        hash = savedHash;
        chainingKey = savedKey;
    }

    /**
     * Derives the transport keys and forgets the handshake secrets.
     *
     * @return {send, receive} for the given role
     */
    byte[][] deriveTransportKeys(boolean initiator) {
        byte[][] t = Blake2s.kdf(2, chainingKey, new byte[0]);
        clear();
        return initiator ? new byte[][]{t[0], t[1]} : new byte[][]{t[1], t[0]};
    }

    /** Wipes the handshake's secrets (after use, on expiry, or when a peer is removed). */
    void clear() {
        wipe(hash, chainingKey, localEphemeral, remoteEphemeral);
        hash = chainingKey = localEphemeral = remoteEphemeral = null;
        state = State.NONE;
    }
}
