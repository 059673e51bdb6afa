package dev.patchcord.cluster;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Where a hub keeps the state it shares with the other hubs of its network: patchcord's
 * {@code Store}, {@code Cluster}, {@code StoreCA}, {@code StoreCert} and {@code StoreKey} keys.
 *
 * <p>Only settings: this type names no etcd client class, so reading a configuration with a
 * {@code Store} loads no client library; {@link ClusterStore#open} does.
 *
 * @param endpoints etcd members as {@code HOST:PORT}, in the order given (IPv6 hosts in brackets)
 * @param cluster the network's name: every key lives under {@code /patchcord/<cluster>/}
 * @param caFile a PEM file of CAs that sign etcd's server certificate; with it the client speaks
 *               TLS (https) to etcd; or null for plain http
 * @param certFile a PEM client certificate for etcd's client certificate authentication, or null
 * @param keyFile the PEM private key of {@code certFile} (PKCS#8), present exactly when it is
 * @param hubId patchcord's {@code HubId}: this hub's name in the cluster (1-63 of a-z, 0-9, '-'), or
 *              null for the host's name
 * @param backplane patchcord's {@code Backplane}: {@code HOST:PORT} where the other hubs reach this
 *                  one's backplane (it listens on that UDP port), or null on a machine that only
 *                  administers the cluster
 */
public record StoreSettings(List<String> endpoints, String cluster, String caFile, String certFile, String keyFile,
        String hubId, String backplane) {

    /** The longest cluster name: one DNS label, so that it can also name things elsewhere. */
    public static final int MAX_CLUSTER_NAME = 63;

    public StoreSettings {
        endpoints = List.copyOf(endpoints);
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("Store has no etcd endpoint");
        }
        if (cluster == null) {
            throw new IllegalArgumentException("Store needs Cluster (the network's name in the store)");
        }
        checkClusterName(cluster);
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException(certFile == null ? "StoreKey needs StoreCert" : "StoreCert needs StoreKey");
        }
        if (certFile != null && caFile == null) {
            throw new IllegalArgumentException("StoreCert needs StoreCA (a client certificate is only sent over TLS)");
        }
        if (hubId != null) {
            try {
                StoreKeys.checkHubId(hubId);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("HubId '" + hubId + "' is not 1-63 of a-z, 0-9 and '-'");
            }
        }
    }

    /** Settings for a store client that is not a hub ({@code cluster status}, {@code peer add}). */
    public StoreSettings(List<String> endpoints, String cluster, String caFile, String certFile, String keyFile) {
        this(endpoints, cluster, caFile, certFile, keyFile, null, null);
    }

    /** Whether the client speaks TLS to etcd (a CA is given). */
    public boolean tls() {
        return caFile != null;
    }

    /** The endpoints as the URIs the etcd client takes: https with a CA, http without. */
    public List<URI> uris() {
        String scheme = tls() ? "https" : "http";
        return endpoints.stream().map(e -> URI.create(scheme + "://" + e)).toList();
    }

    /** The key prefix of this cluster, ending in '/'. */
    public String prefix() {
        return "/patchcord/" + cluster + "/";
    }

    /**
     * Reads {@code etcd://HOST:PORT[,HOST:PORT...]}: the member list of one etcd cluster.
     *
     * @return the endpoints as {@code HOST:PORT}
     * @throws IllegalArgumentException with a one-line reason
     */
    public static List<String> parseEndpoints(String value) {
        String v = value.strip();
        if (!v.toLowerCase(Locale.ROOT).startsWith("etcd://")) {
            throw new IllegalArgumentException("Store '" + v + "' is not etcd://HOST:PORT[,HOST:PORT...]");
        }
        String rest = v.substring("etcd://".length());
        List<String> out = new ArrayList<>();
        for (String raw : rest.split(",", -1)) {
            String e = raw.strip();
            if (e.isEmpty()) {
                throw new IllegalArgumentException("Store '" + v + "' has an empty endpoint");
            }
            out.add(endpoint(e));
        }
        return out;
    }

    /** One {@code HOST:PORT}, the port required (etcd has no default the file should rely on). */
    private static String endpoint(String e) {
        URI u;
        try {
            u = new URI("etcd://" + e);
        } catch (java.net.URISyntaxException x) {
            throw new IllegalArgumentException("Store endpoint '" + e + "' is not HOST:PORT");
        }
        if (u.getHost() == null || u.getPort() < 1 || u.getPort() > 65535 || u.getRawPath() != null && !u.getRawPath().isEmpty()
                || u.getRawUserInfo() != null || u.getRawQuery() != null || u.getRawFragment() != null) {
            throw new IllegalArgumentException("Store endpoint '" + e + "' is not HOST:PORT (port 1-65535)");
        }
        return u.getHost() + ":" + u.getPort();
    }

    /** Checks a cluster name: 1-63 of a-z, 0-9 and '-'. */
    public static String checkClusterName(String name) {
        Objects.requireNonNull(name, "cluster name");
        if (name.isEmpty() || name.length() > MAX_CLUSTER_NAME
                || !name.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) {
            throw new IllegalArgumentException("Cluster '" + (name.length() > 70 ? name.substring(0, 67) + "..." : name)
                    + "' is not 1-" + MAX_CLUSTER_NAME + " of a-z, 0-9 and '-'");
        }
        return name;
    }
}
