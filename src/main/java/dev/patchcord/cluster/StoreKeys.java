package dev.patchcord.cluster;

import dev.patchcord.core.Cidr;

import java.net.InetAddress;
import java.util.Base64;
import java.util.Objects;

/**
 * The key layout of one cluster in etcd, all under {@code /patchcord/<cluster>/}:
 *
 * <pre>
 *   clients/&lt;public key&gt;   a client (StoreValues.client)
 *   leases/&lt;address&gt;       an address given to a client (StoreValues.lease)
 *   hubs/&lt;hub id&gt;          a live hub, bound to its etcd lease (StoreValues.hub)
 *   attach/&lt;public key&gt;    the hub a client is connected to, bound to that hub's etcd lease
 *   directory/&lt;public key&gt; where a mesh member is, as the directory servers recorded it
 * </pre>
 *
 * Public keys (of clients and of mesh members) are URL-safe base64 with padding (44 characters: '/' of standard base64 would
 * read as a path separator); addresses are in their canonical text form ({@link Cidr#format}),
 * so that one address has exactly one key, which the allocation transaction relies on.
 */
public final class StoreKeys {
    private static final Base64.Encoder URL = Base64.getUrlEncoder();
    private static final Base64.Decoder URL_DECODER = Base64.getUrlDecoder();

    private final String prefix;

    public StoreKeys(String cluster) {
        this.prefix = "/patchcord/" + StoreSettings.checkClusterName(cluster) + "/";
    }

    /** The cluster's prefix, ending in '/'. */
    public String prefix() {
        return prefix;
    }

    public String clientsPrefix() {
        return prefix + "clients/";
    }

    public String leasesPrefix() {
        return prefix + "leases/";
    }

    public String hubsPrefix() {
        return prefix + "hubs/";
    }

    public String attachPrefix() {
        return prefix + "attach/";
    }

    public String directoryPrefix() {
        return prefix + "directory/";
    }

    public String client(byte[] publicKey) {
        return clientsPrefix() + encodeKey(publicKey);
    }

    public String lease(InetAddress address) {
        return leasesPrefix() + Cidr.format(address);
    }

    public String hub(String id) {
        return hubsPrefix() + checkHubId(id);
    }

    public String attach(byte[] publicKey) {
        return attachPrefix() + encodeKey(publicKey);
    }

    public String directory(byte[] publicKey) {
        return directoryPrefix() + encodeKey(publicKey);
    }

    /** The public key at the end of a {@code clients/}, {@code attach/} or {@code directory/} key. */
    public static byte[] keyAfter(String prefix, String key) {
        if (!key.startsWith(prefix)) {
            throw new IllegalArgumentException("key " + key + " is not under " + prefix);
        }
        return decodeKey(key.substring(prefix.length()));
    }

    /** A 32-byte key as URL-safe base64 with padding. */
    public static String encodeKey(byte[] key) {
        return URL.encodeToString(checkKey(key, "key"));
    }

    /** The inverse of {@link #encodeKey}, refusing anything but 32 bytes. */
    public static byte[] decodeKey(String text) {
        byte[] k;
        try {
            k = URL_DECODER.decode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "' is not URL-safe base64");
        }
        return checkKey(k, "key '" + text + "'");
    }

    static byte[] checkKey(byte[] key, String what) {
        if (key == null || key.length != 32) {
            throw new IllegalArgumentException(what + " must be 32 bytes");
        }
        return key;
    }

    /** Checks a hub id: 1-63 of a-z, 0-9 and '-', as a cluster name. */
    public static String checkHubId(String id) {
        Objects.requireNonNull(id, "hub id");
        if (id.isEmpty() || id.length() > 63 || !id.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) {
            throw new IllegalArgumentException("hub id '" + id + "' is not 1-63 of a-z, 0-9 and '-'");
        }
        return id;
    }
}
