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
 *   directory/&lt;key&gt; declared=HOST:PORT,[IPV6]:PORT   (empty for none; with declared-at)
 *                    declared-at=&lt;ms since the epoch&gt;       (both lines absent when not known)
 *                    observed=IP:PORT                    (with observed-at; both absent when unknown)
 *                    observed-at=&lt;ms since the epoch&gt;
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

    public static byte[] directoryEntry(DirectoryEntry e) {
        StringBuilder sb = new StringBuilder();
        if (e.declaredAt() != 0) {
            line(sb, "declared", String.join(",", e.declared()));
            line(sb, "declared-at", Long.toString(e.declaredAt()));
        }
        if (e.observed() != null) {
            line(sb, "observed", e.observed());
            line(sb, "observed-at", Long.toString(e.observedAt()));
        }
        return bytes(sb);
    }

    /** A directory entry value; a half of a pair (an endpoint without its time, or a time alone) is an error. */
    public static DirectoryEntry readDirectoryEntry(byte[] value) {
        Map<String, String> m = read(value);
        List<String> declared = List.of();
        long declaredAt = 0;
        if (m.containsKey("declared") || m.containsKey("declared-at")) {
            String list = required(m, "declared");
            declaredAt = time(required(m, "declared-at"), "declared-at");
            declared = list.isEmpty() ? List.of() : List.of(list.split(",", -1));
        }
        String observed = null;
        long observedAt = 0;
        if (m.containsKey("observed") || m.containsKey("observed-at")) {
            observed = required(m, "observed");
            observedAt = time(required(m, "observed-at"), "observed-at");
        }
        return new DirectoryEntry(declared, declaredAt, observed, observedAt);
    }

    /** A positive decimal number of milliseconds, no sign, no spaces. */
    private static long time(String v, String name) {
        if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(c -> c >= '0' && c <= '9') || Long.parseLong(v) == 0) {
            throw new IllegalArgumentException("stored " + name + " is not a positive number of milliseconds");
        }
        return Long.parseLong(v);
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
