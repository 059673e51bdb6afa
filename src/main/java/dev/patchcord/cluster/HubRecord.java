package dev.patchcord.cluster;

import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * A live hub as the other hubs find it: where its backplane (the hub-to-hub tunnel) listens and
 * with which key.
 *
 * @param id the hub's name in the cluster: 1-63 of a-z, 0-9 and '-'
 * @param backplaneEndpoint {@code HOST:PORT} of the hub's backplane
 * @param backplanePublicKey the 32-byte public key of the backplane
 */
public record HubRecord(String id, String backplaneEndpoint, byte[] backplanePublicKey) {

    public HubRecord {
        StoreKeys.checkHubId(id);
        Objects.requireNonNull(backplaneEndpoint, "backplaneEndpoint");
        if (backplaneEndpoint.isEmpty() || backplaneEndpoint.length() > 300
                || backplaneEndpoint.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
            throw new IllegalArgumentException("backplane endpoint is not HOST:PORT in printable ASCII");
        }
        backplanePublicKey = StoreKeys.checkKey(backplanePublicKey, "backplane public key").clone();
    }

    @Override
    public byte[] backplanePublicKey() {
        return backplanePublicKey.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HubRecord h && id.equals(h.id) && backplaneEndpoint.equals(h.backplaneEndpoint)
                && Arrays.equals(backplanePublicKey, h.backplanePublicKey);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, backplaneEndpoint, Arrays.hashCode(backplanePublicKey));
    }

    @Override
    public String toString() {
        return "HubRecord[" + id + ", " + backplaneEndpoint + ", " + Base64.getEncoder().encodeToString(backplanePublicKey) + "]";
    }
}
