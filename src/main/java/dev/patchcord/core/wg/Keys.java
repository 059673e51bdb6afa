package dev.patchcord.core.wg;

import java.security.MessageDigest;
import java.util.Base64;

/**
 * The text forms of WireGuard keys: base64 as {@code wg genkey} and configuration files write
 * them, and lowercase hex as the UAPI carries them. Parsing is strict, because a key that is
 * silently read differently from how {@code wg} reads it gives a tunnel that never comes up and
 * says nothing about why.
 *
 * <p>Error messages say what is wrong with the text but never quote it: it may be a private key.
 */
public final class Keys {
    public static final int KEY_SIZE = Protocol.KEY_SIZE;
    public static final int BASE64_LENGTH = 44;
    public static final int HEX_LENGTH = 64;

    private Keys() {}

    /**
     * The 32-byte key written in {@code s}: exactly 44 characters of standard base64 with its one
     * padding character, and no other bits set than the key's, so that each key has one spelling.
     *
     * @throws IllegalArgumentException naming the first thing wrong with the text
     */
    public static byte[] fromBase64(String s) {
        if (s.length() != BASE64_LENGTH) {
            throw new IllegalArgumentException("a WireGuard key is " + BASE64_LENGTH
                    + " base64 characters, got " + s.length() + " characters");
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("a WireGuard key must be standard base64 (A-Z a-z 0-9 + / and '=' padding)");
        }
        if (key.length != KEY_SIZE) {
            throw new IllegalArgumentException("a WireGuard key is " + KEY_SIZE + " bytes, this base64 text holds "
                    + key.length + " bytes");
        }
        if (!toBase64(key).equals(s)) {
            throw new IllegalArgumentException("a WireGuard key's base64 text must be canonical: "
                    + "the character before '=' carries bits that are not part of the key");
        }
        return key;
    }

    /** The 44-character base64 text of a key, as {@code wg} prints it. */
    public static String toBase64(byte[] key) {
        requireKey(key);
        return Base64.getEncoder().encodeToString(key);
    }

    /**
     * The 32-byte key written in {@code s} as 64 hex digits. The UAPI writes lowercase; uppercase
     * is accepted too, as wireguard-go accepts it.
     *
     * @throws IllegalArgumentException naming what is wrong with the text
     */
    public static byte[] fromHex(String s) {
        if (s.length() != HEX_LENGTH) {
            throw new IllegalArgumentException("a WireGuard key is " + HEX_LENGTH + " hex digits, got "
                    + s.length() + " characters");
        }
        byte[] key = new byte[KEY_SIZE];
        for (int i = 0; i < KEY_SIZE; i++) {
            int hi = hexDigit(s.charAt(2 * i));
            int lo = hexDigit(s.charAt(2 * i + 1));
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("a WireGuard key in hex may hold only the digits 0-9, a-f and A-F, found another "
                        + "character at position " + (hi < 0 ? 2 * i : 2 * i + 1));
            }
            key[i] = (byte) (hi << 4 | lo);
        }
        return key;
    }

    /** The 64 lowercase hex digits of a key, as the UAPI writes it. */
    public static String toHex(byte[] key) {
        requireKey(key);
        char[] out = new char[HEX_LENGTH];
        for (int i = 0; i < KEY_SIZE; i++) {
            out[2 * i] = Character.forDigit((key[i] >> 4) & 0xf, 16);
            out[2 * i + 1] = Character.forDigit(key[i] & 0xf, 16);
        }
        return new String(out);
    }

    /**
     * Whether every byte is zero, in time that depends only on the length. An all-zero key means
     * "no key" (an unset preshared key, a removed private key), and the test is applied to secrets.
     */
    public static boolean isZero(byte[] b) {
        int acc = 0;
        for (byte x : b) {
            acc |= x;
        }
        return acc == 0;
    }

    /** Whether two keys or MACs are equal, in time that does not reveal where they differ. */
    public static boolean equal(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static void requireKey(byte[] key) {
        if (key.length != KEY_SIZE) {
            throw new IllegalArgumentException("a WireGuard key is " + KEY_SIZE + " bytes, got " + key.length);
        }
    }
}
