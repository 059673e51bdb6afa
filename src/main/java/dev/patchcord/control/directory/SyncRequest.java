package dev.patchcord.control.directory;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.patchcord.control.Endpoint;
import dev.patchcord.control.PeerList;
import dev.patchcord.core.wg.Keys;

import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The body of {@code POST /v1/sync}: the node's key, its clock and the endpoints it declares.
 * Read strictly as plain JSON (no comments, no duplicate members): the directory answers with the
 * reason, so a node with a bug learns what it is. Members a later version adds are ignored.
 *
 * @param publicKey the node's public key, canonical base64 (the members file's spelling)
 * @param time the node's clock, milliseconds since the epoch
 * @param endpoints the declared endpoints in the order sent, duplicates removed
 */
record SyncRequest(String publicKey, long time, List<Endpoint> endpoints) {

    /** A DNS name (253), brackets, a zone, a colon and a port fit; the bound keeps error texts short. */
    private static final int MAX_ENDPOINT_LENGTH = 300;
    private static final JsonMapper STRICT = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** What is wrong with a body; the message is the error text sent back. */
    static final class MalformedException extends Exception {
        /** Control characters show as '?': the text quotes an unauthenticated sender's bytes. */
        MalformedException(String message) {
            super(message.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString());
        }
    }

    static SyncRequest parse(byte[] body) throws MalformedException {
        JsonNode root;
        try {
            root = STRICT.readTree(body);
        } catch (JacksonException e) {
            // The location, not Jackson's message: that would quote the sender's bytes back into logs.
            throw new MalformedException("the body is not valid JSON"
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ")"));
        } catch (IOException e) {
            throw new MalformedException("the body cannot be read as JSON");
        }
        if (root == null || !root.isObject()) {
            throw new MalformedException("the body is not a JSON object");
        }
        JsonNode key = root.get("publicKey");
        if (key == null || !key.isTextual()) {
            throw new MalformedException("'publicKey' is missing or not a string");
        }
        try {
            Keys.fromBase64(key.asText());
        } catch (IllegalArgumentException e) {
            throw new MalformedException("'publicKey': " + e.getMessage());
        }
        JsonNode time = root.get("time");
        if (time == null || !time.isIntegralNumber() || !time.canConvertToLong()) {
            throw new MalformedException("'time' is missing or not an integer (milliseconds since the epoch)");
        }
        return new SyncRequest(key.asText(), time.longValue(), endpoints(root.get("endpoints")));
    }

    private static List<Endpoint> endpoints(JsonNode n) throws MalformedException {
        if (n == null || n.isNull()) {
            return List.of();
        }
        if (!n.isArray()) {
            throw new MalformedException("'endpoints' is not an array of strings");
        }
        if (n.size() > PeerList.MAX_ENDPOINTS) {
            throw new MalformedException("more than " + PeerList.MAX_ENDPOINTS + " endpoints");
        }
        Set<Endpoint> out = new LinkedHashSet<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw new MalformedException("'endpoints' has an element that is not a string");
            }
            if (e.asText().length() > MAX_ENDPOINT_LENGTH) {
                throw new MalformedException("an endpoint is longer than " + MAX_ENDPOINT_LENGTH + " characters");
            }
            try {
                out.add(Endpoint.parse(e.asText()));
            } catch (IllegalArgumentException x) {
                throw new MalformedException("endpoint " + x.getMessage());
            }
        }
        return List.copyOf(out);
    }
}
