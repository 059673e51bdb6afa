package dev.patchcord.cluster;

import dev.patchcord.core.Cidr;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The values stored under {@link StoreKeys}: UTF-8 text, one {@code key=value} per line, each line
 * ending in '\n'. Readable with {@code etcdctl get}, and small enough to need no library.
 *
 * <pre>
 *   clients/&lt;key&gt;   name=laptop
 *                    allowed-ips=10.0.0.2/32,fd00::2/128     (empty for none)
 *                    preshared-key=&lt;standard base64&gt;        (line absent for none)
 *   leases/&lt;ip&gt;     client=&lt;URL-safe base64 public key&gt;
 *   hubs/&lt;id&gt;       endpoint=HOST:PORT
 *                    public-key=&lt;standard base64&gt;
 *   attach/&lt;key&gt;    hub=&lt;hub id&gt;
 *                    endpoint=IP:PORT                           (line absent when unknown)
 * </pre>
 *
 * A reader ignores names it does not know, so a later version can add lines; a name given twice,
 * a line without '=' or a missing required name is an error, never a guess.
 */
public final class StoreValues {
    private static final Base64.Encoder B64 = Base64.getEncoder();

    private StoreValues() {
    }

    public static byte[] client(ClusterClient c) {
        StringBuilder sb = new StringBuilder();
        line(sb, "name", c.name());
        line(sb, "allowed-ips", String.join(",", c.allowedIps().stream().map(Cidr::toString).toList()));
        if (c.presharedKey() != null) {
            line(sb, "preshared-key", B64.encodeToString(c.presharedKey()));
        }
        return bytes(sb);
    }

    public static ClusterClient readClient(byte[] publicKey, byte[] value) {
        Map<String, String> m = read(value);
        List<Cidr> ips = new ArrayList<>();
        String list = required(m, "allowed-ips");
        if (!list.isEmpty()) {
            for (String s : list.split(",", -1)) {
                ips.add(Cidr.parse(s));
            }
        }
        String psk = m.get("preshared-key");
        return new ClusterClient(publicKey, required(m, "name"), ips, psk == null ? null : base64(psk, "preshared-key"));
    }

    public static byte[] lease(byte[] publicKey) {
        StringBuilder sb = new StringBuilder();
        line(sb, "client", StoreKeys.encodeKey(publicKey));
        return bytes(sb);
    }

    /** The public key a lease value names. */
    public static byte[] readLease(byte[] value) {
        return StoreKeys.decodeKey(required(read(value), "client"));
    }

    public static byte[] hub(HubRecord h) {
        StringBuilder sb = new StringBuilder();
        line(sb, "endpoint", h.backplaneEndpoint());
        line(sb, "public-key", B64.encodeToString(h.backplanePublicKey()));
        return bytes(sb);
    }

    public static HubRecord readHub(String id, byte[] value) {
        Map<String, String> m = read(value);
        return new HubRecord(id, required(m, "endpoint"), base64(required(m, "public-key"), "public-key"));
    }

    public static byte[] attach(String hubId) {
        return attach(new Attachment(hubId, null));
    }

    public static byte[] attach(Attachment a) {
        StringBuilder sb = new StringBuilder();
        line(sb, "hub", a.hubId());
        if (a.endpoint() != null) {
            line(sb, "endpoint", a.endpoint());
        }
        return bytes(sb);
    }

    /** An attachment value, with its endpoint if it has one. */
    public static Attachment readAttachment(byte[] value) {
        Map<String, String> m = read(value);
        return new Attachment(required(m, "hub"), m.get("endpoint"));
    }

    /** The hub id an attachment value names. */
    public static String readAttach(byte[] value) {
        return StoreKeys.checkHubId(required(read(value), "hub"));
    }

    /**
     * The lines of a value as a map, in order.
     *
     * @throws IllegalArgumentException for a line without '=', a name given twice or a value that
     *         does not end in '\n'
     */
    static Map<String, String> read(byte[] value) {
        String text = new String(value, StandardCharsets.UTF_8);
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new IllegalArgumentException("stored value does not end in a line break (cut short?)");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String l : text.split("\n")) {
            if (l.isEmpty()) {
                continue;
            }
            int eq = l.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("stored value has a line that is not name=value");
            }
            if (out.putIfAbsent(l.substring(0, eq), l.substring(eq + 1)) != null) {
                throw new IllegalArgumentException("stored value names '" + l.substring(0, eq) + "' twice");
            }
        }
        return out;
    }

    private static String required(Map<String, String> m, String name) {
        String v = m.get(name);
        if (v == null) {
            throw new IllegalArgumentException("stored value has no '" + name + "'");
        }
        return v;
    }

    private static byte[] base64(String v, String name) {
        try {
            return Base64.getDecoder().decode(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("stored " + name + " is not base64");
        }
    }

    private static void line(StringBuilder sb, String name, String value) {
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            throw new IllegalArgumentException(name + " contains a line break");
        }
        sb.append(name).append('=').append(value).append('\n');
    }

    private static byte[] bytes(StringBuilder sb) {
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}
