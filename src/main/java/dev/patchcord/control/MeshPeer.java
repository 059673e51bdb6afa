package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;

import java.util.List;
import java.util.Objects;

/**
 * One peer of a mesh, as a peers file or the directory describes it.
 *
 * @param publicKey the peer's public key in base64, as {@code wg} prints it
 * @param name a label for people, or null
 * @param allowedIps the addresses the peer may use and is routed to
 * @param endpoints where to reach it, best first (may be empty: it will have to reach us)
 * @param persistentKeepalive seconds between keepalives, 0 for none
 * @param relay whether the peer relays traffic for peers that cannot reach each other directly
 */
public record MeshPeer(String publicKey, String name, List<Cidr> allowedIps, List<Endpoint> endpoints,
        int persistentKeepalive, boolean relay) {

    public MeshPeer {
        Objects.requireNonNull(publicKey, "publicKey");
        Keys.fromBase64(publicKey);
        allowedIps = List.copyOf(allowedIps);
        endpoints = List.copyOf(endpoints);
        if (persistentKeepalive < 0 || persistentKeepalive > 65535) {
            throw new IllegalArgumentException("persistent keepalive " + persistentKeepalive + " is out of range (0-65535)");
        }
    }

    public byte[] key() {
        return Keys.fromBase64(publicKey);
    }

    /** The same peer with other endpoints. */
    public MeshPeer withEndpoints(List<Endpoint> other) {
        return new MeshPeer(publicKey, name, allowedIps, other, persistentKeepalive, relay);
    }

    /** The name, or the start of the key when there is none: for messages. */
    public String label() {
        return name != null ? name : publicKey.substring(0, 8) + "…";
    }
}
