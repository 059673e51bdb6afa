package dev.patchcord.core.udptun;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads udptun's hosts.json, {@code { "nodes": { "10.0.0.2": { "host": "name", "port": 7777 } } }},
 * as leniently as udptun's Yojson: unquoted field names, comments and trailing commas are accepted,
 * because udptun's own examples write {@code { nodes : { ... } }}. Members keep their order (the
 * first match wins when routing) and unknown members are ignored. Pure: host names are not looked up here.
 */
public final class HostsJson {
    private HostsJson() {}

    public static final int DEFAULT_PORT = 7777;
    private static final Pattern DOTTED_QUAD = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES, JsonReadFeature.ALLOW_JAVA_COMMENTS,
                    JsonReadFeature.ALLOW_TRAILING_COMMA)
            .build();

    public static List<HostEntry> parse(String text) throws HostsException {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JacksonException e) {
            throw new HostsException(dev.patchcord.core.JsonErrors.describe(e));
        }
        if (root == null || !root.isObject()) {
            throw new HostsException("the document is not a JSON object");
        }
        JsonNode nodes = root.get("nodes");
        if (nodes == null || !nodes.isObject()) {
            throw new HostsException("'nodes' is missing or not an object");
        }
        List<HostEntry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> m : nodes.properties()) {
            entries.add(entry(m.getKey(), m.getValue()));
        }
        return entries;
    }

    private static HostEntry entry(String key, JsonNode value) throws HostsException {
        Inet4Address inner = innerAddress(key);
        if (!value.isObject()) {
            throw new HostsException("node '" + key + "' is not an object");
        }
        JsonNode host = value.get("host");
        if (host == null || !host.isTextual() || host.asText().isBlank()) {
            throw new HostsException("node '" + key + "' has no 'host' string");
        }
        JsonNode port = value.get("port");
        int portNumber = DEFAULT_PORT;
        if (port != null && !port.isNull()) {
            if (!port.isIntegralNumber() || !port.canConvertToInt() || port.intValue() < 1 || port.intValue() > 65535) {
                throw new HostsException("node '" + key + "' has a 'port' that is not a number from 1 to 65535: " + port);
            }
            portNumber = port.intValue();
        }
        return new HostEntry(inner, host.asText(), portNumber);
    }

    private static Inet4Address innerAddress(String key) throws HostsException {
        var m = DOTTED_QUAD.matcher(key);
        if (m.matches()) {
            boolean inRange = true;
            for (int i = 1; i <= 4; i++) {
                inRange &= Integer.parseInt(m.group(i)) <= 255;
            }
            if (inRange) {
                try {
                    return (Inet4Address) InetAddress.getByName(key); // a literal: no lookup happens
                } catch (UnknownHostException e) {
                    // falls through to the error below
                }
            }
        }
        throw new HostsException("node key '" + key + "' is not an IPv4 address");
    }
}
