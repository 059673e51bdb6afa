package dev.patchcord.cluster;

import dev.patchcord.core.Cidr;

import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * One client of the network as every hub sees it: what a {@code [Peer]} of a hub says of it.
 *
 * <p>Keys are copied in and out, and {@link #toString()} never shows the preshared key.
 *
 * @param publicKey the client's 32-byte public key, which names it in the store
 * @param name a label for people, 0-{@value #MAX_NAME} characters without control characters
 * @param allowedIps the client's allowed IPs, in order
 * @param presharedKey the 32-byte preshared key, or null for none
 */
public record ClusterClient(byte[] publicKey, String name, List<Cidr> allowedIps, byte[] presharedKey) {

    /** The longest name, in characters. */
    public static final int MAX_NAME = 128;

    public ClusterClient {
        publicKey = StoreKeys.checkKey(publicKey, "public key").clone();
        presharedKey = presharedKey == null ? null : StoreKeys.checkKey(presharedKey, "preshared key").clone();
        Objects.requireNonNull(name, "name");
        // A line break would end the value's line early in the stored form (StoreValues).
        if (name.length() > MAX_NAME || name.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("client name is not 0-" + MAX_NAME + " characters without control characters");
        }
        allowedIps = List.copyOf(allowedIps);
    }

    @Override
    public byte[] publicKey() {
        return publicKey.clone();
    }

    @Override
    public byte[] presharedKey() {
        return presharedKey == null ? null : presharedKey.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClusterClient c && Arrays.equals(publicKey, c.publicKey) && name.equals(c.name)
                && allowedIps.equals(c.allowedIps) && Arrays.equals(presharedKey, c.presharedKey);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(publicKey), name, allowedIps, Arrays.hashCode(presharedKey));
    }

    @Override
    public String toString() {
        return "ClusterClient[" + Base64.getEncoder().encodeToString(publicKey) + ", name=" + name
                + ", allowedIps=" + allowedIps + ", presharedKey=" + (presharedKey == null ? "none" : "(hidden)") + "]";
    }
}
