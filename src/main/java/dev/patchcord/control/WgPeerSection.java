package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * One {@code [Peer]} section of a wg-quick file. Keys are copied in and out; {@link #toString()}
 * shows the public key (it identifies the peer and is no secret) but never the preshared key.
 *
 * @param publicKey the peer's 32-byte Curve25519 public key
 * @param presharedKey the 32-byte symmetric key mixed into the handshake, or null when absent
 * @param allowedIps the source addresses accepted from this peer and routed to it, in file order
 * @param endpoints where to send until the peer is heard from, in file order; empty to wait for the
 *        peer. More than one is patchcord's extension: the peer starts on the first and moves to the
 *        next when handshakes go unanswered (a network of hubs that share one key)
 * @param persistentKeepalive seconds between keepalives, 0 when off
 */
public record WgPeerSection(byte[] publicKey, byte[] presharedKey, List<Cidr> allowedIps, List<Endpoint> endpoints,
        int persistentKeepalive) {

    public WgPeerSection {
        publicKey = ConfigValues.checkKey(publicKey, "publicKey").clone();
        if (presharedKey != null) {
            presharedKey = ConfigValues.checkKey(presharedKey, "presharedKey").clone();
        }
        allowedIps = List.copyOf(allowedIps);
        endpoints = List.copyOf(endpoints);
        if (persistentKeepalive < 0 || persistentKeepalive > 65535) {
            throw new IllegalArgumentException("persistent keepalive " + persistentKeepalive
                    + " is out of range (0-65535)");
        }
    }

    /** A copy of the public key. */
    @Override
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** A copy of the preshared key, or null. */
    @Override
    public byte[] presharedKey() {
        return presharedKey == null ? null : presharedKey.clone();
    }

    /** The first endpoint (where the peer starts), or null when there is none. */
    public Endpoint endpoint() {
        return endpoints.isEmpty() ? null : endpoints.getFirst();
    }

    /** The endpoints as the file gives them: {@code a:51820, b:51820}; empty when there are none. */
    public String endpointsText() {
        return String.join(", ", endpoints.stream().map(Endpoint::toString).toList());
    }

    /** The public key as wg prints it (44 base64 characters). */
    public String publicKeyBase64() {
        return Base64.getEncoder().encodeToString(publicKey);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WgPeerSection p && Arrays.equals(publicKey, p.publicKey)
                && Arrays.equals(presharedKey, p.presharedKey) && allowedIps.equals(p.allowedIps)
                && endpoints.equals(p.endpoints) && persistentKeepalive == p.persistentKeepalive;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(publicKey), Arrays.hashCode(presharedKey), allowedIps, endpoints,
                persistentKeepalive);
    }

    /** The peer without secrets: the preshared key shows only as {@code (hidden)} or {@code none}. */
    @Override
    public String toString() {
        return "[Peer] PublicKey=" + publicKeyBase64()
                + ", PresharedKey=" + (presharedKey == null ? "none" : "(hidden)")
                + ", AllowedIPs=" + allowedIps
                + ", Endpoint=" + (endpoints.isEmpty() ? "none" : endpointsText())
                + ", PersistentKeepalive=" + (persistentKeepalive == 0 ? "off" : persistentKeepalive);
    }
}
