package dev.patchcord.cluster;

import java.util.Objects;

/**
 * Which hub a client is connected to, and where that hub last heard the client from. The endpoint
 * is what lets a surviving hub call an orphaned client back when its hub dies: it holds the same
 * service key, so a handshake it initiates from its own address moves the client over (WireGuard
 * peers follow the source of the last authenticated packet).
 *
 * @param hubId the hub's id
 * @param endpoint {@code IP:PORT} ({@code [IP]:PORT} for IPv6) the client's packets came from, or
 *                 null when the hub did not know it
 */
public record Attachment(String hubId, String endpoint) {

    public Attachment {
        StoreKeys.checkHubId(hubId);
        if (endpoint != null && (endpoint.isEmpty() || endpoint.length() > 60
                || endpoint.chars().anyMatch(c -> c <= ' ' || c >= 0x7f))) {
            throw new IllegalArgumentException("attachment endpoint is not IP:PORT in printable ASCII");
        }
    }

    /** Whether both name the same hub and endpoint. */
    public boolean same(Attachment other) {
        return other != null && hubId.equals(other.hubId) && Objects.equals(endpoint, other.endpoint);
    }
}
