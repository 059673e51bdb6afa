package dev.patchcord.control;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON list of mesh peers shared by a peers file ({@code PeersFile}), the directory's member
 * list and the directory's answers:
 *
 * <pre>
 * { "peers": [
 *     { "name": "alpha", "publicKey": "base64…", "allowedIps": ["10.9.0.1/32"],
 *       "endpoint": "alpha.example.net:51820", "persistentKeepalive": 25 },
 *     { "name": "hub", "publicKey": "base64…", "allowedIps": ["10.9.0.0/24"],
 *       "endpoints": ["203.0.113.1:51820"], "relay": true } ] }
 * </pre>
 *
 * Comments, unquoted names and trailing commas are accepted, as in a hosts.json. A file is read
 * strictly otherwise: an unknown member (a typo such as {@code allowedIP}) is an error rather than a
 * peer silently without addresses. Answers from a directory may carry members a later version adds,
 * so there unknown members are skipped. Either way the whole list is refused if one peer is wrong,
 * so the caller keeps the last good list.
 */
public final class PeerList {
    private PeerList() {}

    /** More than any mesh patchcord is meant for; a bound on what a bad answer can make us hold. */
    public static final int MAX_PEERS = 100_000;
    public static final int MAX_ENDPOINTS = 8;
    /** Allowed IPs of one peer: a gateway's subnets fit many times over. */
    public static final int MAX_ALLOWED_IPS_PER_PEER = 1024;
    /**
     * Allowed IPs of a whole list: one each for {@link #MAX_PEERS} peers and room for gateways,
     * while a list cannot make the routing trie hold millions of prefixes (and routes).
     */
    public static final int MAX_ALLOWED_IPS = 1 << 18;
    private static final Set<String> KNOWN = Set.of("name", "publicKey", "allowedIps", "endpoint", "endpoints",
            "persistentKeepalive", "relay");
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES, JsonReadFeature.ALLOW_JAVA_COMMENTS,
                    JsonReadFeature.ALLOW_TRAILING_COMMA)
            .build();

    /** A list that cannot be used; the message says which peer and what is wrong. */
    public static final class PeerListException extends Exception {
        /**
         * Control characters show as '?': the message quotes the document (a file, or a directory's
         * answer), and a quoted NUL, escape sequence or line break must not garble or forge the log.
         */
        public PeerListException(String message) {
            super(message.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString());
        }
    }

    /**
     * @param strict refuse unknown members (files); false skips them (directory answers)
     */
    public static List<MeshPeer> parse(String text, boolean strict) throws PeerListException {
        if (text.isBlank()) {
            throw new PeerListException("the document is empty");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JacksonException e) {
            throw new PeerListException(dev.patchcord.core.JsonErrors.describe(e));
        }
        if (root == null || !root.isObject()) {
            throw new PeerListException("the document is not a JSON object");
        }
        return parsePeers(root.get("peers"), strict);
    }

    /** The {@code peers} array of an already parsed document. */
    public static List<MeshPeer> parsePeers(JsonNode array, boolean strict) throws PeerListException {
        if (array == null || !array.isArray()) {
            throw new PeerListException("'peers' is missing or not an array");
        }
        if (array.size() > MAX_PEERS) {
            throw new PeerListException("more than " + MAX_PEERS + " peers");
        }
        List<MeshPeer> peers = new ArrayList<>();
        Map<String, String> keys = new HashMap<>();
        Map<Cidr, String> prefixes = new HashMap<>();
        for (int i = 0; i < array.size(); i++) {
            MeshPeer p = peer(array.get(i), "peer " + (i + 1), strict);
            String where = "peer " + (i + 1) + (p.name() == null ? "" : " ('" + p.name() + "')");
            if (prefixes.size() + p.allowedIps().size() > MAX_ALLOWED_IPS) {
                throw new PeerListException(where + ": the list has more than " + MAX_ALLOWED_IPS + " allowed IPs");
            }
            String earlier = keys.putIfAbsent(p.publicKey(), where);
            if (earlier != null) {
                throw new PeerListException(where + ": public key already used by " + earlier);
            }
            for (Cidr c : p.allowedIps()) {
                String owner = prefixes.putIfAbsent(c.network(), where);
                if (owner != null) {
                    throw new PeerListException(where + ": allowed IP " + c.network() + " already belongs to " + owner);
                }
            }
            peers.add(p);
        }
        return peers;
    }

    private static MeshPeer peer(JsonNode n, String where, boolean strict) throws PeerListException {
        if (n == null || !n.isObject()) {
            throw new PeerListException(where + ": not an object");
        }
        String name = null;
        JsonNode nameNode = n.get("name");
        if (nameNode != null && !nameNode.isNull()) {
            if (!nameNode.isTextual() || nameNode.asText().isBlank() || nameNode.asText().length() > 64
                    || !nameNode.asText().chars().allMatch(ch -> ch >= 0x20 && ch != 0x7f)) {
                throw new PeerListException(where + ": 'name' must be a printable string of 1 to 64 characters");
            }
            name = nameNode.asText();
            where = where + " ('" + name + "')";
        }
        if (strict) {
            for (var it = n.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!KNOWN.contains(f)) {
                    throw new PeerListException(where + ": unknown member '" + f + "' (expected one of "
                            + String.join(", ", new java.util.TreeSet<>(KNOWN)) + ")");
                }
            }
        }
        JsonNode key = n.get("publicKey");
        if (key == null || !key.isTextual()) {
            throw new PeerListException(where + ": 'publicKey' is missing or not a string");
        }
        try {
            Keys.fromBase64(key.asText());
        } catch (IllegalArgumentException e) {
            throw new PeerListException(where + ": 'publicKey' " + e.getMessage());
        }
        List<Cidr> allowed = new ArrayList<>();
        List<String> allowedText = strings(n.get("allowedIps"), where, "allowedIps", true);
        if (allowedText.size() > MAX_ALLOWED_IPS_PER_PEER) {
            throw new PeerListException(where + ": more than " + MAX_ALLOWED_IPS_PER_PEER + " allowed IPs");
        }
        for (String s : allowedText) {
            try {
                allowed.add(Cidr.parse(s).network());
            } catch (IllegalArgumentException e) {
                throw new PeerListException(where + ": allowed IP '" + s + "': " + e.getMessage());
            }
        }
        Set<Endpoint> endpoints = new LinkedHashSet<>();
        for (String field : List.of("endpoint", "endpoints")) {
            for (String s : strings(n.get(field), where, field, field.equals("endpoints"))) {
                try {
                    endpoints.add(Endpoint.parse(s));
                } catch (IllegalArgumentException e) {
                    throw new PeerListException(where + ": endpoint " + e.getMessage());
                }
            }
        }
        if (endpoints.size() > MAX_ENDPOINTS) {
            throw new PeerListException(where + ": more than " + MAX_ENDPOINTS + " endpoints");
        }
        int keepalive = 0;
        JsonNode ka = n.get("persistentKeepalive");
        if (ka != null && !ka.isNull()) {
            if (!ka.isIntegralNumber() || !ka.canConvertToInt() || ka.intValue() < 0 || ka.intValue() > 65535) {
                throw new PeerListException(where + ": 'persistentKeepalive' is not a number of seconds from 0 to 65535");
            }
            keepalive = ka.intValue();
        }
        JsonNode relay = n.get("relay");
        if (relay != null && !relay.isNull() && !relay.isBoolean()) {
            throw new PeerListException(where + ": 'relay' is not true or false");
        }
        return new MeshPeer(key.asText(), name, allowed, List.copyOf(endpoints), keepalive,
                relay != null && relay.asBoolean());
    }

    /** A string, or (if {@code list}) an array of strings; a missing member is an empty list. */
    private static List<String> strings(JsonNode n, String where, String field, boolean list) throws PeerListException {
        if (n == null || n.isNull()) {
            return List.of();
        }
        if (n.isTextual()) {
            return List.of(n.asText());
        }
        if (list && n.isArray()) {
            List<String> out = new ArrayList<>();
            for (JsonNode e : n) {
                if (!e.isTextual()) {
                    throw new PeerListException(where + ": '" + field + "' has an element that is not a string: " + e);
                }
                out.add(e.asText());
            }
            return out;
        }
        throw new PeerListException(where + ": '" + field + "' is not " + (list ? "a string or an array of strings" : "a string"));
    }

    /** The list as a {@code peers} array (endpoints always as {@code endpoints}). */
    public static ArrayNode toJson(List<MeshPeer> peers) {
        ArrayNode array = MAPPER.createArrayNode();
        for (MeshPeer p : peers) {
            ObjectNode o = array.addObject();
            if (p.name() != null) {
                o.put("name", p.name());
            }
            o.put("publicKey", p.publicKey());
            ArrayNode ips = o.putArray("allowedIps");
            p.allowedIps().forEach(c -> ips.add(c.toString()));
            ArrayNode eps = o.putArray("endpoints");
            p.endpoints().forEach(e -> eps.add(e.toString()));
            if (p.persistentKeepalive() != 0) {
                o.put("persistentKeepalive", p.persistentKeepalive());
            }
            if (p.relay()) {
                o.put("relay", true);
            }
        }
        return array;
    }

    /** The shared lenient reader, for documents that embed a peers array. */
    public static JsonMapper mapper() {
        return MAPPER;
    }
}
